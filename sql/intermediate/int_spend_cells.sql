-- model:
--   materialized: table
--   grain: [week, route, provider, model]
--   audits:
--     - not_null: [week, route, provider, model, calls, cost_usd, cost_at_prev_prices_usd]
--     - accepted_range: {columns: [calls, cost_usd, cost_at_prev_prices_usd], min: 0}
--     - reconciles:
--         expression: sum(cost_usd)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(cost_usd)
--         other_where: grain = 'calls'
--
-- One row per (week, route, provider, model): the priced calls of the route-week's
-- actions on one logged model, with what marts.spend_deltas needs to take a week's
-- spend apart. Unpriced calls (no price at their time) are left out: their cost is
-- unknown, so it cannot move.
--
--   cost_usd                    what the calls cost (int_call_costs)
--   cost_at_prev_prices_usd     the same calls, same tokens, at the rates in force 7 days
--                               before each call (same provider, model, service tier,
--                               batch; the long-context threshold of those rates); a call
--                               whose model had no price then keeps its own cost
--   cache_rate_gap_*_usd        Σ tokens x (cached input rate − input rate) at those same
--                               rates, over the cached input tokens and over all input
--                               tokens: cost is linear in cached tokens, so these give
--                               the cost at another cached share exactly
-- Response-cache hits are calls that cost 0 at any price; their tokens are left out of
-- the token sums.
with

calls as (
    select * from intermediate.int_call_costs
),

actions as (
    select action_id, route, week from intermediate.int_actions
),

prices as (
    select * from staging.stg_prices
),

priced_calls as (
    select
        actions.week,
        actions.route,
        calls.provider,
        calls.model,
        calls.price_provider,
        calls.price_model,
        calls.priced_service_tier,
        calls.is_batch,
        calls.call_date,
        calls.is_response_cache_hit,
        calls.input_tokens,
        calls.uncached_input_tokens,
        calls.cached_input_tokens,
        calls.cache_write_tokens,
        calls.cache_write_1h_tokens,
        calls.output_tokens,
        calls.rate_input,
        calls.rate_cached_input,
        calls.rate_cache_write,
        calls.rate_cache_write_1h,
        calls.rate_output,
        calls.cost_usd
    from calls
    inner join actions using (action_id)
    where calls.is_priced
),

-- the price row in force 7 days before the call, as int_call_costs finds the call's own
with_prev_price as (
    select
        priced_calls.*,
        prev.effective_from is not null as has_prev_price,
        coalesce(priced_calls.input_tokens > prev.long_context_threshold_tokens, false) as is_prev_long_context,
        prev.input_usd_per_token,
        prev.cached_input_usd_per_token,
        prev.cache_write_usd_per_token,
        prev.cache_write_1h_usd_per_token,
        prev.output_usd_per_token,
        prev.long_context_input_usd_per_token,
        prev.long_context_cached_input_usd_per_token,
        prev.long_context_cache_write_usd_per_token,
        prev.long_context_cache_write_1h_usd_per_token,
        prev.long_context_output_usd_per_token
    from priced_calls
    left join prices as prev
        on prev.provider = priced_calls.price_provider
        and prev.model = priced_calls.price_model
        and prev.service_tier = priced_calls.priced_service_tier
        and prev.is_batch = priced_calls.is_batch
        and priced_calls.call_date - 7 >= prev.effective_from
        and (prev.effective_to is null or priced_calls.call_date - 7 < prev.effective_to)
),

prev_rates as (
    select
        *,
        case
            when not has_prev_price then rate_input
            when is_prev_long_context then long_context_input_usd_per_token
            else input_usd_per_token
        end as prev_rate_input,
        case
            when not has_prev_price then rate_cached_input
            when is_prev_long_context then long_context_cached_input_usd_per_token
            else cached_input_usd_per_token
        end as prev_rate_cached_input,
        case
            when not has_prev_price then rate_cache_write
            when is_prev_long_context then long_context_cache_write_usd_per_token
            else cache_write_usd_per_token
        end as prev_rate_cache_write,
        case
            when not has_prev_price then rate_cache_write_1h
            when is_prev_long_context then long_context_cache_write_1h_usd_per_token
            else cache_write_1h_usd_per_token
        end as prev_rate_cache_write_1h,
        case
            when not has_prev_price then rate_output
            when is_prev_long_context then long_context_output_usd_per_token
            else output_usd_per_token
        end as prev_rate_output
    from with_prev_price
),

per_call as (
    select
        week,
        route,
        provider,
        model,
        is_response_cache_hit,
        input_tokens,
        cached_input_tokens,
        cost_usd,
        case
            when is_response_cache_hit then 0
            when not has_prev_price then cost_usd
            else uncached_input_tokens * prev_rate_input
                + cached_input_tokens * prev_rate_cached_input
                + (cache_write_tokens - cache_write_1h_tokens) * prev_rate_cache_write
                + cache_write_1h_tokens * prev_rate_cache_write_1h
                + output_tokens * prev_rate_output
        end as cost_at_prev_prices_usd,
        case
            when is_response_cache_hit then 0
            else cached_input_tokens * (prev_rate_cached_input - prev_rate_input)
        end as cache_rate_gap_cached_usd,
        case
            when is_response_cache_hit then 0
            else input_tokens * (prev_rate_cached_input - prev_rate_input)
        end as cache_rate_gap_input_usd
    from prev_rates
),

final as (
    select
        -- ids
        week,
        route,
        provider,
        model,

        -- counts and tokens
        count(*) as calls,
        coalesce(sum(input_tokens) filter (where not is_response_cache_hit), 0) as input_tokens,
        coalesce(sum(cached_input_tokens) filter (where not is_response_cache_hit), 0) as cached_input_tokens,

        -- money
        sum(cost_usd) as cost_usd,
        sum(cost_at_prev_prices_usd) as cost_at_prev_prices_usd,
        sum(cache_rate_gap_cached_usd) as cache_rate_gap_cached_usd,
        sum(cache_rate_gap_input_usd) as cache_rate_gap_input_usd
    from per_call
    group by week, route, provider, model
)

select * from final
