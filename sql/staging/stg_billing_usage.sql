-- model:
--   grain: [load_id, source_row, token_class]
--   audits:
--     - not_null: [day, provider, token_count]
--     - accepted_range: {columns: [token_count], min: 0}
--
-- One row per token class of each result of a provider usage report (OpenAI Usage API, Anthropic
-- usage report): tokens the provider counted, without money, in the vocabulary of
-- stg_billing_lines (day, provider as logged, priced model, token class).
with

usage as (
    select * from raw.billing_usage
),

model_map as (
    select * from staging.stg_model_map
),

-- FOCUS names its columns in CamelCase: kept as the raw table spells them
-- noqa: disable=CP02
classified as (
    select
        load_id,
        source_row,
        cast(ChargePeriodStart as date) as day,
        coalesce(lower(x_Provider), lower(ServiceProviderName), 'unknown') as provider,
        x_ModelIdRaw as billed_model,
        case
            when x_TokenDirection = 'Output' then 'output'
            when x_TokenDirection = 'Input' and x_TokenCacheAction = 'Read' then 'cached_input'
            when x_TokenDirection = 'Input' and x_TokenCacheAction = 'Write' and x_CacheTtl = '1h'
                then 'cache_write_1h'
            when x_TokenDirection = 'Input' and x_TokenCacheAction = 'Write' then 'cache_write'
            when x_TokenDirection = 'Input' then 'input'
        end as token_class,
        x_TokenCount as token_count
    from usage
),

-- noqa: enable=CP02

final as (
    select
        classified.*,
        model_map.price_provider,
        model_map.price_model,
        model_map.price_model is not null as is_model_mapped
    from classified
    left join model_map
        on classified.provider = model_map.provider
        and classified.billed_model = model_map.model
)

select * from final
