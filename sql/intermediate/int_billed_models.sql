-- model:
--   grain: [provider, model]
--   audits:
--     - not_null: [model, n_lines]
--     - accepted_range: {columns: [n_lines], min: 1}
--
-- One row per model name as a bill names it (x_Provider, x_ModelIdRaw) in the billing
-- lines and the usage reports, with the priced model it resolves to (raw.model_map: the
-- same resolution as logged models, after pipelines/prices/billed.py normalises billed
-- names). price_model NULL: unmapped, because nothing prices the name or because no
-- provider was recognised for it (provider NULL).
with

billing_lines as (
    select * from raw.billing_lines
),

billing_usage as (
    select * from raw.billing_usage
),

model_map as (
    select * from staging.stg_model_map
),

billed as (
    select x_provider as provider, x_modelidraw as model, chargeperiodstart as charge_start
    from billing_lines
    where x_modelidraw is not null
    union all
    select x_provider as provider, x_modelidraw as model, chargeperiodstart as charge_start
    from billing_usage
    where x_modelidraw is not null
),

named as (
    select
        provider,
        model,
        count(*) as n_lines,
        min(charge_start) as first_charge_at,
        max(charge_start) as last_charge_at
    from billed
    group by provider, model
),

final as (
    select
        -- ids
        named.provider,
        named.model,
        -- resolution
        model_map.price_provider,
        model_map.price_model,
        model_map.matched_by,
        -- counts and timestamps
        cast(named.n_lines as bigint) as n_lines,
        named.first_charge_at,
        named.last_charge_at
    from named
    left join model_map
        on named.provider = model_map.provider
        and named.model = model_map.model
)

select * from final
