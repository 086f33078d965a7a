-- model:
--   incremental: {by: week}
--   grain: [week, route, action_id, call_seq]
--   audits:
--     - accepted_values: {column: sample, values: [most expensive, random]}
--     - expression_is_true: sample_rank between 1 and 5
--     - expression_is_true: call_seq >= 1
--
-- One row per call of the actions the Regression debugger shows for a (week, route):
-- the route-week's 5 most expensive actions, and 5 more drawn at random among the
-- others, each with its whole call chain, call by call, in the order the calls started.
--
-- The random draw is seeded, so every build draws the same actions from the same data:
-- actions are ordered by md5('routeledger-sample:' || action_id), a hash no version of
-- DuckDB computes differently. An action among the most expensive is not drawn again.
-- Most expensive: by cost, the unpriced (NULL cost) last, ties by action_id.
with

actions as (
    select * from intermediate.int_actions
),

calls as (
    select * from intermediate.int_call_costs
),

-- Ranking every action of a route-week is most of this model's work, so each ranking
-- first keeps candidates that must hold its top 5, and ranks the whole route-week only
-- when too few are kept; the result is the same.
-- - By cost: the actions at or above the route-week's mean + 2 standard deviations. With
--   5 of them or more, no action below can rank in the top 5.
-- - By draw: the actions whose hash starts with 0, about a sixteenth. With 10 of them or
--   more, at least 5 are not among the most expensive, and every other hash sorts after them.
drawn_actions as materialized (
    select
        week,
        route,
        action_id,
        cost_usd,
        md5('routeledger-sample:' || action_id) as draw
    from actions
),

cost_floors as (
    select
        week,
        route,
        avg(cost_usd) + 2 * coalesce(stddev_pop(cost_usd), 0) as cost_floor
    from drawn_actions
    group by week, route
),

route_weeks as (
    select
        cost_floors.week,
        cost_floors.route,
        cost_floors.cost_floor,
        count(*) filter (where drawn_actions.cost_usd >= cost_floors.cost_floor) >= 5 as keeps_cost_candidates,
        count(*) filter (where drawn_actions.draw < '1') >= 10 as keeps_draw_candidates
    from drawn_actions
    inner join cost_floors
        on drawn_actions.week = cost_floors.week
        and drawn_actions.route = cost_floors.route
    group by cost_floors.week, cost_floors.route, cost_floors.cost_floor
),

candidates as (
    select
        drawn_actions.*,
        not route_weeks.keeps_cost_candidates or drawn_actions.cost_usd >= route_weeks.cost_floor
            as is_cost_candidate,
        not route_weeks.keeps_draw_candidates or drawn_actions.draw < '1' as is_draw_candidate
    from drawn_actions
    inner join route_weeks
        on drawn_actions.week = route_weeks.week
        and drawn_actions.route = route_weeks.route
),

cost_ranked as (
    select
        week,
        route,
        action_id,
        row_number() over (
            partition by week, route order by cost_usd desc nulls last, action_id asc
        ) as cost_rank
    from candidates
    where is_cost_candidate
),

most_expensive as (
    select week, route, action_id, 'most expensive' as sample, cost_rank as sample_rank
    from cost_ranked
    where cost_rank <= 5
),

drawn as (
    select
        candidates.week,
        candidates.route,
        candidates.action_id,
        'random' as sample,
        row_number() over (
            partition by candidates.week, candidates.route order by candidates.draw, candidates.action_id
        ) as sample_rank
    from candidates
    left join most_expensive on candidates.action_id = most_expensive.action_id
    where candidates.is_draw_candidate and most_expensive.action_id is null
),

sampled as (
    select * from most_expensive
    union all
    select * from drawn where sample_rank <= 5
),

-- the calls of the sampled actions alone, in the order they started
sampled_calls as (
    select
        calls.*,
        cast(row_number() over (partition by calls.action_id order by calls.ts, calls.call_id) as integer)
            as call_seq
    from calls
    semi join sampled on calls.action_id = sampled.action_id
),

chains as (
    select
        action_id,
        string_agg(model, ' > ' order by call_seq) as model_chain
    from sampled_calls
    group by action_id
),

final as (
    select
        -- ids
        sampled.week,
        sampled.route,
        sampled.sample,
        cast(sampled.sample_rank as integer) as sample_rank,
        sampled.action_id,
        calls.call_seq,
        calls.call_id,

        -- the action
        actions.outcome as action_outcome,
        chains.model_chain as action_model_chain,
        actions.cost_usd as action_cost_usd,

        -- the call
        calls.call_role,
        calls.provider,
        calls.model,
        calls.model_tier,
        calls.status,
        calls.error_type,
        calls.fallback_reason,
        calls.input_tokens,
        calls.cached_input_tokens,
        calls.output_tokens,
        calls.cost_usd,
        calls.latency_ms,
        calls.ts
    from sampled
    inner join actions on sampled.action_id = actions.action_id
    inner join chains on sampled.action_id = chains.action_id
    inner join sampled_calls as calls on sampled.action_id = calls.action_id
)

select * from final
