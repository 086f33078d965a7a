-- One row per (week, route, status): calls by outcome of the provider request, the
-- error rate broken down by the error taxonomy.
with

calls as (
    select * from intermediate.int_route_week_rollup where grain = 'calls'
),

by_status as (
    select
        week,
        route,
        status,
        sum(calls) as calls,
        sum(cost_usd) as cost_usd
    from calls
    group by week, route, status
),

final as (
    select
        *,
        calls / sum(calls) over (partition by week, route) as share_of_calls
    from by_status
)

select * from final
