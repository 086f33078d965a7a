-- model:
--   grain: [call_id]
--   audits_run: on_demand   # one row per logged call: raw.calls reconciles with raw.loads at every build
--
-- One row per model call, as loaded: renamed for reading, with the UTC date and the
-- ISO week (Monday 00:00 UTC) the call started in.
--
-- Dates come from whole days since the epoch: exact for any ts in UTC (ingest keeps ts
-- within 2000..2100, so the division never meets a negative number) and an order of
-- magnitude cheaper than time-zone arithmetic. 1970-01-05 was a Monday.
with

calls as (
    select * from raw.calls
),

renamed as (
    select
        -- ids
        call_id,
        action_id,
        load_id,

        -- routing
        route,
        call_role,
        provider,
        model,
        service_tier,
        status,
        error_type,
        fallback_reason,
        quality_passed,
        action_outcome,

        -- tokens
        input_tokens,
        cached_input_tokens,
        cache_write_tokens,
        cache_write_1h_tokens,
        input_tokens - cached_input_tokens - cache_write_tokens as uncached_input_tokens,
        output_tokens,
        reasoning_tokens,
        tool_calls,
        web_search_calls,

        -- flags
        response_cache_hit as is_response_cache_hit,
        batch as is_batch,

        -- tags
        user_tier,
        workload_class,
        team,
        project,
        feature,
        environment,
        policy_version,
        region,

        -- measures
        latency_ms,
        logged_cost_usd,

        -- timestamps
        ts,
        date '1970-01-01' + cast(epoch_us(ts) // 86400000000 as integer) as call_date,
        date '1970-01-05' + cast(7 * ((epoch_us(ts) // 86400000000 - 4) // 7) as integer) as call_week

    from calls
)

select * from renamed
