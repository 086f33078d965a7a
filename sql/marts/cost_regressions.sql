-- model:
--   grain: [week, route]
--   audits:
--     - not_null: [week, route, cost_per_completed_action_prev_usd, cost_per_completed_action_usd, threshold]
--     - expression_is_true: cost_per_completed_action_usd > cost_per_completed_action_prev_usd
--
-- One row per (week, route) whose cost per completed action rose more than the policy's
-- regression_threshold (pricing/policy.yaml; 0.25 without one) over the week before:
-- what an engineer opens first. Beside the two costs per completed action:
--   the route's spend change and its two largest parts (marts.spend_deltas, by size)
--   fallback_rate before and after (marts.route_weekly: actions with a fallback / actions)
--   the policy versions and models (provider/model) the route's calls ran, each week
-- A route with no completed action either week has no cost per completed action and
-- cannot regress here (the completion floor of the policy catches it).
with

route_weekly as (
    select * from marts.route_weekly
),

spend_deltas as (
    select * from marts.spend_deltas where grain = 'route'
),

threshold as (
    select coalesce(max(limit_value), 0.25) as threshold
    from raw.policy_limits
    where rule = 'regression_threshold'
),

calls as (
    select
        actions.week,
        actions.route,
        calls.policy_version,
        calls.provider || '/' || calls.model as provider_model
    from intermediate.int_call_costs as calls
    inner join intermediate.int_actions as actions using (action_id)
),

ran as (
    select
        week,
        route,
        string_agg(distinct policy_version, ', ' order by policy_version) as policy_versions,
        string_agg(distinct provider_model, ', ' order by provider_model) as models
    from calls
    group by week, route
),

paired as (
    select
        curr.week,
        curr.route,
        prev.cost_per_completed_action_usd as cost_per_completed_action_prev_usd,
        curr.cost_per_completed_action_usd,
        prev.fallback_rate as fallback_rate_prev,
        curr.fallback_rate,
        threshold.threshold
    from route_weekly as curr
    inner join route_weekly as prev
        on prev.route = curr.route
        and prev.week = curr.week - 7
    cross join threshold
    where
        prev.cost_per_completed_action_usd > 0
        and curr.cost_per_completed_action_usd
        > prev.cost_per_completed_action_usd * (1 + threshold.threshold)
),

parts_long as (
    select week, route, 'volume' as name, volume_usd as usd from spend_deltas
    union all
    select week, route, 'attempts' as name, attempts_usd as usd from spend_deltas
    union all
    select week, route, 'mix' as name, mix_usd as usd from spend_deltas
    union all
    select week, route, 'tokens' as name, tokens_usd as usd from spend_deltas
    union all
    select week, route, 'cache' as name, cache_usd as usd from spend_deltas
    union all
    select week, route, 'price' as name, price_usd as usd from spend_deltas
),

parts as (
    select
        week,
        route,
        name,
        usd,
        row_number() over (partition by week, route order by abs(usd) desc, name) as part_rank
    from parts_long
),

final as (
    select
        -- ids
        paired.week,
        paired.route,

        -- the regression
        paired.cost_per_completed_action_prev_usd,
        paired.cost_per_completed_action_usd,
        cast(paired.cost_per_completed_action_usd as double) / cast(paired.cost_per_completed_action_prev_usd as double)
        - 1 as cost_per_completed_action_change,
        cast(paired.threshold as decimal(38, 9)) as threshold,

        -- why spend moved
        spend_deltas.delta_usd,
        first.name as largest_part,
        first.usd as largest_part_usd,
        second.name as second_part,
        second.usd as second_part_usd,

        -- what changed in the routing
        paired.fallback_rate_prev,
        paired.fallback_rate,
        ran_prev.policy_versions as policy_versions_prev,
        ran_curr.policy_versions,
        ran_prev.models as models_prev,
        ran_curr.models
    from paired
    left join spend_deltas
        on spend_deltas.week = paired.week
        and spend_deltas.route = paired.route
    left join parts as first
        on first.week = paired.week
        and first.route = paired.route
        and first.part_rank = 1
    left join parts as second
        on second.week = paired.week
        and second.route = paired.route
        and second.part_rank = 2
    left join ran as ran_prev
        on ran_prev.week = paired.week - 7
        and ran_prev.route = paired.route
    left join ran as ran_curr
        on ran_curr.week = paired.week
        and ran_curr.route = paired.route
)

select * from final
