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

calls as (
    select * from marts.call_costs
),

action_costs as (
    select action_id, week, route, completed, cost_usd from marts.action_costs
),

attempts as (
    select
        action_id,
        string_agg(
            coalesce(model_tier, 'unknown')
            || case
                when call_role = 'retry' then ' (retry)'
                when call_role = 'fallback' then ' (' || coalesce(fallback_reason, 'unspecified') || ')'
                else ''
            end,
            ' → ' order by ts, call_id
        ) as model_chain
    from calls
    where call_role in ('primary', 'retry', 'fallback')
    group by action_id
),

chains as (
    select
        action_costs.week,
        action_costs.route,
        coalesce(attempts.model_chain, '(no answer call)') as model_chain,
        count(*) as actions,
        count(*) filter (where action_costs.completed) as completed_actions,
        sum(action_costs.cost_usd) as cost_usd
    from action_costs
    left join attempts on action_costs.action_id = attempts.action_id
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
