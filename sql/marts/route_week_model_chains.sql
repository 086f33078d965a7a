-- model:
--   incremental: {by: week}
--   grain: [week, route, model_chain]
--   audits:
--     - expression_is_true: completed_actions <= actions
--     - reconciles:
--         expression: sum(actions)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(actions)
--         other_where: grain = 'actions'
--
-- One row per (week, route, chain of routing tiers): how the route-week's actions went
-- through the tiers, e.g. 'low → premium (invalid_output)': a low-tier answer, then a
-- fallback to premium for invalid_output. The chain lists the action's primary, retry and
-- fallback calls in start order (ts, then call_id), each as its model's tier ('unknown'
-- when the catalog has none), a retry marked '(retry)', a fallback by its reason
-- ('(unspecified)' when none was logged). Validation, tool and classifier calls are left
-- out: they are not attempts at the answer. An action with none of those calls reads
-- '(no answer call)'.
with

chains as (
    select
        week,
        route,
        coalesce(attempt_chain, '(no answer call)') as model_chain,
        count(*) as actions,
        count(*) filter (where completed) as completed_actions,
        sum(cost_usd) as cost_usd
    from intermediate.int_actions
    group by all
),

final as (
    select
        week,
        route,
        model_chain,
        cast(actions as bigint) as actions,
        cast(completed_actions as bigint) as completed_actions,
        actions / sum(actions) over (partition by week, route) as share_of_actions,
        cost_usd
    from chains
)

select * from final
