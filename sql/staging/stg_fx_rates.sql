-- model:
--   grain: [currency, effective_from]
--   audits:
--     - not_null: [currency, rate_to_usd, effective_from]
--     - accepted_range: {columns: [rate_to_usd], min: 0}
--     - expression_is_true: effective_to is null or effective_to > effective_from
--
-- One row per (currency, period): the USD a unit of the currency is worth from
-- effective_from (inclusive, UTC date) to effective_to (exclusive; NULL = still in force).
-- The rates are the team's own (pricing/fx_rates.yaml or `build --fx`); a bill in a
-- currency with no rate at its date is never treated as USD (stg_billing_lines).
with

fx_rates as (
    select * from raw.fx_rates
),

dated as (
    select
        upper(currency) as currency,
        rate_to_usd,
        effective_from,
        lead(effective_from) over (partition by upper(currency) order by effective_from) as effective_to,
        source
    from fx_rates
)

select * from dated
