-- model:
--   grain: [week, route, fallback_reason]
--   audits:
--     - reconciles:
--         expression: sum(actions)
--         with: intermediate.int_route_week_rollup
--         other_where: grain = 'actions' and fallback_reason is not null
--
-- One row per (week, route, fallback_reason): the fallback calls made for that reason
-- and what they cost, and the actions whose first fallback was for that reason (so the
-- actions add up to the route-week's actions with a fallback).
with

rollup as (
    select * from intermediate.int_route_week_rollup
),

calls as (
    select
        week,
        route,
        coalesce(fallback_reason, 'unspecified') as fallback_reason,
        sum(calls) as fallback_calls,
        sum(cost_usd) as cost_usd
    from rollup
    where grain = 'calls' and call_role = 'fallback'
    group by all
),

actions as (
    select
        week,
        route,
        fallback_reason,
        sum(actions) as actions
    from rollup
    where grain = 'actions' and fallback_reason is not null
    group by all
),

final as (
    select
        week,
        route,
        fallback_reason,
        cast(coalesce(calls.fallback_calls, 0) as bigint) as fallback_calls,
        cast(coalesce(actions.actions, 0) as bigint) as actions,
        -- no fallback call for the reason costs 0; unpriced ones stay NULL, never 0
        case when calls.week is null then 0 else calls.cost_usd end as cost_usd
    from calls
    full outer join actions using (week, route, fallback_reason)
)

select * from final
