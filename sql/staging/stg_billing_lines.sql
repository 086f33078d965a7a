-- model:
--   grain: [load_id, source_row]
--   audits:
--     - not_null: [day, provider, charge_category, billing_currency, billed_cost]
--     - expression_is_true: billing_currency <> 'USD' or billed_cost_usd = billed_cost
--     - accepted_values:
--         column: token_class
--         values: [input, cached_input, cache_write, cache_write_1h, output]
--
-- One row per billing line, as loaded, with what reconciliation needs: the UTC day its
-- charge period starts, the provider as the logs name it, the priced model the billed
-- name resolves to (raw.model_map, the same resolution as logged names), its token
-- class in the logs' vocabulary, and its cost in USD.
--
-- Token classes: Input/Uncached (or no cache action: SKUs that bill both together) is
-- `input`, Input/Read `cached_input`, Input/Write `cache_write` (5-minute or unstated
-- TTL) or `cache_write_1h`, Output `output`. A line without a token direction is not a
-- token charge (web search, storage, taxes...): token_class NULL.
--
-- Money: a line billed in USD is taken as it is; in another currency it is converted at
-- the team's rate for that currency at the line's day (stg_fx_rates); with no rate,
-- billed_cost_usd is NULL and has_fx_rate false: never silently USD.
with

lines as (
    select * from raw.billing_lines
),

model_map as (
    select * from staging.stg_model_map
),

fx_rates as (
    select * from staging.stg_fx_rates
),

-- FOCUS names its columns in CamelCase: kept as the raw table spells them
-- noqa: disable=CP02
classified as (
    select
        -- ids
        load_id,
        source_row,
        x_SourceFormat as source_format,

        -- when and who
        cast(ChargePeriodStart as date) as day,
        ChargePeriodStart as charge_period_start,
        ChargePeriodEnd as charge_period_end,
        coalesce(lower(x_Provider), lower(ServiceProviderName), 'unknown') as provider,
        SubAccountId as sub_account_id,

        -- what
        ChargeCategory as charge_category,
        ChargeClass as charge_class,
        x_ModelIdRaw as billed_model,
        coalesce(SkuMeter, x_RawLineItem, ChargeDescription) as charge_label,
        case
            when x_TokenDirection = 'Output' then 'output'
            when x_TokenDirection = 'Input' and x_TokenCacheAction = 'Read' then 'cached_input'
            when x_TokenDirection = 'Input' and x_TokenCacheAction = 'Write' and x_CacheTtl = '1h'
                then 'cache_write_1h'
            when x_TokenDirection = 'Input' and x_TokenCacheAction = 'Write' then 'cache_write'
            when x_TokenDirection = 'Input' then 'input'
        end as token_class,
        x_TokenCount as token_count,
        x_RequestCount as request_count,

        -- money, in the billing currency
        upper(BillingCurrency) as billing_currency,
        BilledCost as billed_cost
    from lines
),

-- noqa: enable=CP02

resolved as (
    select
        classified.*,
        model_map.price_provider,
        model_map.price_model,
        model_map.price_model is not null as is_model_mapped
    from classified
    left join model_map
        on classified.provider = model_map.provider
        and classified.billed_model = model_map.model
),

converted as (
    select
        resolved.*,
        resolved.billing_currency = 'USD' or fx_rates.rate_to_usd is not null as has_fx_rate,
        case
            when resolved.billing_currency = 'USD' then cast(1 as decimal(18, 9))
            else fx_rates.rate_to_usd
        end as fx_rate_to_usd
    from resolved
    left join fx_rates
        on resolved.billing_currency = fx_rates.currency
        and resolved.day >= fx_rates.effective_from
        and (fx_rates.effective_to is null or resolved.day < fx_rates.effective_to)
),

final as (
    select
        *,
        -- token charges of a model are reconciled per model; everything else is another charge
        charge_category = 'Usage' and token_class is not null and billed_model is not null as is_model_usage,
        cast(billed_cost * fx_rate_to_usd as decimal(38, 21)) as billed_cost_usd
    from converted
)

select * from final
