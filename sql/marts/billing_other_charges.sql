-- model:
--   grain: [day, provider, charge_kind]
--   audits:
--     - accepted_values:
--         column: charge_kind
--         values: [web_search, code_execution, storage, fine_tuning, credit, tax, adjustment, purchase, other]
--
-- One row per (UTC day, provider as logged, kind of charge) of everything a bill holds
-- besides a model's token charges: per-request tools (web search, code execution),
-- storage, fine-tuning, credits, taxes, adjustments, purchases, and any usage line with
-- no token class (kept here, visible, rather than guessed into a model's row). These
-- stay out of marts.reconciliation_daily, whose rows compare tokens with tokens.
--
-- The kind is the line's ChargeCategory for Tax, Credit, Adjustment and Purchase, else
-- read from its label (SKU meter, line item or description); `other` when nothing fits.
-- billed_cost_usd is NULL when a line's currency has no rate (has_fx_rate false).
with

lines as (
    select * from staging.stg_billing_lines where not is_model_usage
),

kinded as (
    select
        *,
        case
            when charge_category = 'Tax' then 'tax'
            when charge_category = 'Credit' then 'credit'
            when charge_category = 'Adjustment' then 'adjustment'
            when charge_category = 'Purchase' then 'purchase'
            when regexp_matches(lower(charge_label), 'web.?search|grounding') then 'web_search'
            when regexp_matches(lower(charge_label), 'code.?(execution|interpreter)|session') then 'code_execution'
            when regexp_matches(lower(charge_label), 'fine.?tun|training') then 'fine_tuning'
            when regexp_matches(lower(charge_label), 'storage') then 'storage'
            else 'other'
        end as charge_kind
    from lines
),

final as (
    select
        -- grain
        day,
        provider,
        charge_kind,

        -- what was charged
        string_agg(distinct charge_label, '; ' order by charge_label) as charge_labels,
        string_agg(distinct billed_model, ', ' order by billed_model) as billed_models,
        cast(count(*) as bigint) as billed_lines,
        cast(sum(request_count) as bigint) as requests,

        -- money
        string_agg(distinct billing_currency, ', ' order by billing_currency) as billing_currencies,
        bool_and(has_fx_rate) as has_fx_rate,
        cast(if(bool_and(has_fx_rate), sum(billed_cost_usd), null) as decimal(38, 21)) as billed_cost_usd
    from kinded
    group by day, provider, charge_kind
)

select * from final
