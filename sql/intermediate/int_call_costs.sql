-- model:
--   grain: [call_id]
--   audits_run: on_demand   # one row per call; the weekly rollup's totals are audited at every build
--   audits:
--     - expression_is_true: >-
--         cost_usd is null or cost_usd = input_cost_usd + cached_input_cost_usd + cache_write_cost_usd + output_cost_usd
--     - accepted_range: {columns: [cost_usd, cache_savings_usd, reasoning_cost_usd], min: 0}
--     - expression_is_true: is_priced or cost_usd is null
--
-- One row per call: the price that applied at its UTC date and what the call cost.
--
-- Cost (DESIGN.md §3), per 1M-token rates of the price row in force on the call's UTC
-- date, for the call's service tier (the default tier's rates when its tier has none):
--   uncached input + cached reads + 5-minute and 1-hour cache writes + output
--   (reasoning is output), at the long-context rates for the whole call when
--   input_tokens exceeds the threshold, times batch_multiplier for batch calls;
--   0 for a response-cache hit (no provider charge);
--   NULL when no price applies (unpriced: counted and shown, never 0).
-- Money is exact: tokens times per-token rates with 21 decimal places (stg_prices),
-- and cost_usd is the sum of its components.
with

calls as (
    select * from staging.stg_calls
),

model_map as (
    select * from staging.stg_model_map
),

prices as (
    select * from staging.stg_prices
),

priced_tiers as (
    select distinct provider, model, service_tier from prices
),

keyed as (
    select
        calls.*,
        model_map.price_provider,
        model_map.price_model,
        model_map.model_tier,
        coalesce(priced_tiers.service_tier, 'default') as priced_service_tier
    from calls
    left join model_map
        on calls.provider = model_map.provider
        and calls.model = model_map.model
    left join priced_tiers
        on priced_tiers.provider = model_map.price_provider
        and priced_tiers.model = model_map.price_model
        and priced_tiers.service_tier = calls.service_tier
),

with_price as (
    select
        keyed.*,
        prices.effective_from as price_effective_from,
        prices.source as price_source,
        prices.effective_from is not null as has_price,
        coalesce(keyed.input_tokens > prices.long_context_threshold_tokens, false) as is_long_context,
        prices.input_usd_per_token,
        prices.cached_input_usd_per_token,
        prices.cache_write_usd_per_token,
        prices.cache_write_1h_usd_per_token,
        prices.output_usd_per_token,
        prices.long_context_input_usd_per_token,
        prices.long_context_cached_input_usd_per_token,
        prices.long_context_cache_write_usd_per_token,
        prices.long_context_cache_write_1h_usd_per_token,
        prices.long_context_output_usd_per_token
    from keyed
    left join prices
        on prices.provider = keyed.price_provider
        and prices.model = keyed.price_model
        and prices.service_tier = keyed.priced_service_tier
        and prices.is_batch = keyed.is_batch
        and keyed.call_date >= prices.effective_from
        and (prices.effective_to is null or keyed.call_date < prices.effective_to)
),

rates as (
    select
        *,
        if(is_long_context, long_context_input_usd_per_token, input_usd_per_token) as rate_input,
        if(is_long_context, long_context_cached_input_usd_per_token, cached_input_usd_per_token) as rate_cached_input,
        if(is_long_context, long_context_cache_write_usd_per_token, cache_write_usd_per_token) as rate_cache_write,
        if(is_long_context, long_context_cache_write_1h_usd_per_token, cache_write_1h_usd_per_token)
            as rate_cache_write_1h,
        if(is_long_context, long_context_output_usd_per_token, output_usd_per_token) as rate_output
    from with_price
),

components as (
    select
        *,
        -- money: tokens x USD per token, exact (DECIMAL(38, 21))
        case when is_response_cache_hit then 0 else uncached_input_tokens * rate_input end
            as input_cost_usd,
        case when is_response_cache_hit then 0 else cached_input_tokens * rate_cached_input end
            as cached_input_cost_usd,
        case
            when is_response_cache_hit then 0
            else (cache_write_tokens - cache_write_1h_tokens) * rate_cache_write
                + cache_write_1h_tokens * rate_cache_write_1h
        end as cache_write_cost_usd,
        case when is_response_cache_hit then 0 else output_tokens * rate_output end
            as output_cost_usd,
        case when is_response_cache_hit then 0 else reasoning_tokens * rate_output end
            as reasoning_cost_usd,
        case when is_response_cache_hit then 0 else cached_input_tokens * (rate_input - rate_cached_input) end
            as cache_savings_usd
    from rates
),

final as (
    select
        * exclude (
            input_usd_per_token, cached_input_usd_per_token, cache_write_usd_per_token,
            cache_write_1h_usd_per_token, output_usd_per_token, long_context_input_usd_per_token,
            long_context_cached_input_usd_per_token, long_context_cache_write_usd_per_token,
            long_context_cache_write_1h_usd_per_token, long_context_output_usd_per_token
        ),
        is_response_cache_hit or has_price as is_priced,
        input_cost_usd + cached_input_cost_usd + cache_write_cost_usd + output_cost_usd as cost_usd
    from components
)

select * from final
