-- One row per (week, route): what the route's actions cost and how they behaved.
-- Actions and all their calls count in the week and route of the action's earliest
-- call (intermediate.int_actions).
--
--   cost_per_completed_action_usd = cost of all calls of all actions / completed
--       actions (failed actions' spend is carried by what completed); NULL if none
--   fallback_rate / retry_rate = actions with >= 1 fallback / retry call / actions
--   prompt_cache_hit_rate = calls with cached_input_tokens > 0 / calls with
--       input_tokens > 0; cached_token_share = cached / input tokens over the same
--       calls (response-cache hits excluded from both)
--   response_cache_hit_rate = response-cache hits / calls
--   premium_share = calls on premium-tier models / calls
--   error_rate = calls with a status other than ok / calls
--   p50/p95_latency_ms over calls, response-cache hits excluded
with

rollup as (
    select * from intermediate.int_route_week_rollup where grain = 'route week'
),

final as (
    select
        week,
        route,

        -- counts
        actions,
        completed_actions,
        failed_actions,
        abandoned_actions,
        calls,
        retry_calls,
        fallback_calls,
        error_calls,
        unpriced_calls,

        -- money
        cost_usd,
        cast(cost_usd / nullif(completed_actions, 0) as decimal(18, 9)) as cost_per_completed_action_usd,
        cache_savings_usd,

        -- rates
        actions_with_fallback / actions as fallback_rate,
        actions_with_retry / actions as retry_rate,
        prompt_cache_hit_calls / nullif(prompt_cache_eligible_calls, 0) as prompt_cache_hit_rate,
        cached_input_tokens / nullif(input_tokens, 0) as cached_token_share,
        response_cache_hits / calls as response_cache_hit_rate,
        premium_calls / calls as premium_share,
        error_calls / calls as error_rate,
        calls / actions as calls_per_action,
        tool_calls / actions as tool_calls_per_action,

        -- tokens
        input_tokens,
        cached_input_tokens,
        output_tokens,

        -- latency
        p50_latency_ms,
        p95_latency_ms
    from rollup
)

select * from final
