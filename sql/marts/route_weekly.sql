-- One row per (week, route): what the route's actions cost and how they behaved.
-- Actions and their calls count in the week and route of the action's earliest call.
--
--   cost_per_completed_action_usd = cost of all calls of all actions / completed
--       actions (failed actions' spend is carried by what completed); NULL if none
--   fallback_rate / retry_rate = actions with >= 1 fallback / retry call / actions
--   prompt_cache_hit_rate = calls with cached_input_tokens > 0 / calls with
--       input_tokens > 0; cached_token_share = cached / input tokens over the same
--       calls (response-cache hits excluded from both)
--   response_cache_hit_rate = response-cache hits / calls
--   premium_share = calls on premium-tier models / calls
--   error_rate = calls with status other than ok / calls
--   p50/p95_latency_ms over calls, response-cache hits excluded
with

actions as (
    select * from marts.action_costs
),

calls as (
    select * from marts.call_costs
),

by_action as (
    select
        week,
        route,
        count(*) as actions,
        count(*) filter (where completed) as completed_actions,
        count(*) filter (where outcome = 'failed') as failed_actions,
        count(*) filter (where outcome = 'abandoned') as abandoned_actions,
        count(*) filter (where has_fallback) as actions_with_fallback,
        count(*) filter (where has_retry) as actions_with_retry,
        sum(cost_usd) as cost_usd
    from actions
    group by week, route
),

by_call as (
    select
        week,
        route,
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
        sum(cached_input_tokens) filter (where not is_response_cache_hit) as cached_input_tokens,
        sum(input_tokens) filter (where not is_response_cache_hit) as input_tokens,
        sum(output_tokens) filter (where not is_response_cache_hit) as output_tokens,
        sum(tool_calls) as tool_calls,
        sum(cache_savings_usd) as cache_savings_usd,
        quantile_cont(latency_ms, 0.5) filter (where not is_response_cache_hit) as p50_latency_ms,
        quantile_cont(latency_ms, 0.95) filter (where not is_response_cache_hit) as p95_latency_ms
    from calls
    group by week, route
),

final as (
    select
        by_action.week,
        by_action.route,

        -- counts
        by_action.actions,
        by_action.completed_actions,
        by_action.failed_actions,
        by_action.abandoned_actions,
        by_call.calls,
        by_call.retry_calls,
        by_call.fallback_calls,
        by_call.error_calls,
        by_call.unpriced_calls,

        -- money
        by_action.cost_usd,
        cast(by_action.cost_usd / nullif(by_action.completed_actions, 0) as decimal(18, 9))
            as cost_per_completed_action_usd,
        by_call.cache_savings_usd,

        -- rates
        by_action.actions_with_fallback / by_action.actions as fallback_rate,
        by_action.actions_with_retry / by_action.actions as retry_rate,
        by_call.prompt_cache_hit_calls / nullif(by_call.prompt_cache_eligible_calls, 0) as prompt_cache_hit_rate,
        by_call.cached_input_tokens / nullif(by_call.input_tokens, 0) as cached_token_share,
        by_call.response_cache_hits / by_call.calls as response_cache_hit_rate,
        by_call.premium_calls / by_call.calls as premium_share,
        by_call.error_calls / by_call.calls as error_rate,
        by_call.calls / by_action.actions as calls_per_action,
        by_call.tool_calls / by_action.actions as tool_calls_per_action,

        -- tokens
        by_call.input_tokens,
        by_call.cached_input_tokens,
        by_call.output_tokens,

        -- latency
        by_call.p50_latency_ms,
        by_call.p95_latency_ms
    from by_action
    inner join by_call using (week, route)
)

select * from final
