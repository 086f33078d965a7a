-- model:
--   materialized: table      # priced once per build; every model after it reads the table
--   incremental: {by: call_week}
--   grain: [call_id]
--   audits_run: on_demand   # one row per call; the weekly rollup's totals are audited at every build
--   audits:
--     - expression_is_true: >-
--         cost_usd is null or cost_usd = input_cost_usd + cached_input_cost_usd + cache_write_cost_usd
--         + output_cost_usd + web_search_cost_usd + regional_uplift_cost_usd
--     - accepted_range:
--         columns: [cost_usd, cache_savings_usd, reasoning_cost_usd, web_search_cost_usd, regional_uplift_cost_usd]
--         min: 0
--     - expression_is_true: is_priced or cost_usd is null
--
-- One row per call: the price that applied at its start (ts) and what the call cost.
--
-- Cost (DESIGN.md §3), per 1M-token rates of the price row in force at the call's ts
-- (the newest effective_from <= ts), for the call's service tier (the default tier's
-- rates when its tier has none), inside the row's time-of-day window when the call's
-- local time and weekday fall in one:
--   uncached input + cached reads + 5-minute and 1-hour cache writes + output
--   (reasoning is output), at the long-context rates for the whole call when
--   input_tokens exceeds the threshold, times batch_multiplier for batch calls;
--   + web-search calls x the per-call fee (no batch discount);
--   + the regional uplift: the token cost x (multiplier - 1) for a call logged in a
--     region the catalog uplifts;
--   0 for a response-cache hit (no provider charge);
--   NULL when no price applies, or when the call made web searches its price row has
--   no fee for (unpriced: counted and shown, never 0).
-- Money is exact: tokens times per-token rates with 21 decimal places (stg_prices),
-- the uplift checked exact when the catalog is read, and cost_usd is the sum of its
-- components.
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

uplifts as (
    select * from staging.stg_price_uplifts
),

period_prices as (
    select * from prices where window_name is null
),

window_prices as (
    select * from prices where window_name is not null
),

priced_tiers as (
    select distinct provider, model, service_tier from prices
),

priced_models as (
    select distinct price_provider, price_model from model_map where price_model is not null
),

-- The uplift in force per priced model and region, as periods: the newest start wins,
-- then the uplift listed last. Small: the priced models times the uplifts' regions.
uplift_starts as (
    select
        priced.price_provider,
        priced.price_model,
        uplifts.region,
        uplifts.effective_from,
        uplifts.multiplier
    from priced_models as priced
    inner join uplifts
        on priced.price_provider = uplifts.provider
        and priced.price_model glob uplifts.model_pattern
    qualify
        row_number() over (
            partition by priced.price_provider, priced.price_model, uplifts.region, uplifts.effective_from
            order by uplifts.priority desc
        ) = 1
),

