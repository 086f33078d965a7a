-- model:
--   materialized: table
--   incremental: {by: week}
--   grain: [grain, week, route, fallback_reason, call_role, status, provider, model, is_priced, is_response_cache_hit,
--           policy_version]
--   audits:
--     - accepted_values: {column: grain, values: [actions, calls, latency]}
--     - not_null: [grain, week, route]
--     - accepted_range: {columns: [actions, completed_actions, calls, cost_usd, cache_savings_usd], min: 0}
--     - expression_is_true: completed_actions + failed_actions + abandoned_actions = actions
--     - expression_is_true: is_priced or cost_usd is null
--     - reconciles:
--         expression: sum(calls)
--         where: grain = 'calls'
--         with: raw.loads
--         other_expression: sum(rows_loaded)
--         other_where: kind = 'logs'
--
-- Everything the weekly marts need, in one pass over the priced calls. A row's `grain`
-- says what it counts:
--   'actions'     one row per (week, route, first fallback reason or NULL): action counts
--   'calls'       one row per (week, route) and combination of call_role, status,
--                 fallback_reason, provider, model, tier, priced, response-cache hit,
--                 policy version: call counts, tokens and money, all additive
--   'latency'     one row per (week, route): p50/p95 latency of the calls that started
--                 in that week on that route, response-cache hits excluded
-- Actions and their calls count in the week and route of the action's earliest call
-- (intermediate.int_actions); latency, a property of each call, counts where the call
-- started (the same row but for the few actions that run past Sunday midnight).
with

actions as materialized (
    select * from intermediate.int_actions
),

calls as (
    select * from intermediate.int_call_costs
),

action_counts as (
    select
        'actions' as grain,
        week,
        route,
        first_fallback_reason as fallback_reason,
        count(*) as actions,
        count(*) filter (where completed) as completed_actions,
        count(*) filter (where outcome = 'failed') as failed_actions,
        count(*) filter (where outcome = 'abandoned') as abandoned_actions,
        count(*) filter (where has_fallback) as actions_with_fallback,
        count(*) filter (where has_retry) as actions_with_retry
    from actions
    group by week, route, first_fallback_reason
),

call_counts as (
    select
        'calls' as grain,
        actions.week,
        actions.route,
        calls.call_role,
        calls.status,
        calls.fallback_reason,
        calls.provider,
        calls.model,
        calls.is_priced,
        calls.is_response_cache_hit,
        calls.policy_version,
        -- these follow from (provider, model)
        any_value(calls.price_provider) as price_provider,
        any_value(calls.price_model) as price_model,
        any_value(calls.model_tier) as model_tier,
        count(*) as calls,
        count(*) filter (where calls.input_tokens > 0) as calls_with_input,
        count(*) filter (where calls.input_tokens > 0 and calls.cached_input_tokens > 0) as calls_with_cached_input,
        sum(calls.input_tokens) as input_tokens,
        sum(calls.cached_input_tokens) as cached_input_tokens,
        sum(calls.output_tokens) as output_tokens,
        sum(calls.tool_calls) as tool_calls,
        sum(calls.cost_usd) as cost_usd,
        sum(calls.cache_savings_usd) as cache_savings_usd,
        min(calls.ts) filter (where not calls.is_priced) as first_seen,
        max(calls.ts) filter (where not calls.is_priced) as last_seen
    from calls
    inner join actions using (action_id)
    group by
        actions.week, actions.route, calls.call_role, calls.status, calls.fallback_reason,
        calls.provider, calls.model, calls.is_priced, calls.is_response_cache_hit, calls.policy_version
),

latency_quantiles as (
    select
        call_week as week,
        route,
        quantile_cont(latency_ms, [0.5, 0.95]) as quantiles
    from staging.stg_calls
    where not is_response_cache_hit
    group by all
),

latency as (
    select
        'latency' as grain,
        week,
        route,
        quantiles[1] as p50_latency_ms,
        quantiles[2] as p95_latency_ms
    from latency_quantiles
)

select * from action_counts
union all by name
select * from call_counts
union all by name
select * from latency
