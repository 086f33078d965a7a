-- model:
--   grain: [week, route, call_role]
--   audits:
--     - accepted_values: {column: call_role, values: [primary, retry, fallback, validation, tool, classifier]}
--     - reconciles:
--         expression: sum(calls)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(calls)
--         other_where: grain = 'calls'
--     - reconciles:
--         expression: coalesce(sum(cost_usd), 0)
--         with: intermediate.int_route_week_rollup
--         other_expression: coalesce(sum(cost_usd), 0)
--         other_where: grain = 'calls'
--     - accepted_range: {columns: [share_of_cost], min: 0, max: 1}
--
-- One row per (week, route, call_role): where the cost of the route's actions goes.
-- The retry and fallback rows are what retries and fallbacks cost on top of the
-- primary calls, one number each per route-week.
--   share_of_cost = the role's priced cost / the route-week's priced cost (NULL when
--       that is 0)
--   cost_per_action_usd = the role's cost / all the route-week's actions: what the role
--       adds to an average action
with

calls as (
    select * from intermediate.int_route_week_rollup where grain = 'calls'
),

actions as (
    select week, route, sum(actions) as actions
    from intermediate.int_route_week_rollup
    where grain = 'actions'
    group by week, route
),

by_role as (
    select
        week,
        route,
        call_role,
        cast(sum(calls) as bigint) as calls,
        cast(coalesce(sum(calls) filter (where not is_priced), 0) as bigint) as unpriced_calls,
        coalesce(sum(cost_usd), 0) as cost_usd
    from calls
    group by week, route, call_role
),

final as (
    select
        by_role.week,
        by_role.route,
        by_role.call_role,

        -- counts
        by_role.calls,
        by_role.unpriced_calls,
        cast(actions.actions as bigint) as route_actions,

        -- money
        by_role.cost_usd,
        cast(by_role.cost_usd as double)
        / nullif(cast(sum(by_role.cost_usd) over (partition by by_role.week, by_role.route) as double), 0)
            as share_of_cost,
        -- exactly, rounded half up to 1e-9 USD: in whole 1e-21 USD divided (`//`) by the actions
        cast(
            cast(
                (
                    cast(replace(cast(cast(by_role.cost_usd as decimal(38, 21)) as varchar), '.', '') as hugeint)
                    + actions.actions * cast(500000000000 as hugeint)
                )
                // (actions.actions * cast(1000000000000 as hugeint))
                as decimal(38, 0)
            ) * 0.000000001 as decimal(38, 9)
        ) as cost_per_action_usd
    from by_role
    inner join actions using (week, route)
)

select * from final
