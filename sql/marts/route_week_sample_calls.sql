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

ranked as (
    select
        week,
        route,
        action_id,
        row_number() over (
            partition by week, route order by cost_usd desc nulls last, action_id asc
        ) as cost_rank,
        md5('routeledger-sample:' || action_id) as draw
    from actions
),

most_expensive as (
    select week, route, action_id, 'most expensive' as sample, cost_rank as sample_rank
    from ranked
    where cost_rank <= 5
),

drawn as (
    select
        week,
        route,
        action_id,
        'random' as sample,
        row_number() over (partition by week, route order by draw, action_id) as sample_rank
    from ranked
    where cost_rank > 5
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
