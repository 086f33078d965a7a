-- One row per model call, as loaded: renamed for reading, with the UTC date and the
-- ISO week (Monday 00:00 UTC) the call started in.
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
        cast(timezone('UTC', ts) as date) as call_date

    from calls
)

select * from renamed
