-- model:
--   materialized: view
--   grain: [ChargePeriodStart, ServiceProviderName, x_ModelIdLogged, x_IsBatch, RegionId, Tags, SkuMeter]
--   audits_run: on_demand   # computed from every call when exported; the export validates what it writes
--   audits:
--     - accepted_values: {column: ChargeCategory, values: [Usage]}
--     - expression_is_true: ChargePeriodStart < ChargePeriodEnd
--
-- routeledger's estimated costs as FOCUS 1.3 cost-and-usage rows, for finance platforms
-- that read FOCUS: one row per (UTC day, provider, model as logged, batch or not, region,
-- tags, token class). Tags are a flat JSON object of the calls' team, project and feature.
--
-- Token classes follow the FOCUS 1.5 draft's AI model billing examples: SkuMeter `Input
-- Tokens` (uncached), `Cache Read Input Tokens`, `Cache Write Input Tokens` (5-minute and
-- 1-hour writes together), `Output Tokens` (reasoning included), with TokenDirection and
-- TokenCacheAction in SkuPriceDetails and as x_ columns. ConsumedQuantity counts tokens;
-- PricingQuantity is the same in blocks of 1M tokens. The costs are estimates, so
-- BilledCost = EffectiveCost = ListCost = ContractedCost = the estimated cost, exact.
-- Unpriced calls (no cost) and response-cache hits (no provider charge) are left out.
-- Every provider is its own billing account, service provider, host and invoice issuer.
with

calls as (
    select * from marts.call_costs where is_priced and not is_response_cache_hit
),

classes as (
    select
        calls.call_date,
        calls.provider,
        calls.model,
        coalesce(calls.price_model, calls.model) as price_model,
        calls.is_batch,
        calls.priced_service_tier,
        calls.region,
        nullif(
            '{' || concat_ws(
                ',',
                '"feature":' || to_json(calls.feature),
                '"project":' || to_json(calls.project),
                '"team":' || to_json(calls.team)
            ) || '}',
            '{}'
        ) as tags_json,
        token_class.sku_meter,
        token_class.direction,
        token_class.cache_action,
        case token_class.sku_meter
            when 'Input Tokens' then calls.uncached_input_tokens
            when 'Cache Read Input Tokens' then calls.cached_input_tokens
            when 'Cache Write Input Tokens' then calls.cache_write_tokens
            else calls.output_tokens
        end as tokens,
        case token_class.sku_meter
            when 'Input Tokens' then calls.input_cost_usd
            when 'Cache Read Input Tokens' then calls.cached_input_cost_usd
            when 'Cache Write Input Tokens' then calls.cache_write_cost_usd
            else calls.output_cost_usd
        end as cost_usd
    from calls
    cross join (
        values
        ('Input Tokens', 'Input', 'Uncached'),
        ('Cache Read Input Tokens', 'Input', 'Read'),
        ('Cache Write Input Tokens', 'Input', 'Write'),
        ('Output Tokens', 'Output', null)
    ) as token_class (sku_meter, direction, cache_action)
),

daily as (
    select
        call_date,
        provider,
        model,
        price_model,
        is_batch,
        region,
        tags_json,
        sku_meter,
        direction,
        cache_action,
        string_agg(distinct priced_service_tier, ', ' order by priced_service_tier) as service_tiers,
        count(*) as calls,
        sum(tokens) as tokens,
        sum(cost_usd) as cost_usd
    from classes
    where tokens > 0
    group by call_date, provider, model, price_model, is_batch, region, tags_json, sku_meter, direction, cache_action
),

-- FOCUS spells its columns in CamelCase
-- noqa: disable=CP02
final as (
    select
        -- FOCUS 1.3 columns, in the specification's order
        cast(cost_usd as decimal(38, 21)) as BilledCost,
        provider as BillingAccountId,
        provider as BillingAccountName,
        'USD' as BillingCurrency,
        cast(date_trunc('month', call_date) + interval 1 month as timestamptz) as BillingPeriodEnd,
        cast(date_trunc('month', call_date) as timestamptz) as BillingPeriodStart,
        'Usage' as ChargeCategory,
        cast(null as varchar) as ChargeClass,
        price_model || ' ' || lower(sku_meter) || ', estimated from routing logs' as ChargeDescription,
        'Usage-Based' as ChargeFrequency,
        cast(call_date + interval 1 day as timestamptz) as ChargePeriodEnd,
        cast(call_date as timestamptz) as ChargePeriodStart,
        cast(tokens as decimal(38, 0)) as ConsumedQuantity,
        'Tokens' as ConsumedUnit,
        cast(cost_usd as decimal(38, 21)) as ContractedCost,
        cast(cost_usd as decimal(38, 21)) as EffectiveCost,
        provider as HostProviderName,
        provider as InvoiceIssuerName,
        cast(cost_usd as decimal(38, 21)) as ListCost,
        'Standard' as PricingCategory,
        cast(cast(tokens as decimal(38, 0)) * 0.000001 as decimal(38, 6)) as PricingQuantity,
        '1000000 Tokens' as PricingUnit,
        provider as ProviderName,
        provider as PublisherName,
        region as RegionId,
        region as RegionName,
        'AI and Machine Learning' as ServiceCategory,
        provider || ' API' as ServiceName,
        provider as ServiceProviderName,
        'Generative AI' as ServiceSubcategory,
        price_model || ' ' || lower(sku_meter) as SkuId,
        sku_meter as SkuMeter,
        case
            when cache_action is null
                then cast(json_object('ModelId', price_model, 'TokenDirection', direction) as varchar)
            else cast(
                    json_object('ModelId', price_model, 'TokenDirection', direction, 'TokenCacheAction', cache_action)
                    as varchar
                )
        end as SkuPriceDetails,
        tags_json as Tags,

        -- custom columns (FOCUS 1.5 draft AI properties and routeledger's own)
        price_model as x_ModelId,
        model as x_ModelIdLogged,
        direction as x_TokenDirection,
        cache_action as x_TokenCacheAction,
        service_tiers as x_ServiceTier,
        is_batch as x_IsBatch,
        cast(calls as bigint) as x_CallCount,
        'routeledger estimate' as x_CostSource
    from daily
)

-- noqa: enable=CP02
select * from final
