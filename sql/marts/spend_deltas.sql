-- model:
--   grain: [week, grain, route, provider, model]
--   audits:
--     - accepted_values: {column: grain, values: [total, route, route_model]}
--     - not_null: [week, grain, spend_prev_usd, spend_curr_usd, delta_usd]
--     - expression_is_true: spend_curr_usd - spend_prev_usd = delta_usd
--     - expression_is_true: >-
--         volume_usd + attempts_usd + mix_usd + tokens_usd + cache_usd + price_usd = delta_usd
--     - expression_is_true: (grain = 'total') = (route is null)
--     - expression_is_true: (grain = 'route_model') = (model is not null)
--
-- One row per week and grain: the week's spend against the previous week's, and the
-- change taken apart into six parts that add up to it exactly.
--   grain 'route_model'  one row per (route, provider, model) used in either week
--   grain 'route'        one per route (model NULL): the sum of its route_model rows
--   grain 'total'        one per week (route NULL): the sum of the route rows
-- Spend is the cost of the priced calls of the route-week's actions (marts.route_weekly's
-- cost_usd). Weeks run from the second week with data to the last, gaps included.
--
-- Method: sequential substitution in a fixed order. A route's spend is
--   actions x calls per action x Σ_model (share of calls x cost per call),
-- and a model's cost per call depends on its tokens per call, its cached share of input
-- and its prices. Starting from last week's spend, each factor in turn takes this
-- week's value; each part is the change in spend that step makes:
--   L0 spend_prev                                   (per model m: cost_prev_m)
--   L1 volume    actions now                        cost_prev_m x actions_curr / actions_prev
--   L2 attempts  calls per action now               cost_prev_m x calls_curr / calls_prev (route's calls)
--   L3 mix       each model's share of calls now    cost_prev_m x calls_curr_m / calls_prev_m
--   L4 tokens    this week's calls and tokens, last week's cached share of input and prices
--   L5 cache     this week's cached share             = this week's calls at last week's prices
--   L6 price     this week's prices                 = spend_curr
-- so volume = L1 − L0, attempts = L2 − L1, mix = L3 − L2, tokens = L4 − L3,
-- cache = L5 − L4, price = L6 − L5. "Last week's prices" are the rates in force 7 days
-- before each call (int_spend_cells), so a call that crosses a long-context threshold
-- because it carries more tokens moves tokens_usd, not price_usd. Response-cache hits
-- cost 0, so more of them lower the cost per call: tokens_usd.
-- What appears or disappears:
--   a route with no priced call last week: its whole spend is volume_usd
--   a route with no priced call this week: its whole previous spend is volume_usd (−)
--   a model new to a route that ran last week: its whole spend is mix_usd
--   a model a route stopped using: its whole previous spend is mix_usd (−) (after the
--       volume and attempts steps scaled it)
-- Exactness: every level is a whole number of 1e-21 USD (hugeint), ratios are taken by
-- integer division (truncated), and each part is a difference of two levels, so the six
-- parts add up to delta_usd exactly, at every grain.
with

cells as (
    select * from intermediate.int_spend_cells
),

route_actions as (
    select week, route, count(*) as actions from intermediate.int_actions group by week, route
),

weeks as (
    select unnest(cast(generate_series(min(week) + 7, max(week), interval 7 day) as date[])) as week
    from route_actions
),

-- every (route, provider, model) with priced calls in a week or the week before it
cell_keys as (
    select weeks.week, cells.route, cells.provider, cells.model
    from weeks inner join cells on cells.week = weeks.week
    union
    select weeks.week, cells.route, cells.provider, cells.model
    from weeks inner join cells on cells.week = weeks.week - 7
),

paired as (
    select
        cell_keys.week,
        cell_keys.route,
        cell_keys.provider,
        cell_keys.model,
        coalesce(prev.calls, 0) as calls_prev,
        coalesce(curr.calls, 0) as calls_curr,
        coalesce(prev.cost_usd, 0) as cost_prev_usd,
        coalesce(curr.cost_usd, 0) as cost_curr_usd,
        coalesce(curr.cost_at_prev_prices_usd, 0) as cost_curr_at_prev_prices_usd,
        coalesce(curr.cache_rate_gap_cached_usd, 0) as cache_rate_gap_cached_usd,
        coalesce(curr.cache_rate_gap_input_usd, 0) as cache_rate_gap_input_usd,
        coalesce(prev.input_tokens, 0) as input_tokens_prev,
        coalesce(prev.cached_input_tokens, 0) as cached_input_tokens_prev
    from cell_keys
    left join cells as curr
        on curr.week = cell_keys.week
        and curr.route = cell_keys.route
        and curr.provider = cell_keys.provider
        and curr.model = cell_keys.model
    left join cells as prev
        on prev.week = cell_keys.week - 7
        and prev.route = cell_keys.route
        and prev.provider = cell_keys.provider
        and prev.model = cell_keys.model
),

with_route as (
    select
        paired.*,
        sum(paired.calls_prev) over route_week as route_calls_prev,
        sum(paired.calls_curr) over route_week as route_calls_curr,
        coalesce(actions_prev.actions, 0) as actions_prev,
        coalesce(actions_curr.actions, 0) as actions_curr
    from paired
    left join route_actions as actions_prev
        on actions_prev.week = paired.week - 7
        and actions_prev.route = paired.route
    left join route_actions as actions_curr
        on actions_curr.week = paired.week
        and actions_curr.route = paired.route
    window route_week as (partition by paired.week, paired.route)
),

-- money as whole numbers of 1e-21 USD (DECIMAL(38, 21) has exactly 21 decimals)
in_units as (
    select
        *,
        cast(replace(cast(cast(cost_prev_usd as decimal(38, 21)) as varchar), '.', '') as hugeint) as prev_e21,
        cast(replace(cast(cast(cost_curr_usd as decimal(38, 21)) as varchar), '.', '') as hugeint) as curr_e21,
        cast(
            replace(cast(cast(cost_curr_at_prev_prices_usd as decimal(38, 21)) as varchar), '.', '') as hugeint
        ) as curr_at_prev_prices_e21,
        cast(
            replace(cast(cast(cache_rate_gap_cached_usd as decimal(38, 21)) as varchar), '.', '') as hugeint
        ) as gap_cached_e21,
        cast(
            replace(cast(cast(cache_rate_gap_input_usd as decimal(38, 21)) as varchar), '.', '') as hugeint
        ) as gap_input_e21
    from with_route
),

levels as (
    select
        *,
        route_calls_prev = 0 as is_new_route,
        calls_prev = 0 as is_new_model,
        prev_e21 as level_0,
        case
            when route_calls_prev = 0 then curr_e21
            else prev_e21 * actions_curr // actions_prev
        end as level_1,
        case
            when route_calls_prev = 0 then curr_e21
            else prev_e21 * route_calls_curr // route_calls_prev
        end as level_2,
        case
            when calls_prev = 0 then curr_e21
            else prev_e21 * calls_curr // calls_prev
        end as level_3,
        case
            when calls_prev = 0 then curr_e21
            -- cost at last week's cached share: cached tokens become input x cached_prev / input_prev
            when input_tokens_prev = 0 then curr_at_prev_prices_e21 - gap_cached_e21
            else
                curr_at_prev_prices_e21 - gap_cached_e21
                + gap_input_e21 * cached_input_tokens_prev // input_tokens_prev
        end as level_4,
        case
            when calls_prev = 0 then curr_e21
            else curr_at_prev_prices_e21
        end as level_5,
        curr_e21 as level_6
    from in_units
),

route_model_rows as (
    select
        week,
        'route_model' as grain,
        route,
        provider,
        model,
        actions_prev,
        actions_curr,
        calls_prev,
        calls_curr,
        level_0 as spend_prev_e21,
        level_6 as spend_curr_e21,
        level_1 - level_0 as volume_e21,
        level_2 - level_1 as attempts_e21,
        level_3 - level_2 as mix_e21,
        level_4 - level_3 as tokens_e21,
        level_5 - level_4 as cache_e21,
        level_6 - level_5 as price_e21
    from levels
),

route_rows as (
    select
        week,
        'route' as grain,
        route,
        null as provider,
        null as model,
        any_value(actions_prev) as actions_prev,
        any_value(actions_curr) as actions_curr,
        sum(calls_prev) as calls_prev,
        sum(calls_curr) as calls_curr,
        sum(spend_prev_e21) as spend_prev_e21,
        sum(spend_curr_e21) as spend_curr_e21,
        sum(volume_e21) as volume_e21,
        sum(attempts_e21) as attempts_e21,
        sum(mix_e21) as mix_e21,
        sum(tokens_e21) as tokens_e21,
        sum(cache_e21) as cache_e21,
        sum(price_e21) as price_e21
    from route_model_rows
    group by week, route
),

total_rows as (
    select
        weeks.week,
        'total' as grain,
        null as route,
        null as provider,
        null as model,
        coalesce(sum(route_rows.actions_prev), 0) as actions_prev,
        coalesce(sum(route_rows.actions_curr), 0) as actions_curr,
        coalesce(sum(route_rows.calls_prev), 0) as calls_prev,
        coalesce(sum(route_rows.calls_curr), 0) as calls_curr,
        coalesce(sum(route_rows.spend_prev_e21), 0) as spend_prev_e21,
        coalesce(sum(route_rows.spend_curr_e21), 0) as spend_curr_e21,
        coalesce(sum(route_rows.volume_e21), 0) as volume_e21,
        coalesce(sum(route_rows.attempts_e21), 0) as attempts_e21,
        coalesce(sum(route_rows.mix_e21), 0) as mix_e21,
        coalesce(sum(route_rows.tokens_e21), 0) as tokens_e21,
        coalesce(sum(route_rows.cache_e21), 0) as cache_e21,
        coalesce(sum(route_rows.price_e21), 0) as price_e21
    from weeks
    left join route_rows on route_rows.week = weeks.week
    group by weeks.week
),

all_rows as (
    select * from route_model_rows
    union all
    select * from route_rows
    union all
    select * from total_rows
),

final as (
    select
        -- ids
        week,
        grain,
        cast(route as varchar) as route,
        cast(provider as varchar) as provider,
        cast(model as varchar) as model,

        -- counts
        cast(actions_prev as bigint) as actions_prev,
        cast(actions_curr as bigint) as actions_curr,
        cast(calls_prev as bigint) as calls_prev,
        cast(calls_curr as bigint) as calls_curr,

        -- money: 1e-21 USD units back to DECIMAL(38, 21), exactly
        cast(cast(spend_prev_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21))
            as spend_prev_usd,
        cast(cast(spend_curr_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21))
            as spend_curr_usd,
        cast(cast(spend_curr_e21 - spend_prev_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21))
            as delta_usd,
        cast(cast(volume_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21)) as volume_usd,
        cast(cast(attempts_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21)) as attempts_usd,
        cast(cast(mix_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21)) as mix_usd,
        cast(cast(tokens_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21)) as tokens_usd,
        cast(cast(cache_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21)) as cache_usd,
        cast(cast(price_e21 as decimal(38, 0)) * 0.000000000000000000001 as decimal(38, 21)) as price_usd
    from all_rows
)

select * from final
