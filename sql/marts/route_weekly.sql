-- model:
--   grain: [week, route]
--   audits:
--     - expression_is_true: completed_actions + failed_actions + abandoned_actions = actions
--     - expression_is_true: is_cost_complete = (unpriced_calls = 0)
--     - reconciles:
--         expression: sum(cost_usd)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(cost_usd)
--         other_where: grain = 'calls'
--     - reconciles:
--         expression: sum(actions)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(actions)
--         other_where: grain = 'actions'
--
-- One row per (week, route): what the route's actions cost and how they behaved.
-- Actions and all their calls count in the week and route of the action's earliest
-- call (intermediate.int_actions).
--
--   cost_per_completed_action_usd = cost of all calls of all actions / completed
--       actions (failed actions' spend is carried by what completed), exactly rounded
--       to 1e-9 USD; NULL if none
--   cost_usd adds up the priced calls; unpriced calls (no price at their time) are
--       counted in unpriced_calls, and is_cost_complete is false while there are any
--   fallback_rate / retry_rate = actions with >= 1 fallback / retry call / actions
--   prompt_cache_hit_rate = calls with cached_input_tokens > 0 / calls with
--       input_tokens > 0; cached_token_share = cached / input tokens over the same
--       calls (response-cache hits excluded from both)
--   response_cache_hit_rate = response-cache hits / calls
--   premium_share = calls on premium-tier models / calls
--   error_rate = calls with a status other than ok / calls
--   p50/p95_latency_ms over the calls that started in the week on the route,
--       response-cache hits excluded
with

rollup as (
    select * from intermediate.int_route_week_rollup
),

actions as (
    select
        week,
        route,
        sum(actions) as actions,
        sum(completed_actions) as completed_actions,
        sum(failed_actions) as failed_actions,
        sum(abandoned_actions) as abandoned_actions,
        sum(actions_with_fallback) as actions_with_fallback,
        sum(actions_with_retry) as actions_with_retry
    from rollup
    where grain = 'actions'
    group by week, route
),

calls as (
    select
        week,
        route,
        sum(calls) as calls,
        sum(calls) filter (where call_role = 'retry') as retry_calls,
        sum(calls) filter (where call_role = 'fallback') as fallback_calls,
        sum(calls) filter (where status <> 'ok') as error_calls,
        sum(calls) filter (where not is_priced) as unpriced_calls,
        sum(calls) filter (where model_tier = 'premium') as premium_calls,
        sum(calls) filter (where is_response_cache_hit) as response_cache_hits,
        sum(calls_with_input) filter (where not is_response_cache_hit) as prompt_cache_eligible_calls,
        sum(calls_with_cached_input) filter (where not is_response_cache_hit) as prompt_cache_hit_calls,
        sum(input_tokens) filter (where not is_response_cache_hit) as input_tokens,
        sum(cached_input_tokens) filter (where not is_response_cache_hit) as cached_input_tokens,
        sum(output_tokens) filter (where not is_response_cache_hit) as output_tokens,
        sum(tool_calls) as tool_calls,
        sum(cost_usd) as cost_usd,
        sum(cache_savings_usd) as cache_savings_usd
    from rollup
    where grain = 'calls'
    group by week, route
),

latency as (
    select week, route, p50_latency_ms, p95_latency_ms from rollup where grain = 'latency'
),

-- Cost per completed action, exactly: DuckDB divides DECIMALs as doubles, which can
-- misround the ninth decimal. So the cost becomes a whole number of 1e-21 USD (its
-- integer part, then the fraction in two exact pieces), is divided in integers, and
-- is rounded half away from zero to 9 places (1e-9 USD).
cost_in_units as (
    select
        calls.week,
        calls.route,
        actions.completed_actions,
        cast(floor(calls.cost_usd) as hugeint) * cast('1000000000000000000000' as hugeint)
        + cast(floor((calls.cost_usd - floor(calls.cost_usd)) * 1000000000) as hugeint) * 1000000000000
        + cast(
            (
                (calls.cost_usd - floor(calls.cost_usd)) * 1000000000
                - floor((calls.cost_usd - floor(calls.cost_usd)) * 1000000000)
            ) * 1000000000000 as hugeint
        ) as cost_e21
    from calls
    inner join actions using (week, route)
),

cost_per_action as (
    select
        week,
        route,
        cast(
            cast(
                (cost_e21 + completed_actions * cast(500000000000 as hugeint))
                // (nullif(completed_actions, 0) * cast(1000000000000 as hugeint))
                as decimal(38, 0)
            ) * 0.000000001 as decimal(38, 9)
        ) as cost_per_completed_action_usd
    from cost_in_units
),

final as (
    select
        week,
        route,

        -- counts
        cast(actions.actions as bigint) as actions,
        cast(actions.completed_actions as bigint) as completed_actions,
        cast(actions.failed_actions as bigint) as failed_actions,
        cast(actions.abandoned_actions as bigint) as abandoned_actions,
        cast(calls.calls as bigint) as calls,
        cast(coalesce(calls.retry_calls, 0) as bigint) as retry_calls,
        cast(coalesce(calls.fallback_calls, 0) as bigint) as fallback_calls,
        cast(coalesce(calls.error_calls, 0) as bigint) as error_calls,
        cast(coalesce(calls.unpriced_calls, 0) as bigint) as unpriced_calls,

        -- money
        calls.cost_usd,
        coalesce(calls.unpriced_calls, 0) = 0 as is_cost_complete,
        cost_per_action.cost_per_completed_action_usd,
        calls.cache_savings_usd,

        -- rates
        actions.actions_with_fallback / actions.actions as fallback_rate,
        actions.actions_with_retry / actions.actions as retry_rate,
        coalesce(calls.prompt_cache_hit_calls, 0) / nullif(calls.prompt_cache_eligible_calls, 0)
            as prompt_cache_hit_rate,
        calls.cached_input_tokens / nullif(calls.input_tokens, 0) as cached_token_share,
        coalesce(calls.response_cache_hits, 0) / calls.calls as response_cache_hit_rate,
        coalesce(calls.premium_calls, 0) / calls.calls as premium_share,
        coalesce(calls.error_calls, 0) / calls.calls as error_rate,
        calls.calls / actions.actions as calls_per_action,
        calls.tool_calls / actions.actions as tool_calls_per_action,

        -- tokens
        cast(calls.input_tokens as bigint) as input_tokens,
        cast(calls.cached_input_tokens as bigint) as cached_input_tokens,
        cast(calls.output_tokens as bigint) as output_tokens,

        -- latency
        latency.p50_latency_ms,
        latency.p95_latency_ms
    from actions
    inner join calls using (week, route)
    inner join cost_per_action using (week, route)
    left join latency using (week, route)
)

select * from final
