-- materialized: table
-- The calls of each route-week rolled up once for all the weekly marts: one pass over
-- marts.call_costs (calls priced and counted in their action's route and week),
-- grouped four ways. `grain` says which way a row is grouped:
--   'route week'      one row per (week, route): totals, counts, latency percentiles
--   'status'          one row per (week, route, status)
--   'fallback reason' one row per (week, route, fallback_reason), fallback calls only
--   'unpriced model'  one row per logged (provider, model) with unpriced calls
-- Actions are counted on their first call (is_first_call_of_action), so the action
-- counts here equal those of intermediate.int_actions.
with

calls as materialized (
    select
        week,
        route,
        action_id,
        call_role,
        status,
        fallback_reason,
        provider,
        model,
        price_provider,
        price_model,
        model_tier,
        is_first_call_of_action,
        action_completed,
        action_has_retry,
        action_has_fallback,
        action_final_outcome,
        is_response_cache_hit,
        is_priced,
        input_tokens,
        cached_input_tokens,
        output_tokens,
        tool_calls,
        latency_ms,
        cost_usd,
        cache_savings_usd,
        ts
    from marts.call_costs
),

route_week as (
    select
        'route week' as grain,
        week,
        route,

        -- actions
        count(*) filter (where is_first_call_of_action) as actions,
        count(*) filter (where is_first_call_of_action and action_completed) as completed_actions,
        count(*) filter (where is_first_call_of_action and action_final_outcome = 'failed') as failed_actions,
        count(*) filter (where is_first_call_of_action and action_final_outcome = 'abandoned') as abandoned_actions,
        count(*) filter (where is_first_call_of_action and action_has_fallback) as actions_with_fallback,
        count(*) filter (where is_first_call_of_action and action_has_retry) as actions_with_retry,

        -- calls
        count(*) as calls,
        count(*) filter (where call_role = 'retry') as retry_calls,
        count(*) filter (where call_role = 'fallback') as fallback_calls,
        count(*) filter (where status <> 'ok') as error_calls,
        count(*) filter (where not is_priced) as unpriced_calls,
        count(*) filter (where model_tier = 'premium') as premium_calls,
        count(*) filter (where is_response_cache_hit) as response_cache_hits,
        count(*) filter (where not is_response_cache_hit and input_tokens > 0) as prompt_cache_eligible_calls,
        count(*) filter (
            where not is_response_cache_hit and input_tokens > 0 and cached_input_tokens > 0
        ) as prompt_cache_hit_calls,

        -- tokens
        sum(cached_input_tokens) filter (where not is_response_cache_hit) as cached_input_tokens,
        sum(input_tokens) filter (where not is_response_cache_hit) as input_tokens,
        sum(output_tokens) filter (where not is_response_cache_hit) as output_tokens,
        sum(tool_calls) as tool_calls,

        -- money
        sum(cost_usd) as cost_usd,
        sum(cache_savings_usd) as cache_savings_usd,

        -- latency
        quantile_cont(latency_ms, 0.5) filter (where not is_response_cache_hit) as p50_latency_ms,
        quantile_cont(latency_ms, 0.95) filter (where not is_response_cache_hit) as p95_latency_ms
    from calls
    group by week, route
),

by_status as (
    select
        'status' as grain,
        week,
        route,
        status,
        count(*) as calls,
        sum(cost_usd) as cost_usd
    from calls
    group by week, route, status
),

by_fallback_reason as (
    select
        'fallback reason' as grain,
        week,
        route,
        coalesce(fallback_reason, 'unspecified') as fallback_reason,
        count(*) as calls,
        count(distinct action_id) as actions,
        sum(cost_usd) as cost_usd
    from calls
    where call_role = 'fallback'
    group by week, route, coalesce(fallback_reason, 'unspecified')
),

unpriced_models as (
    select
        'unpriced model' as grain,
        provider,
        model,
        any_value(price_provider) as price_provider,
        any_value(price_model) as price_model,
        count(*) as calls,
        min(ts) as first_seen,
        max(ts) as last_seen
    from calls
    where not is_priced
    group by provider, model
)

select * from route_week
union all by name
select * from by_status
union all by name
select * from by_fallback_reason
union all by name
select * from unpriced_models
