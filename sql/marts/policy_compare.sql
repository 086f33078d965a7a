-- model:
--   incremental: {by: week}
--   grain: [week, route, policy_version]
--   audits:
--     - not_null: [week, route, policy_version, control_version, actions]
--     - accepted_range:
--         columns: [completion_rate, completion_rate_low, completion_rate_high, fallback_rate, fallback_rate_low,
--                   fallback_rate_high, retry_rate, retry_rate_low, retry_rate_high]
--         min: 0
--         max: 1
--     - expression_is_true: fallback_rate_low <= fallback_rate and fallback_rate <= fallback_rate_high
--
-- One row per (week, route, policy_version) on the route-weeks where more than one policy
-- version ran side by side: a canary against its control. An action's version is the
-- policy_version of its earliest call (ties by value; 'unspecified' without one), and all
-- its calls count there. The control is the version with the most actions that
-- route-week (ties: the alphabetically first); every other is a canary.
-- Intervals are 95% (z = 1.96), so a 50-action canary is not over-read:
--   rates (completion, fallback, retry): Wilson score interval
--       centre = (p + z²/2n) / (1 + z²/n), half-width = z / (1 + z²/n) · sqrt(p(1−p)/n + z²/4n²)
--   cost per completed action R = Σ cost / Σ completed over the version's n actions: the
--       ratio estimator's normal approximation, R ± z · sqrt(Σ (cost_i − R · completed_i)² /
--       (n − 1) / n) / (completed / n), its low end at least 0; NULL with fewer than 2
--       actions or none completed. Interval ends are clamped to [0, 1] (rates; exactly 0 or 1 at a
--       rate of 0 or 1, where Wilson's end is), >= 0 (cost).
-- The point estimates are exact; the interval bounds are estimates (computed in DOUBLE,
-- the cost bounds then rounded to DECIMAL 1e-9 USD).
with

calls as (
    select * from intermediate.int_call_costs
),

actions as (
    select * from intermediate.int_actions
),

versioned as (
    select
        week,
        route,
        policy_version,
        action_id,
        completed,
        has_fallback,
        has_retry,
        coalesce(cost_usd, 0) as cost_usd
    from actions
),

side_by_side as (
    select week, route
    from versioned
    group by week, route
    having count(distinct policy_version) > 1
),

by_version as (
    select
        versioned.week,
        versioned.route,
        versioned.policy_version,
        count(*) as actions,
        count(*) filter (where versioned.completed) as completed_actions,
        count(*) filter (where versioned.has_fallback) as actions_with_fallback,
        count(*) filter (where versioned.has_retry) as actions_with_retry,
        sum(versioned.cost_usd) as cost_usd
    from versioned
    inner join side_by_side using (week, route)
    group by versioned.week, versioned.route, versioned.policy_version
),

ratio_spread as (
    select
        versioned.week,
        versioned.route,
        versioned.policy_version,
        -- Σ (cost_i − R · completed_i)² over the version's actions, R its cost per completed action
        sum(
            power(
                cast(versioned.cost_usd as double)
                - cast(by_version.cost_usd as double) / nullif(by_version.completed_actions, 0)
                * cast(versioned.completed as integer),
                2
            )
        ) as residual_sum_of_squares
    from versioned
    inner join by_version using (week, route, policy_version)
    group by versioned.week, versioned.route, versioned.policy_version
),

latency as (
    select
        versioned.week,
        versioned.route,
        versioned.policy_version,
        quantile_cont(calls.latency_ms, 0.95) as p95_latency_ms
    from versioned
    inner join side_by_side using (week, route)
    inner join calls on calls.action_id = versioned.action_id
    where not calls.is_response_cache_hit
    group by versioned.week, versioned.route, versioned.policy_version
),

rates as (
    select
        by_version.*,
        ratio_spread.residual_sum_of_squares,
        latency.p95_latency_ms,
        1.96 as z,
        first_value(by_version.policy_version) over (
            partition by by_version.week, by_version.route
            order by by_version.actions desc, by_version.policy_version asc
        ) as control_version,
        by_version.completed_actions / by_version.actions as completion_rate,
        by_version.actions_with_fallback / by_version.actions as fallback_rate,
        by_version.actions_with_retry / by_version.actions as retry_rate,
        cast(replace(cast(cast(by_version.cost_usd as decimal(38, 21)) as varchar), '.', '') as hugeint) as cost_e21
    from by_version
    inner join ratio_spread using (week, route, policy_version)
    left join latency using (week, route, policy_version)
),

-- Wilson: centre and half-width of each rate's interval
intervals as (
    select
        *,
        (completion_rate + z * z / (2 * actions)) / (1 + z * z / actions) as completion_centre,
        z / (1 + z * z / actions) * sqrt(completion_rate * (1 - completion_rate) / actions + z * z / (4 * actions ** 2))
            as completion_half,
        (fallback_rate + z * z / (2 * actions)) / (1 + z * z / actions) as fallback_centre,
        z / (1 + z * z / actions) * sqrt(fallback_rate * (1 - fallback_rate) / actions + z * z / (4 * actions ** 2))
            as fallback_half,
        (retry_rate + z * z / (2 * actions)) / (1 + z * z / actions) as retry_centre,
        z / (1 + z * z / actions) * sqrt(retry_rate * (1 - retry_rate) / actions + z * z / (4 * actions ** 2))
            as retry_half,
        cast(cost_usd as double) / nullif(completed_actions, 0) as cost_ratio,
        z * sqrt(residual_sum_of_squares / nullif(actions - 1, 0) / actions) / nullif(completed_actions / actions, 0)
            as cost_half
    from rates
),

final as (
    select
        -- ids
        week,
        route,
        policy_version,
        control_version,
        policy_version = control_version as is_control,

        -- counts
        cast(actions as bigint) as actions,
        cast(completed_actions as bigint) as completed_actions,

        -- rates and their 95% Wilson intervals
        completion_rate,
        if(completion_rate = 0, 0, greatest(completion_centre - completion_half, 0)) as completion_rate_low,
        if(completion_rate = 1, 1, least(completion_centre + completion_half, 1)) as completion_rate_high,
        fallback_rate,
        if(fallback_rate = 0, 0, greatest(fallback_centre - fallback_half, 0)) as fallback_rate_low,
        if(fallback_rate = 1, 1, least(fallback_centre + fallback_half, 1)) as fallback_rate_high,
        retry_rate,
        if(retry_rate = 0, 0, greatest(retry_centre - retry_half, 0)) as retry_rate_low,
        if(retry_rate = 1, 1, least(retry_centre + retry_half, 1)) as retry_rate_high,

        -- money: exact cost per completed action (rounded half up to 1e-9); the interval, an
        -- estimate computed in DOUBLE, rounded to 1e-9 USD
        cast(cost_usd as decimal(38, 21)) as cost_usd,
        cast(
            cast(
                (cost_e21 + completed_actions * cast(500000000000 as hugeint))
                // (nullif(completed_actions, 0) * cast(1000000000000 as hugeint))
                as decimal(38, 0)
            ) * 0.000000001 as decimal(38, 9)
        ) as cost_per_completed_action_usd,
        cast(round(greatest(cost_ratio - cost_half, 0), 9) as decimal(38, 9)) as cost_per_completed_action_low_usd,
        cast(round(cost_ratio + cost_half, 9) as decimal(38, 9)) as cost_per_completed_action_high_usd,

        -- latency
        p95_latency_ms
    from intervals
)

select * from final
