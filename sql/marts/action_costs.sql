-- model:
--   materialized: view
--   grain: [action_id]
--   audits_run: on_demand   # one row per action: millions; route_weekly reconciles with it on demand
--   audits:
--     - expression_is_true: retries + fallbacks + validations <= calls
--     - reconciles: {expression: count(*), with: marts.route_weekly, other_expression: sum(actions)}
--     - reconciles: {expression: sum(cost_usd), with: marts.route_weekly}
--
-- One row per action: every call made for one user-level task (retries, fallbacks,
-- validation, tool and classifier calls included), what it cost, whether it
-- completed, and the chain of models it went through. Route, week and completion as
-- decided in intermediate.int_actions.
--
-- A view: intermediate.int_actions computes all but the chain of models in its one pass
-- over the calls; ordering every action's calls for the chain is costly, so it is done
-- here, on demand, and the models of the build read int_actions.
with

actions as (
    select * from intermediate.int_actions
),

chains as (
    select
        action_id,
        string_agg(model, ' > ' order by ts, call_id) as model_chain
    from intermediate.int_call_costs
    group by action_id
),

final as (
    select
        -- ids
        actions.action_id,
        actions.route,
        actions.week,

        -- calls
        actions.calls,
        actions.retries,
        actions.fallbacks,
        actions.validations,
        actions.failed_calls,
        actions.tool_calls,
        chains.model_chain,

        -- outcome
        actions.outcome,
        actions.is_outcome_from_router,
        actions.completed,
        actions.has_retry,
        actions.has_fallback,

        -- money
        actions.cost_usd,
        actions.unpriced_calls,

        -- timestamps
        actions.started_at,
        actions.last_call_at
    from actions
    inner join chains using (action_id)
)

select * from final
