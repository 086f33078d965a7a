-- One row per (week, route, fallback_reason): fallback calls, the actions that fell
-- back for that reason, and what those fallback calls cost.
with

calls as (
    select * from marts.call_costs
),

fallbacks as (
    select
        week,
        route,
        coalesce(fallback_reason, 'unspecified') as fallback_reason,
        count(*) as fallback_calls,
        count(distinct action_id) as actions,
        sum(cost_usd) as cost_usd
    from calls
    where call_role = 'fallback'
    group by week, route, coalesce(fallback_reason, 'unspecified')
)

select * from fallbacks
