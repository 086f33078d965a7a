-- model:
--   grain: [month, provider]
--   audits:
--     - accepted_values:
--         column: status
--         values: [ok, billed_above_estimate, billed_below_estimate, not_billed, not_logged, no_fx_rate]
--     - reconciles: {expression: sum(estimated_cost_usd), with: marts.reconciliation_daily}
--
-- One row per (calendar month UTC, provider as logged): marts.reconciliation_daily summed
-- over the month's days and models, beside the provider's other charges that month
-- (marts.billing_other_charges: tools, storage, credits, taxes...).
--
-- share_explained = sum over days and models of least(estimated, billed) / billed: the part
-- of the bill for model tokens that logged calls account for at their own day and model.
-- A day billed but not logged, or logged too high, explains less; 1 is a bill fully accounted for.
-- status and is_within_tolerance follow the daily rule on the month's totals.
with

daily as (
    select * from marts.reconciliation_daily
),

other_charges as (
    select * from marts.billing_other_charges
),

months as (
    select
        cast(date_trunc('month', day) as date) as month,
        provider,
        count(*) as model_days,
        count(*) filter (where not is_within_tolerance) as model_days_out_of_tolerance,
        sum(calls) as calls,
        sum(billed_lines) as billed_lines,
        bool_and(status <> 'no_fx_rate') as has_fx_rate,
        sum(estimated_cost_usd) as estimated_cost_usd,
        sum(billed_cost_usd) as billed_cost_usd,
        sum(least(estimated_cost_usd, billed_cost_usd)) as explained_usd
    from daily
    group by cast(date_trunc('month', day) as date), provider
),

other_months as (
    select
        cast(date_trunc('month', day) as date) as month,
        provider,
        bool_and(has_fx_rate) as has_fx_rate,
        sum(billed_cost_usd) as other_charges_usd
    from other_charges
    group by cast(date_trunc('month', day) as date), provider
),

measured as (
    select
        months.*,
        if(months.has_fx_rate, months.billed_cost_usd, null) as billed_usd,
        if(months.has_fx_rate, months.billed_cost_usd, null) - months.estimated_cost_usd as delta_usd,
        greatest(0.01, 0.005 * abs(if(months.has_fx_rate, months.billed_cost_usd, null))) as tolerance_usd,
        if(coalesce(other_months.has_fx_rate, true), coalesce(other_months.other_charges_usd, 0), null)
            as other_charges_usd
    from months
    left join other_months
        on months.month = other_months.month
        and months.provider = other_months.provider
),

final as (
    select
        -- grain
        month,
        provider,

        -- verdict
        case
            when billed_lines = 0 then 'not_billed'
            when billed_usd is null then 'no_fx_rate'
            when calls = 0 then 'not_logged'
            when abs(delta_usd) <= tolerance_usd then 'ok'
            when delta_usd > 0 then 'billed_above_estimate'
            else 'billed_below_estimate'
        end as status,
        coalesce(abs(delta_usd) <= tolerance_usd, false) as is_within_tolerance,

        -- counts
        cast(model_days as bigint) as model_days,
        cast(model_days_out_of_tolerance as bigint) as model_days_out_of_tolerance,
        cast(calls as bigint) as calls,
        cast(billed_lines as bigint) as billed_lines,

        -- money, USD
        cast(estimated_cost_usd as decimal(38, 21)) as estimated_cost_usd,
        cast(billed_usd as decimal(38, 21)) as billed_cost_usd,
        cast(delta_usd as decimal(38, 21)) as delta_usd,
        cast(delta_usd / nullif(billed_usd, 0) as double) as delta_pct,
        cast(explained_usd / nullif(billed_usd, 0) as double) as share_explained,
        cast(other_charges_usd as decimal(38, 21)) as other_charges_usd,
        cast(billed_usd + other_charges_usd as decimal(38, 21)) as total_billed_usd
    from measured
)

select * from final
