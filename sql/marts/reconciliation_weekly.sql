-- model:
--   grain: [week, provider]
--   audits:
--     - not_null: [week, provider, model_days, model_days_out_of_tolerance]
--     - expression_is_true: model_days_out_of_tolerance <= model_days
--     - reconciles:
--         expression: sum(delta_usd)
--         with: marts.reconciliation_daily
--         other_expression: sum(delta_usd)
--     - reconciles:
--         expression: coalesce(sum(model_days_out_of_tolerance), 0)
--         with: marts.reconciliation_daily
--         other_expression: count(*) filter (where not is_within_tolerance)
--
-- One row per (ISO week of the day, provider as logged): marts.reconciliation_daily added
-- up over the week's days and models, what the Weekly review shows of the providers'
-- bills. Money adds up (a missing side counts nothing, as in the daily rows);
-- model_days counts the week's (day, model) rows of the provider, and
-- model_days_out_of_tolerance those outside reconciliation_daily's tolerance, so a week
-- within tolerance overall can still point at the days that were not.
with

daily as (
    select * from marts.reconciliation_daily
),

weekly as (
    select
        provider,
        cast(date_trunc('week', day) as date) as week,
        sum(estimated_cost_usd) as estimated_cost_usd,
        sum(billed_cost_usd) as billed_cost_usd,
        sum(delta_usd) as delta_usd,
        count(*) as model_days,
        count(*) filter (where not is_within_tolerance) as model_days_out_of_tolerance
    from daily
    group by all
),

final as (
    select
        week,
        provider,
        estimated_cost_usd,
        billed_cost_usd,
        delta_usd,
        cast(model_days as bigint) as model_days,
        cast(model_days_out_of_tolerance as bigint) as model_days_out_of_tolerance
    from weekly
)

select * from final
