-- model:
--   grain: [week, route, status]
--   audits:
--     - accepted_values: {column: status, values: [ok, error, timeout, rate_limited, invalid_output, refused]}
--     - reconciles: {expression: sum(calls), with: marts.route_weekly}
--
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
        cast(sum(calls) as bigint) as calls,
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
