-- model:
--   grain: [provider, model, service_tier, is_batch, effective_from, window_name, window_start_minute]
--   audits:
--     - not_null: [provider, model, service_tier, effective_from, input_usd_per_token, output_usd_per_token]
--     - accepted_range:
--         columns: [input_usd_per_token, cached_input_usd_per_token, cache_write_usd_per_token,
--                   cache_write_1h_usd_per_token, output_usd_per_token]
--         min: 0
--     - expression_is_true: effective_to is null or effective_to > effective_from
--     - expression_is_true: >-
--         (window_name is null) = (window_start_minute is null)
--         and (window_name is null or (window_start_minute < window_end_minute and window_end_minute <= 1440))
--
-- One row per (provider, model, service tier, period, batch or not): the USD rates per
-- token that apply from effective_from (an instant, inclusive) to effective_to
-- (exclusive; NULL = still in force). A period with a time-of-day window has one more
-- row per hour range of the window (window_name set), holding the rates inside it; its
-- effective_from and effective_to are the period's.
--
-- The catalog's rates are per 1M tokens with 9 decimals; a batch row is multiplied by
-- batch_multiplier (6 decimals). Per token that is exactly 21 decimal places, so a
-- call's cost (tokens x rate) is exact: nothing is rounded before display.
with

prices as (
    select * from raw.prices
),

periods as (
    select
        provider,
        model,
        service_tier,
        effective_from,
        lead(effective_from) over (
            partition by provider, model, service_tier order by effective_from
        ) as effective_to
    from prices
    where window_name is null
),

dated as (
    select
        prices.*,
        periods.effective_to
    from prices
    inner join periods using (provider, model, service_tier, effective_from)
),

batch_or_not as (
    select
        dated.*,
        batch.is_batch,
        -- DECIMAL(38, 6): a price times it is computed in 128 bits (18 digits overflow at 1,000 USD)
        cast(case when batch.is_batch then dated.batch_multiplier else 1 end as decimal(38, 6)) as multiplier
    from dated
    cross join (values (false), (true)) as batch (is_batch)
),

per_token as (
    select
        -- ids
        provider,
        model,
        service_tier,
        is_batch,

        -- period, and the time-of-day window within it (NULL: the period's own rates)
        effective_from,
        effective_to,
        window_name,
        window_time_zone,
        window_weekdays,
        window_start_minute,
        window_end_minute,

        -- rates, USD per token
        cast(input_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21)) as input_usd_per_token,
        cast(cached_input_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21)) as cached_input_usd_per_token,
        cast(cache_write_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21)) as cache_write_usd_per_token,
        cast(cache_write_1h_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21))
            as cache_write_1h_usd_per_token,
        cast(output_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21)) as output_usd_per_token,

        -- long context: above the threshold, the whole call at these rates
        long_context_threshold_tokens,
        cast(long_context_input_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21))
            as long_context_input_usd_per_token,
        cast(long_context_cached_input_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21))
            as long_context_cached_input_usd_per_token,
        cast(long_context_cache_write_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21))
            as long_context_cache_write_usd_per_token,
        cast(long_context_cache_write_1h_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21))
            as long_context_cache_write_1h_usd_per_token,
        cast(long_context_output_usd_per_mtok * multiplier * 0.000001 as decimal(38, 21))
            as long_context_output_usd_per_token,

        -- per-request fees, USD per call (not batch-discounted)
        cast(web_search_usd_per_1k * 0.001 as decimal(38, 21)) as web_search_usd_per_call,

        -- lineage
        batch_multiplier,
        source
    from batch_or_not
)

select * from per_token
