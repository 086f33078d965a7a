-- One row per (week, route, fallback_reason): fallback calls, the actions that fell
-- back for that reason, and what those fallback calls cost.
with

rollup as (
    select * from intermediate.int_route_week_rollup where grain = 'fallback reason'
),

final as (
    select
        week,
        route,
        fallback_reason,
        calls as fallback_calls,
        actions,
        cost_usd
    from rollup
)

select * from final
