-- model:
--   materialized: view
--   grain: [call_id]
--   audits_run: on_demand   # one row per call: millions; route_weekly reconciles with it on demand
--   audits:
--     - reconciles: {expression: count(*), with: raw.calls}
--     - reconciles: {expression: sum(cost_usd), with: marts.route_weekly}
--
-- One row per model call with what it cost, its cost components, and the route and
-- ISO week of the action it belongs to (every call of an action counts in the same
-- route-week, decided in intermediate.int_actions).
--
-- A view: one row per call would double the warehouse, and computing it takes a
-- fraction of the time writing it would. Analysts query it like a table.
with

calls as (
    select * from intermediate.int_call_costs
),

actions as (
    select
        action_id,
        route,
        week,
        completed as action_completed,
        has_retry as action_has_retry,
        has_fallback as action_has_fallback,
        outcome as action_final_outcome,
        first_call_id
    from intermediate.int_actions
),

final as (
    select
        -- ids
        calls.call_id,
        calls.action_id,

        -- the action's route and week, and what became of the action
        actions.week,
        actions.route,
        actions.action_completed,
        actions.action_has_retry,
        actions.action_has_fallback,
        actions.action_final_outcome,

        -- the call
        calls.route as call_route,
        calls.call_role,
        calls.provider,
        calls.model,
        calls.price_provider,
        calls.price_model,
        calls.model_tier,
        calls.service_tier,
        calls.priced_service_tier,
        calls.status,
        calls.error_type,
        calls.fallback_reason,
        calls.quality_passed,
        calls.action_outcome,

        -- tokens
        calls.input_tokens,
        calls.uncached_input_tokens,
        calls.cached_input_tokens,
        calls.cache_write_tokens,
        calls.cache_write_1h_tokens,
        calls.output_tokens,
        calls.reasoning_tokens,
        calls.tool_calls,
        calls.web_search_calls,

        -- flags
        calls.call_id = actions.first_call_id as is_first_call_of_action,
        calls.is_response_cache_hit,
        calls.is_batch,
        calls.is_long_context,
        calls.is_priced,

        -- money
        calls.input_cost_usd,
        calls.cached_input_cost_usd,
        calls.cache_write_cost_usd,
        calls.output_cost_usd,
        calls.reasoning_cost_usd,
        calls.web_search_cost_usd,
        calls.regional_uplift_cost_usd,
        calls.cost_usd,
        calls.cache_savings_usd,
        calls.logged_cost_usd,
        calls.price_effective_from,
        calls.price_window,
        calls.regional_multiplier,
        calls.price_source,

        -- tags
        calls.team,
        calls.project,
        calls.feature,
        calls.user_tier,
        calls.workload_class,
        calls.environment,
        calls.region,
        calls.policy_version,

        -- measures and timestamps
        calls.latency_ms,
        calls.ts,
        calls.call_date,
        calls.load_id
    from calls
    inner join actions using (action_id)
)

select * from final
