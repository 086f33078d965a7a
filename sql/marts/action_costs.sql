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
-- A view: millions of actions are cheap to compute on demand and slow to write on
-- every build; the weekly marts need only intermediate.int_actions.
with

actions as (
    select * from intermediate.int_actions
),

calls as (
    select * from intermediate.int_call_costs
),

rolled_up as (
    select
        action_id,

        -- calls
        count(*) as calls,
        count(*) filter (where call_role = 'retry') as retries,
        count(*) filter (where call_role = 'fallback') as fallbacks,
        count(*) filter (where call_role = 'validation') as validations,
        count(*) filter (where status <> 'ok') as failed_calls,
        cast(sum(tool_calls) as bigint) as tool_calls,
        string_agg(model, ' > ' order by ts, call_id) as model_chain,

        -- money
        sum(cost_usd) as cost_usd,
        count(*) filter (where not is_priced) as unpriced_calls,

        -- timestamps
        max(ts) as last_call_at
    from calls
    group by action_id
),

final as (
    select
        -- ids
        actions.action_id,
        actions.route,
        actions.week,

        -- calls
        rolled_up.calls,
        rolled_up.retries,
        rolled_up.fallbacks,
        rolled_up.validations,
        rolled_up.failed_calls,
        rolled_up.tool_calls,
        rolled_up.model_chain,

        -- outcome
        actions.outcome,
        actions.is_outcome_from_router,
        actions.completed,
        actions.has_retry,
        actions.has_fallback,

        -- money
        rolled_up.cost_usd,
        rolled_up.unpriced_calls,

        -- timestamps
        actions.started_at,
        rolled_up.last_call_at
    from actions
    inner join rolled_up using (action_id)
)

select * from final
