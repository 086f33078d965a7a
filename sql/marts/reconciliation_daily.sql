-- model:
--   grain: [day, provider, model]
--   audits:
--     - accepted_values:
--         column: status
--         values: [ok, billed_above_estimate, billed_below_estimate, not_billed, not_logged, no_fx_rate]
--     - expression_is_true: >-
--         token_gap_usd is null or token_gap_usd + price_gap_usd + residual_usd = delta_usd
--
-- One row per (UTC day, provider as logged, model): what routeledger estimated from the
-- logs (marts.call_costs) beside what the provider billed for that model's tokens
-- (intermediate.int_billed_daily). `model` is the priced model, so a dated billed id and
-- a logged alias meet; a name that resolves to no priced model stays as it is
-- (is_model_mapped false).
--
-- Only days a provider's bills cover are reconciled: from the first day of its first
-- billing line to the last day of its last, so traffic of today, not billed yet, is no
-- finding. Response-cache hits cost nothing and are not billed: their tokens are left out.
--
-- delta_usd = billed - estimated (a missing side counts 0); delta_pct = delta / billed.
-- status: not_billed / not_logged when one side is missing; no_fx_rate when the bill is
-- in a currency without a rate; otherwise ok when |delta| <= max(0.01 USD, 0.5% of billed),
-- else billed_above_estimate or billed_below_estimate. is_within_tolerance applies the same
-- rule to every row (a not_billed day of 0.004 USD is within it).
--
-- Where the bill gives token counts and the catalog a list price (default tier, not batch,
-- at the day), delta splits exactly into:
--   token_gap_usd = (billed tokens - logged tokens) x list price, per token class
--   price_gap_usd = billed cost - billed tokens x list price
--   residual_usd  = logged tokens x list price - estimated cost (batch discounts, tier and
--                   long-context rates, unpriced calls), so the three add up to delta_usd.
with

calls as (
    select * from marts.call_costs
),

billed as (
    select * from intermediate.int_billed_daily
),

billing_lines as (
    select * from staging.stg_billing_lines
),

prices as (
    -- the list price: default tier, not batch, outside any time-of-day window (a window's
    -- rate shares its effective_from, and arg_max would pick either)
    select * from staging.stg_prices where service_tier = 'default' and not is_batch and window_name is null
),

coverage as (
    select
        provider,
        min(day) as first_day,
        max(cast(charge_period_end - interval 1 microsecond as date)) as last_day
    from billing_lines
    group by provider
),

logged as (
    select
        calls.call_date as day,
        calls.provider,
        coalesce(calls.price_model, calls.model) as model,
        any_value(calls.price_provider) as price_provider,
        bool_and(calls.price_model is not null) as is_model_mapped,
        count(*) as calls,
        count(*) filter (where not calls.is_priced) as unpriced_calls,
        sum(calls.cost_usd) as estimated_cost_usd,
        sum(calls.uncached_input_tokens) filter (where not calls.is_response_cache_hit) as input_tokens,
        sum(calls.cached_input_tokens) filter (where not calls.is_response_cache_hit) as cached_input_tokens,
        sum(calls.cache_write_tokens - calls.cache_write_1h_tokens) filter (where not calls.is_response_cache_hit)
            as cache_write_tokens,
        sum(calls.cache_write_1h_tokens) filter (where not calls.is_response_cache_hit) as cache_write_1h_tokens,
        sum(calls.output_tokens) filter (where not calls.is_response_cache_hit) as output_tokens
    from calls
    inner join coverage
        on calls.provider = coverage.provider
        and calls.call_date between coverage.first_day and coverage.last_day
    group by calls.call_date, calls.provider, coalesce(calls.price_model, calls.model)
),

joined as (
    select
        coalesce(logged.day, billed.day) as day,
        coalesce(logged.provider, billed.provider) as provider,
        coalesce(logged.model, billed.model) as model,
        coalesce(billed.price_provider, logged.price_provider) as price_provider,
        billed.billed_models,
        coalesce(billed.is_model_mapped, true) and coalesce(logged.is_model_mapped, true) as is_model_mapped,
        coalesce(logged.calls, 0) as calls,
        coalesce(logged.unpriced_calls, 0) as unpriced_calls,
        coalesce(billed.billed_lines, 0) as billed_lines,
        billed.billing_currencies,
        coalesce(billed.has_fx_rate, true) as has_fx_rate,
        coalesce(logged.estimated_cost_usd, 0) as estimated_cost_usd,
        if(coalesce(billed.has_fx_rate, true), coalesce(billed.billed_cost_usd, 0), null) as billed_cost_usd,
        billed.input_tokens is not null
        or billed.cached_input_tokens is not null
        or billed.cache_write_tokens is not null
        or billed.cache_write_1h_tokens is not null
        or billed.output_tokens is not null as has_billed_tokens,
        coalesce(logged.input_tokens, 0) as logged_input_tokens,
        coalesce(logged.cached_input_tokens, 0) as logged_cached_input_tokens,
        coalesce(logged.cache_write_tokens, 0) as logged_cache_write_tokens,
        coalesce(logged.cache_write_1h_tokens, 0) as logged_cache_write_1h_tokens,
        coalesce(logged.output_tokens, 0) as logged_output_tokens,
        billed.input_tokens as billed_input_tokens,
        billed.cached_input_tokens as billed_cached_input_tokens,
        billed.cache_write_tokens as billed_cache_write_tokens,
        billed.cache_write_1h_tokens as billed_cache_write_1h_tokens,
        billed.output_tokens as billed_output_tokens
    from logged
    full outer join billed
        on logged.day = billed.day
        and logged.provider = billed.provider
        and logged.model = billed.model
),

