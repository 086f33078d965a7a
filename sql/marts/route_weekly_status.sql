-- One row per (week, route, status): calls by outcome of the provider request, the
-- error rate broken down by the error taxonomy.
with

rollup as (
    select * from intermediate.int_route_week_rollup where grain = 'status'
),

final as (
    select
        week,
        route,
        status,
        calls,
        cost_usd,
        calls / sum(calls) over (partition by week, route) as share_of_calls
    from rollup
)

select * from final
