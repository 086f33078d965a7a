-- model:
--   grain: [week, scope_kind, scope, rule]
--   audits:
--     - accepted_values: {column: severity, values: [breach, warning]}
--     - accepted_values: {column: scope_kind, values: [route]}
--     - not_null: [week, scope, rule, limit_value, actual_value, severity]
--
-- One row per (week, route, rule) where the route broke its policy that week
-- (pricing/policy.yaml, loaded into raw.policy_*). A route-week that keeps every rule
-- has no row. The actual is read from the mart that defines it:
--   max_fallback_rate, max_retry_rate, max_premium_share,
--   max_cost_per_completed_action_usd, p95_latency_budget_ms   marts.route_weekly, above the limit
--   min_completion_rate      completed_actions / actions (marts.route_weekly), below the floor
--   max_retries_per_action, max_tool_calls_per_action, max_input_tokens_per_call,
--   max_output_tokens_per_call, allowed_tiers, allowed_models
--                            intermediate.int_policy_call_checks: at least one action or
--                            call over the limit (offending counts them)
--   requires_tool_calling, requires_structured_output, requires_context_window,
--   requires_region          intermediate.int_policy_call_checks: calls on a priced model
--                            the catalog states lacks the capability, or logged outside
--                            the allowed regions (actual = offending calls)
--   <rule>_unknown           the same rules' calls on a model that states nothing on the
--                            capability: always a warning (actual = those calls)
--   lifecycle                a deprecated route that still has actions (actual = actions)
-- Limits and actuals are shown to 9 decimals; the comparison uses the exact values. A
-- route-week without a completed action has no cost per completed action, so only the
-- completion floor can catch it.
with

route_weekly as (
    select * from marts.route_weekly
),

limits as (
    select * from raw.policy_limits where scope_kind = 'route'
),

call_checks as (
    select * from intermediate.int_policy_call_checks
),

policy_routes as (
    select * from raw.policy_routes
),

rates as (
    select
        route_weekly.week,
        route_weekly.route,
        limits.rule,
        limits.limit_value,
        limits.severity,
        limits.policy_version,
        case limits.rule
            when 'max_fallback_rate' then route_weekly.fallback_rate
            when 'max_retry_rate' then route_weekly.retry_rate
            when 'max_premium_share' then route_weekly.premium_share
            when 'p95_latency_budget_ms' then route_weekly.p95_latency_ms
            when 'min_completion_rate' then route_weekly.completed_actions / route_weekly.actions
        end as actual_double,
        route_weekly.cost_per_completed_action_usd
    from route_weekly
    inner join limits on limits.scope = route_weekly.route
    where
        limits.rule in (
            'max_fallback_rate', 'max_retry_rate', 'max_premium_share', 'p95_latency_budget_ms',
            'min_completion_rate', 'max_cost_per_completed_action_usd'
        )
),

rate_violations as (
    select
        week,
        route,
        rule,
        limit_value,
        if(
            rule = 'max_cost_per_completed_action_usd',
            cost_per_completed_action_usd,
            cast(round(actual_double, 9) as decimal(38, 9))
        ) as actual_value,
        cast(null as bigint) as offending,
        cast(null as varchar) as offending_unit,
        severity,
        policy_version
    from rates
    where
        case
            when rule = 'max_cost_per_completed_action_usd' then cost_per_completed_action_usd > limit_value
            when rule = 'min_completion_rate' then actual_double < limit_value
            else actual_double > limit_value
        end
),

call_violations as (
    select
        call_checks.week,
        call_checks.route,
        call_checks.rule,
        limits.limit_value,
        call_checks.actual_value,
        call_checks.offending,
        call_checks.offending_unit,
        if(ends_with(call_checks.rule, '_unknown'), 'warning', limits.severity) as severity,
        limits.policy_version
    from call_checks
    inner join limits
        on limits.scope = call_checks.route
        and limits.rule = regexp_replace(call_checks.rule, '_unknown$', '')
    where call_checks.offending > 0
),

lifecycle_violations as (
    select
        route_weekly.week,
        route_weekly.route,
        'lifecycle' as rule,
        cast(0 as decimal(38, 9)) as limit_value,
        cast(route_weekly.actions as decimal(38, 9)) as actual_value,
        route_weekly.actions as offending,
        'actions' as offending_unit,
        policy_routes.severity,
        policy_routes.policy_version
    from route_weekly
    inner join policy_routes on policy_routes.route = route_weekly.route
    where policy_routes.lifecycle = 'deprecated'
),

final as (
    select
        week,
        'route' as scope_kind,
        route as scope,
        rule,
        cast(limit_value as decimal(38, 9)) as limit_value,
        cast(actual_value as decimal(38, 9)) as actual_value,
        cast(offending as bigint) as offending,
        offending_unit,
        severity,
        policy_version
    from (
        select * from rate_violations
        union all by name
        select * from call_violations
        union all by name
        select * from lifecycle_violations
    ) as violations
)

select * from final