list_rates as (
    select
        joined.day,
        joined.provider,
        joined.model,
        arg_max(prices.input_usd_per_token, prices.effective_from) as input_rate,
        arg_max(prices.cached_input_usd_per_token, prices.effective_from) as cached_input_rate,
        arg_max(prices.cache_write_usd_per_token, prices.effective_from) as cache_write_rate,
        arg_max(prices.cache_write_1h_usd_per_token, prices.effective_from) as cache_write_1h_rate,
        arg_max(prices.output_usd_per_token, prices.effective_from) as output_rate
    from joined
    inner join prices
        on joined.price_provider = prices.provider
        and joined.model = prices.model
        and joined.day >= prices.effective_from
        and (prices.effective_to is null or joined.day < prices.effective_to)
    group by joined.day, joined.provider, joined.model
),

at_list_price as (
    select
        joined.*,
        list_rates.input_rate is not null as has_list_price,
        coalesce(joined.billed_input_tokens, 0) * list_rates.input_rate
        + coalesce(joined.billed_cached_input_tokens, 0) * list_rates.cached_input_rate
        + coalesce(joined.billed_cache_write_tokens, 0) * list_rates.cache_write_rate
        + coalesce(joined.billed_cache_write_1h_tokens, 0) * list_rates.cache_write_1h_rate
        + coalesce(joined.billed_output_tokens, 0) * list_rates.output_rate as billed_tokens_list_usd,
        joined.logged_input_tokens * list_rates.input_rate
        + joined.logged_cached_input_tokens * list_rates.cached_input_rate
        + joined.logged_cache_write_tokens * list_rates.cache_write_rate
        + joined.logged_cache_write_1h_tokens * list_rates.cache_write_1h_rate
        + joined.logged_output_tokens * list_rates.output_rate as logged_tokens_list_usd
    from joined
    left join list_rates
        on joined.day = list_rates.day
        and joined.provider = list_rates.provider
        and joined.model = list_rates.model
),

measured as (
    select
        *,
        billed_cost_usd - estimated_cost_usd as delta_usd,
        greatest(0.01, 0.005 * abs(billed_cost_usd)) as tolerance_usd,
        has_billed_tokens and has_list_price and billed_cost_usd is not null as is_split
    from at_list_price
),

final as (
    select
        -- grain
        day,
        provider,
        model,
        price_provider,
        billed_models,
        is_model_mapped,

        -- verdict
        case
            when billed_lines = 0 then 'not_billed'
            when not has_fx_rate then 'no_fx_rate'
            when calls = 0 then 'not_logged'
            when abs(delta_usd) <= tolerance_usd then 'ok'
            when delta_usd > 0 then 'billed_above_estimate'
            else 'billed_below_estimate'
        end as status,
        coalesce(abs(delta_usd) <= tolerance_usd, false) as is_within_tolerance,

        -- counts
        cast(calls as bigint) as calls,
        cast(unpriced_calls as bigint) as unpriced_calls,
        cast(billed_lines as bigint) as billed_lines,
        billing_currencies,

        -- money, USD
        cast(estimated_cost_usd as decimal(38, 21)) as estimated_cost_usd,
        cast(billed_cost_usd as decimal(38, 21)) as billed_cost_usd,
        cast(delta_usd as decimal(38, 21)) as delta_usd,
        cast(delta_usd / nullif(billed_cost_usd, 0) as double) as delta_pct,
        cast(tolerance_usd as decimal(38, 21)) as tolerance_usd,
        cast(if(is_split, billed_tokens_list_usd - logged_tokens_list_usd, null) as decimal(38, 21))
            as token_gap_usd,
        cast(if(is_split, billed_cost_usd - billed_tokens_list_usd, null) as decimal(38, 21)) as price_gap_usd,
        cast(if(is_split, logged_tokens_list_usd - estimated_cost_usd, null) as decimal(38, 21)) as residual_usd,

        -- tokens the logs report (response-cache hits left out)
        cast(logged_input_tokens as bigint) as logged_input_tokens,
        cast(logged_cached_input_tokens as bigint) as logged_cached_input_tokens,
        cast(logged_cache_write_tokens as bigint) as logged_cache_write_tokens,
        cast(logged_cache_write_1h_tokens as bigint) as logged_cache_write_1h_tokens,
        cast(logged_output_tokens as bigint) as logged_output_tokens,

        -- tokens the provider billed or counted, where its files say
        billed_input_tokens,
        billed_cached_input_tokens,
        billed_cache_write_tokens,
        billed_cache_write_1h_tokens,
        billed_output_tokens
    from measured
    -- a usage report's tokens without a bill line or a logged call: nothing to reconcile
    where calls > 0 or billed_lines > 0
)

select * from final
