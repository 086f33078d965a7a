-- model:
--   grain: [week]
--   audits:
--     - not_null: [week, actions, completed_actions, calls, routes]
--     - expression_is_true: completed_actions <= actions
--     - expression_is_true: is_cost_complete = (unpriced_calls = 0)
--     - reconciles:
--         expression: sum(cost_usd)
--         with: marts.route_weekly
--         other_expression: sum(cost_usd)
--     - reconciles:
--         expression: sum(actions)
--         with: marts.route_weekly
--         other_expression: sum(actions)
--
-- One row per week, all routes together: the Weekly review's headline figures and their
-- change against the week before (what the page and `routeledger report` show; they
-- compute nothing themselves). Counts and money add up over marts.route_weekly; a rate
-- is its numerator over its denominator across the routes, as route_weekly defines it:
--   completion_rate = completed actions / actions
--   fallback_rate / retry_rate = actions with >= 1 fallback / retry call / actions
--   premium_share = calls on premium-tier models / calls
--   error_rate = calls with a status other than ok / calls
--   cached_token_share = cached input tokens / input tokens (response-cache hits excluded)
-- route_weekly's rates are count / denominator, so rate x denominator, rounded, is the
-- count again. cost_per_completed_action_usd = spend / completed actions, exactly rounded
-- to 1e-9 USD as in marts.route_weekly. A p95 latency over all routes cannot be added up
-- from the routes' p95s: worst_route_p95_latency_ms is the highest of them.
-- Each *_change is this week's figure minus that of the week before (week - 7 days),
-- NULL when that week has no data; for rates, a difference of shares (0.01 = 1 pp).
with

route_weekly as (
    select * from marts.route_weekly
),

totals as (
    select
        week,
        count(*) as routes,
        sum(actions) as actions,
        sum(completed_actions) as completed_actions,
        sum(calls) as calls,
        sum(unpriced_calls) as unpriced_calls,
        sum(error_calls) as error_calls,
        sum(round(fallback_rate * actions)) as actions_with_fallback,
        sum(round(retry_rate * actions)) as actions_with_retry,
        sum(round(premium_share * calls)) as premium_calls,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(cost_usd) as cost_usd,
        sum(cache_savings_usd) as cache_savings_usd,
        max(p95_latency_ms) as worst_route_p95_latency_ms
    from route_weekly
    group by week
),

-- The exact division of marts.route_weekly: the spend as a whole number of 1e-21 USD,
-- divided in integers, rounded half away from zero to 1e-9 USD.
cost_in_units as (
    select
        week,
        completed_actions,
        cast(floor(cost_usd) as hugeint) * cast('1000000000000000000000' as hugeint)
        + cast(floor((cost_usd - floor(cost_usd)) * 1000000000) as hugeint) * 1000000000000
        + cast(
            (
                (cost_usd - floor(cost_usd)) * 1000000000
                - floor((cost_usd - floor(cost_usd)) * 1000000000)
            ) * 1000000000000 as hugeint
        ) as cost_e21
    from totals
),

cost_per_action as (
    select
        week,
        cast(
            cast(
                (cost_e21 + completed_actions * cast(500000000000 as hugeint))
                // (nullif(completed_actions, 0) * cast(1000000000000 as hugeint))
                as decimal(38, 0)
            ) * 0.000000001 as decimal(38, 9)
        ) as cost_per_completed_action_usd
    from cost_in_units
),

figures as (
    select
        totals.week,

        -- counts
        cast(totals.routes as bigint) as routes,
        cast(totals.actions as bigint) as actions,
        cast(totals.completed_actions as bigint) as completed_actions,
        cast(totals.calls as bigint) as calls,
        cast(totals.unpriced_calls as bigint) as unpriced_calls,

        -- money
        totals.cost_usd,
        totals.unpriced_calls = 0 as is_cost_complete,
        cost_per_action.cost_per_completed_action_usd,
        totals.cache_savings_usd,

        -- rates
        totals.completed_actions / totals.actions as completion_rate,
        totals.actions_with_fallback / totals.actions as fallback_rate,
        totals.actions_with_retry / totals.actions as retry_rate,
        totals.premium_calls / totals.calls as premium_share,
        totals.error_calls / totals.calls as error_rate,
        totals.cached_input_tokens / nullif(totals.input_tokens, 0) as cached_token_share,

        -- latency
        totals.worst_route_p95_latency_ms
    from totals
    left join cost_per_action using (week)
),

final as (
    select
        this_week.*,

        -- week over week
        this_week.cost_usd - last_week.cost_usd as cost_change_usd,
        this_week.actions - last_week.actions as actions_change,
        this_week.unpriced_calls - last_week.unpriced_calls as unpriced_calls_change,
        this_week.cost_per_completed_action_usd
        - last_week.cost_per_completed_action_usd as cost_per_completed_action_change_usd,
        this_week.cache_savings_usd - last_week.cache_savings_usd as cache_savings_change_usd,
        this_week.completion_rate - last_week.completion_rate as completion_rate_change,
        this_week.fallback_rate - last_week.fallback_rate as fallback_rate_change,
        this_week.retry_rate - last_week.retry_rate as retry_rate_change,
        this_week.premium_share - last_week.premium_share as premium_share_change,
        this_week.error_rate - last_week.error_rate as error_rate_change,
        this_week.cached_token_share - last_week.cached_token_share as cached_token_share_change,
        this_week.worst_route_p95_latency_ms
        - last_week.worst_route_p95_latency_ms as worst_route_p95_latency_change_ms
    from figures as this_week
    left join figures as last_week on last_week.week = this_week.week - interval 7 day
)

select * from final
