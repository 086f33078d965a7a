-- model:
--   incremental: {by: week}
--   grain: [week, route, segment_kind, segment]
--   audits:
--     - accepted_values: {column: segment_kind, values: [user_tier, workload_class]}
--     - expression_is_true: completed_actions <= actions
--     - accepted_range: {columns: [completion_rate, quality_pass_rate, fallback_rate, retry_rate], min: 0, max: 1}
--     - reconciles:
--         expression: sum(actions)
--         where: segment_kind = 'user_tier'
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(actions)
--         other_where: grain = 'actions'
--     - reconciles:
--         expression: coalesce(sum(cost_usd), 0)
--         where: segment_kind = 'workload_class'
--         with: intermediate.int_route_week_rollup
--         other_expression: coalesce(sum(cost_usd), 0)
--         other_where: grain = 'calls'
--
-- One row per (week, route, segment kind, segment): the route's metrics for one cohort,
-- because a route can look fine overall and fail one. Kinds: user_tier and
-- workload_class. An action's segment is the tag of its earliest call (ties by value),
-- 'unspecified' when that call has none; all its calls count there. Within a kind the
-- segments add up to the route-week.
--   completion_rate = completed actions / actions (int_actions' rule)
--   quality_pass_rate = calls with quality_passed true / calls with a quality check
--       (NULL when no call was checked)
--   cost_per_completed_action_usd = cost of all the cohort's calls / its completed
--       actions, rounded half up to 1e-9 USD exactly; NULL when none completed
--   fallback_rate / retry_rate = actions with >= 1 fallback / retry call / actions
--   p95_latency_ms over the cohort's calls, response-cache hits excluded
with

actions as (
    select * from intermediate.int_actions
),

segmented as (
    select
        actions.*,
        segment_kinds.segment_kind,
        if(segment_kinds.segment_kind = 'user_tier', actions.user_tier, actions.workload_class) as segment
    from actions
    cross join (values ('user_tier'), ('workload_class')) as segment_kinds (segment_kind)
),

by_segment as (
    select
        week,
        route,
        segment_kind,
        segment,
        count(*) as actions,
        count(*) filter (where completed) as completed_actions,
        count(*) filter (where has_fallback) as actions_with_fallback,
        count(*) filter (where has_retry) as actions_with_retry,
        sum(calls) as calls,
        sum(unpriced_calls) as unpriced_calls,
        sum(quality_passed_calls) as quality_passed_calls,
        sum(quality_checked_calls) as quality_checked_calls,
        coalesce(sum(cost_usd), 0) as cost_usd
    from segmented
    group by week, route, segment_kind, segment
),

-- both kinds in one pass over the calls
latency_sets as (
    select
        actions.week,
        actions.route,
        actions.user_tier,
        actions.workload_class,
        grouping(actions.user_tier) as is_by_workload_class,
        quantile_cont(calls.latency_ms, 0.95) as p95_latency_ms
    from intermediate.int_call_costs as calls
    inner join actions on calls.action_id = actions.action_id
    where not calls.is_response_cache_hit
    group by grouping sets (
        (actions.week, actions.route, actions.user_tier),
        (actions.week, actions.route, actions.workload_class)
    )
),

latency as (
    select
        week,
        route,
        if(is_by_workload_class = 1, 'workload_class', 'user_tier') as segment_kind,
        if(is_by_workload_class = 1, workload_class, user_tier) as segment,
        p95_latency_ms
    from latency_sets
),

-- exact division: the cost as whole 1e-21 USD, divided in integers, rounded half up to 1e-9
cost_in_units as (
    select
        *,
        cast(replace(cast(cast(cost_usd as decimal(38, 21)) as varchar), '.', '') as hugeint) as cost_e21
    from by_segment
),

final as (
    select
        -- ids
        cost_in_units.week,
        cost_in_units.route,
        cost_in_units.segment_kind,
        cost_in_units.segment,

        -- counts
        cast(cost_in_units.actions as bigint) as actions,
        cast(cost_in_units.completed_actions as bigint) as completed_actions,
        cast(cost_in_units.calls as bigint) as calls,
        cast(cost_in_units.unpriced_calls as bigint) as unpriced_calls,

        -- rates
        cost_in_units.completed_actions / cost_in_units.actions as completion_rate,
        cost_in_units.quality_passed_calls / nullif(cost_in_units.quality_checked_calls, 0) as quality_pass_rate,
        cost_in_units.actions_with_fallback / cost_in_units.actions as fallback_rate,
        cost_in_units.actions_with_retry / cost_in_units.actions as retry_rate,

        -- money
        cast(cost_in_units.cost_usd as decimal(38, 21)) as cost_usd,
        cast(
            cast(
                (cost_in_units.cost_e21 + cost_in_units.completed_actions * cast(500000000000 as hugeint))
                // (nullif(cost_in_units.completed_actions, 0) * cast(1000000000000 as hugeint))
                as decimal(38, 0)
            ) * 0.000000001 as decimal(38, 9)
        ) as cost_per_completed_action_usd,

        -- latency
        latency.p95_latency_ms
    from cost_in_units
    left join latency
        on latency.week = cost_in_units.week
        and latency.route = cost_in_units.route
        and latency.segment_kind = cost_in_units.segment_kind
        and latency.segment = cost_in_units.segment
)

select * from final
