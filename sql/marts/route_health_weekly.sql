-- model:
--   grain: [week, route]
--   audits:
--     - not_null: [week, route, trend_8w, policy_status]
--     - accepted_values: {column: policy_status, values: [breach, warning, ok]}
--     - expression_is_true: array_length(trend_8w) between 1 and 8
--     - reconciles:
--         expression: sum(cost_usd)
--         with: marts.route_weekly
--         other_expression: sum(cost_usd)
--     - reconciles:
--         expression: sum(actions)
--         with: marts.route_weekly
--         other_expression: sum(actions)
--
-- One row per (week, route) of marts.route_weekly: the Weekly review's route health
-- table, read as it is. The route's figures of the week, as route_weekly has them; its
-- cost per completed action over its last 8 weeks (this one and the 7 before that it ran,
-- oldest first, NULL for a week without a completed action) for the sparkline; and its
-- policy status of the week from marts.policy_violations: breach when a rule was
-- breached, warning when only warnings were raised, ok otherwise.
with

route_weekly as (
    select * from marts.route_weekly
),

violations as (
    select * from marts.policy_violations
),

trends as (
    select
        this_week.week,
        this_week.route,
        list(
            cast(earlier.cost_per_completed_action_usd as double) order by earlier.week
        ) as trend_8w
    from route_weekly as this_week
    inner join route_weekly as earlier
        on
        this_week.route = earlier.route
        and earlier.week between this_week.week - interval 49 day and this_week.week
    group by this_week.week, this_week.route
),

statuses as (
    select
        week,
        scope as route,
        if(bool_or(severity = 'breach'), 'breach', 'warning') as policy_status
    from violations
    where scope_kind = 'route'
    group by week, scope
),

final as (
    select
        route_weekly.week,
        route_weekly.route,
        route_weekly.cost_usd,
        route_weekly.cost_per_completed_action_usd,
        trends.trend_8w,
        route_weekly.actions,
        route_weekly.completed_actions,
        route_weekly.fallback_rate,
        route_weekly.retry_rate,
        route_weekly.premium_share,
        route_weekly.prompt_cache_hit_rate,
        route_weekly.error_rate,
        route_weekly.p95_latency_ms,
        route_weekly.unpriced_calls,
        coalesce(statuses.policy_status, 'ok') as policy_status
    from route_weekly
    inner join trends on route_weekly.week = trends.week and route_weekly.route = trends.route
    left join statuses on route_weekly.week = statuses.week and route_weekly.route = statuses.route
)

select * from final
