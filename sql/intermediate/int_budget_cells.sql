-- model:
--   materialized: table
--   incremental: {by: call_date, unit: day}   # a day's row: that day's priced calls
--   grain: [call_date, route, model_tier, team]
--   audits:
--     - not_null: [call_date, route, cost_usd]
--     - accepted_range: {columns: [cost_usd], min: 0}
--     - reconciles:
--         expression: sum(cost_usd)
--         with: intermediate.int_call_costs
--
-- One row per (UTC date of the call, the call's own route, model tier, team): what the
-- priced calls cost. marts.budget_status holds these against the policy's caps and
-- quotas; summed here once per day, so a build does not read every call for them.
-- Unpriced calls (no price at their time) are left out: their cost is unknown.
with

calls as (
    select * from intermediate.int_call_costs
),

final as (
    select
        call_date,
        route,
        model_tier,
        team,
        sum(cost_usd) as cost_usd
    from calls
    where cost_usd is not null
    group by call_date, route, model_tier, team
)

select * from final