uplift_periods as (
    select
        *,
        lead(effective_from) over (
            partition by price_provider, price_model, region order by effective_from
        ) as effective_to
    from uplift_starts
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

-- The period in force at the call's ts: one range join.
with_period as (
    select
        keyed.*,
        prices.effective_from as price_effective_from,
        prices.source as price_source,
        prices.effective_from is not null as has_price,
        coalesce(keyed.input_tokens > prices.long_context_threshold_tokens, false) as is_long_context,
        prices.web_search_usd_per_call,
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
    left join period_prices as prices
        on prices.provider = keyed.price_provider
        and prices.model = keyed.price_model
        and prices.service_tier = keyed.priced_service_tier
        and prices.is_batch = keyed.is_batch
        and keyed.ts >= prices.effective_from
        and (prices.effective_to is null or keyed.ts < prices.effective_to)
),

-- The window of that period the call's local time falls in, if any: an equi-join on the
-- period, so only calls of periods with windows compute a local time. Windows of one
-- period never overlap (the catalog checks), so a call meets one at most.
with_price as (
    select
        with_period.* exclude (
            input_usd_per_token, cached_input_usd_per_token, cache_write_usd_per_token,
            cache_write_1h_usd_per_token, output_usd_per_token, long_context_input_usd_per_token,
            long_context_cached_input_usd_per_token, long_context_cache_write_usd_per_token,
            long_context_cache_write_1h_usd_per_token, long_context_output_usd_per_token
        ),
        windows.window_name as price_window,
        coalesce(windows.input_usd_per_token, with_period.input_usd_per_token) as input_usd_per_token,
        coalesce(windows.cached_input_usd_per_token, with_period.cached_input_usd_per_token)
            as cached_input_usd_per_token,
        coalesce(windows.cache_write_usd_per_token, with_period.cache_write_usd_per_token)
            as cache_write_usd_per_token,
        coalesce(windows.cache_write_1h_usd_per_token, with_period.cache_write_1h_usd_per_token)
            as cache_write_1h_usd_per_token,
        coalesce(windows.output_usd_per_token, with_period.output_usd_per_token) as output_usd_per_token,
        coalesce(windows.long_context_input_usd_per_token, with_period.long_context_input_usd_per_token)
            as long_context_input_usd_per_token,
        coalesce(windows.long_context_cached_input_usd_per_token, with_period.long_context_cached_input_usd_per_token)
            as long_context_cached_input_usd_per_token,
        coalesce(windows.long_context_cache_write_usd_per_token, with_period.long_context_cache_write_usd_per_token)
            as long_context_cache_write_usd_per_token,
        coalesce(
            windows.long_context_cache_write_1h_usd_per_token, with_period.long_context_cache_write_1h_usd_per_token
        ) as long_context_cache_write_1h_usd_per_token,
        coalesce(windows.long_context_output_usd_per_token, with_period.long_context_output_usd_per_token)
            as long_context_output_usd_per_token
    from with_period
    left join window_prices as windows
        on with_period.price_provider = windows.provider
        and with_period.price_model = windows.model
        and with_period.priced_service_tier = windows.service_tier
        and with_period.is_batch = windows.is_batch
        and with_period.price_effective_from = windows.effective_from
        and list_contains(windows.window_weekdays, isodow(timezone(windows.window_time_zone, with_period.ts)))
        and hour(timezone(windows.window_time_zone, with_period.ts)) * 60
        + minute(timezone(windows.window_time_zone, with_period.ts))
        between windows.window_start_minute and windows.window_end_minute - 1
),

with_uplift as (
    select
        with_price.*,
        cast(coalesce(uplift_periods.multiplier, 1) as decimal(9, 4)) as regional_multiplier
    from with_price
    left join uplift_periods
        on with_price.price_provider = uplift_periods.price_provider
        and with_price.price_model = uplift_periods.price_model
        and lower(trim(with_price.region)) = uplift_periods.region
        and with_price.ts >= uplift_periods.effective_from
        and (uplift_periods.effective_to is null or with_price.ts < uplift_periods.effective_to)
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
    from with_uplift
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
            as cache_savings_usd,
        case
            when is_response_cache_hit or web_search_calls = 0 then 0
            else web_search_calls * web_search_usd_per_call
        end as web_search_cost_usd
    from rates
),

uplifted as (
    select
        *,
        -- exact: the catalog refuses an uplift whose product with a rate needs more places
        cast(
            (input_cost_usd + cached_input_cost_usd + cache_write_cost_usd + output_cost_usd)
            * (regional_multiplier - 1) as decimal(38, 21)
        ) as regional_uplift_cost_usd
    from components
),

final as (
    select
        * exclude (
            input_usd_per_token, cached_input_usd_per_token, cache_write_usd_per_token,
            cache_write_1h_usd_per_token, output_usd_per_token, long_context_input_usd_per_token,
            long_context_cached_input_usd_per_token, long_context_cache_write_usd_per_token,
            long_context_cache_write_1h_usd_per_token, long_context_output_usd_per_token,
            web_search_usd_per_call
        ),
        is_response_cache_hit or (has_price and web_search_cost_usd is not null) as is_priced,
        input_cost_usd + cached_input_cost_usd + cache_write_cost_usd + output_cost_usd
        + web_search_cost_usd + regional_uplift_cost_usd as cost_usd
    from uplifted
)

select * from final
