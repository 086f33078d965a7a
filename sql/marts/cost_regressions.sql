-- model:
--   grain: [week, route]
--   audits:
--     - not_null: [week, route, cost_per_completed_action_prev_usd, cost_per_completed_action_usd, threshold]
--     - expression_is_true: cost_per_completed_action_usd > cost_per_completed_action_prev_usd
--
-- One row per (week, route) whose cost per completed action rose more than the policy's
-- regression_threshold (pricing/policy.yaml; 0.25 without one) over the week before, by
-- more than chance explains: what an engineer opens first. Chance: each week's cost per
-- completed action R = Σ cost / completed over its n actions has the standard error of
-- the ratio estimator, sqrt(Σ (cost_i − R · completed_i)² / (n − 1) / n) / (completed / n)
-- (as in marts.policy_compare), and the rise must exceed 1.96 x sqrt(se_prev² + se²)
-- (change_z > 1.96), so a few expensive actions in a small week are not a regression.
-- Beside the two costs per completed action:
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

-- the route-weeks whose cost per completed action rose past the threshold: the spread of
-- their actions and of the week before is all that is left to compute
risen as (
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

risen_weeks as (
    select week, route from risen
    union
    select week - 7 as week, route from risen
),

action_costs as (
    select actions.week, actions.route, actions.completed, actions.cost_usd
    from intermediate.int_actions as actions
    inner join risen_weeks
        on actions.week = risen_weeks.week
        and actions.route = risen_weeks.route
),

spread as (
    select
        action_costs.week,
        action_costs.route,
        sqrt(
            sum(
                power(
                    coalesce(cast(action_costs.cost_usd as double), 0)
                    - cast(route_weekly.cost_usd as double) / route_weekly.completed_actions
                    * cast(action_costs.completed as integer),
                    2
                )
            ) / nullif(count(*) - 1, 0) / count(*)
        ) / (any_value(route_weekly.completed_actions) / count(*)) as standard_error_usd
    from action_costs
    inner join route_weekly
        on route_weekly.week = action_costs.week
        and route_weekly.route = action_costs.route
    where route_weekly.completed_actions > 0
    group by action_costs.week, action_costs.route
),

paired as (
    select
        risen.*,
        cast(risen.cost_per_completed_action_usd - risen.cost_per_completed_action_prev_usd as double)
        / nullif(sqrt(power(spread_prev.standard_error_usd, 2) + power(spread_curr.standard_error_usd, 2)), 0)
            as change_z
    from risen
    inner join spread as spread_curr
        on spread_curr.week = risen.week
        and spread_curr.route = risen.route
    inner join spread as spread_prev
        on spread_prev.week = risen.week - 7
        and spread_prev.route = risen.route
    -- beyond chance; with no spread at all (every action cost the same), any rise is
    where
        coalesce(
            cast(risen.cost_per_completed_action_usd - risen.cost_per_completed_action_prev_usd as double)
            / nullif(sqrt(power(spread_prev.standard_error_usd, 2) + power(spread_curr.standard_error_usd, 2)), 0),
            1e308
        ) > 1.96
),

ran_weeks as (
    select week, route from paired
    union
    select week - 7 as week, route from paired
),

-- the policy versions and models of the route-week's calls (as int_actions places calls:
-- in the week and route of their action)
ran_calls as (
    select
        rollup.week,
        rollup.route,
        rollup.policy_version,
        rollup.provider || '/' || rollup.model as provider_model
    from intermediate.int_route_week_rollup as rollup
    inner join ran_weeks
        on rollup.week = ran_weeks.week
        and rollup.route = ran_weeks.route
    where rollup.grain = 'calls'
),

ran as (
    select
        week,
        route,
        string_agg(distinct policy_version, ', ' order by policy_version) as policy_versions,
        string_agg(distinct provider_model, ', ' order by provider_model) as models
    from ran_calls
    group by week, route
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
        paired.change_z,

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
