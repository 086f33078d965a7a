-- model:
--   materialized: table
--   incremental: {by: week}
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
--                               batch; the long-context threshold of those rates; the
--                               time-of-day window the same local time fell in then; the
--                               web-search fee then; the call's own regional multiplier);
--                               a call whose model had no price then keeps its own cost
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
    select * from staging.stg_prices where window_name is null
),

window_prices as (
    select * from staging.stg_prices where window_name is not null
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
        calls.ts,
        calls.call_date,
        calls.web_search_calls,
        calls.web_search_cost_usd,
        calls.regional_multiplier,
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
        calls.cost_usd,
        calls.call_id
    from calls
    inner join actions using (action_id)
    where calls.is_priced
),

-- the price row in force 7 days before the call (at ts - 7 days), as int_call_costs finds
-- the call's own, then the time-of-day window of that row the same local time falls in
with_prev_period as (
    select
        priced_calls.*,
        prev.effective_from as prev_effective_from,
        prev.long_context_threshold_tokens as prev_long_context_threshold_tokens,
        prev.web_search_usd_per_call as prev_web_search_usd_per_call,
        prev.input_usd_per_token as p_input,
        prev.cached_input_usd_per_token as p_cached_input,
        prev.cache_write_usd_per_token as p_cache_write,
        prev.cache_write_1h_usd_per_token as p_cache_write_1h,
        prev.output_usd_per_token as p_output,
        prev.long_context_input_usd_per_token as p_lc_input,
        prev.long_context_cached_input_usd_per_token as p_lc_cached_input,
        prev.long_context_cache_write_usd_per_token as p_lc_cache_write,
        prev.long_context_cache_write_1h_usd_per_token as p_lc_cache_write_1h,
        prev.long_context_output_usd_per_token as p_lc_output
    from priced_calls
    left join prices as prev
        on prev.provider = priced_calls.price_provider
        and prev.model = priced_calls.price_model
        and prev.service_tier = priced_calls.priced_service_tier
        and prev.is_batch = priced_calls.is_batch
        and priced_calls.ts - interval 7 day >= prev.effective_from
        and (prev.effective_to is null or priced_calls.ts - interval 7 day < prev.effective_to)
),

with_prev_price as (
    select
        with_prev_period.*,
        with_prev_period.prev_effective_from is not null as has_prev_price,
        coalesce(
            with_prev_period.input_tokens > with_prev_period.prev_long_context_threshold_tokens, false
        ) as is_prev_long_context,
        coalesce(win.input_usd_per_token, with_prev_period.p_input) as input_usd_per_token,
        coalesce(win.cached_input_usd_per_token, with_prev_period.p_cached_input) as cached_input_usd_per_token,
        coalesce(win.cache_write_usd_per_token, with_prev_period.p_cache_write) as cache_write_usd_per_token,
        coalesce(win.cache_write_1h_usd_per_token, with_prev_period.p_cache_write_1h)
            as cache_write_1h_usd_per_token,
        coalesce(win.output_usd_per_token, with_prev_period.p_output) as output_usd_per_token,
        coalesce(win.long_context_input_usd_per_token, with_prev_period.p_lc_input)
            as long_context_input_usd_per_token,
        coalesce(win.long_context_cached_input_usd_per_token, with_prev_period.p_lc_cached_input)
            as long_context_cached_input_usd_per_token,
        coalesce(win.long_context_cache_write_usd_per_token, with_prev_period.p_lc_cache_write)
            as long_context_cache_write_usd_per_token,
        coalesce(win.long_context_cache_write_1h_usd_per_token, with_prev_period.p_lc_cache_write_1h)
            as long_context_cache_write_1h_usd_per_token,
        coalesce(win.long_context_output_usd_per_token, with_prev_period.p_lc_output)
            as long_context_output_usd_per_token
    from with_prev_period
    left join window_prices as win
        on with_prev_period.price_provider = win.provider
        and with_prev_period.price_model = win.model
        and with_prev_period.priced_service_tier = win.service_tier
        and with_prev_period.is_batch = win.is_batch
        and with_prev_period.prev_effective_from = win.effective_from
        and list_contains(
            win.window_weekdays, isodow(timezone(win.window_time_zone, with_prev_period.ts - interval 7 day))
        )
        and hour(timezone(win.window_time_zone, with_prev_period.ts - interval 7 day)) * 60
        + minute(timezone(win.window_time_zone, with_prev_period.ts - interval 7 day))
        between win.window_start_minute and win.window_end_minute - 1
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

-- Cost is linear in tokens at fixed rates, so the calls are summed per set of rates
-- before they are priced: exact, as every product of tokens and a rate fits the 21
-- places of the rates. A regional multiplier other than 1 rounds each call's cost to 21
-- places, so those calls keep a group of their own (their call_id) and round as
-- int_call_costs does.
rate_groups as (
    select
        week,
        route,
        provider,
        model,
        is_response_cache_hit,
        not has_prev_price or (web_search_calls > 0 and prev_web_search_usd_per_call is null) as keeps_own_cost,
        prev_rate_input,
        prev_rate_cached_input,
        prev_rate_cache_write,
        prev_rate_cache_write_1h,
        prev_rate_output,
        prev_web_search_usd_per_call,
        regional_multiplier,
        case when regional_multiplier <> 1 then call_id end as rounding_call_id,
        count(*) as calls,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_write_tokens - cache_write_1h_tokens) as cache_write_5m_tokens,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens,
        sum(output_tokens) as output_tokens,
        sum(web_search_calls) as web_search_calls,
        sum(cost_usd) as cost_usd
    from prev_rates
    group by all
),

per_group as (
    select
        week,
        route,
        provider,
        model,
        calls,
        is_response_cache_hit,
        input_tokens,
        cached_input_tokens,
        cost_usd,
        case
            when is_response_cache_hit then 0
            when keeps_own_cost then cost_usd
            else cast(
                    (
                        uncached_input_tokens * prev_rate_input
                        + cached_input_tokens * prev_rate_cached_input
                        + cache_write_5m_tokens * prev_rate_cache_write
                        + cache_write_1h_tokens * prev_rate_cache_write_1h
                        + output_tokens * prev_rate_output
                    ) * regional_multiplier as decimal(38, 21)
                ) + coalesce(web_search_calls * prev_web_search_usd_per_call, 0)
        end as cost_at_prev_prices_usd,
        case
            when is_response_cache_hit then 0
            else cached_input_tokens * (prev_rate_cached_input - prev_rate_input)
        end as cache_rate_gap_cached_usd,
        case
            when is_response_cache_hit then 0
            else input_tokens * (prev_rate_cached_input - prev_rate_input)
        end as cache_rate_gap_input_usd
    from rate_groups
),

final as (
    select
        -- ids
        week,
        route,
        provider,
        model,

        -- counts and tokens
        sum(calls) as calls,
        coalesce(sum(input_tokens) filter (where not is_response_cache_hit), 0) as input_tokens,
        coalesce(sum(cached_input_tokens) filter (where not is_response_cache_hit), 0) as cached_input_tokens,

        -- money
        sum(cost_usd) as cost_usd,
        sum(cost_at_prev_prices_usd) as cost_at_prev_prices_usd,
        sum(cache_rate_gap_cached_usd) as cache_rate_gap_cached_usd,
        sum(cache_rate_gap_input_usd) as cache_rate_gap_input_usd
    from per_group
    group by week, route, provider, model
)

select * from final
