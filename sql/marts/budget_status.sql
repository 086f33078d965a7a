-- model:
--   grain: [period_kind, period_start, scope_kind, scope]
--   audits:
--     - accepted_values: {column: period_kind, values: [day, week, month]}
--     - accepted_values: {column: scope_kind, values: [total, tier, team, route]}
--     - not_null: [period_start, period_end, scope, spent_usd, cap_usd, is_breached]
--     - accepted_range: {columns: [spent_usd, cap_usd], min: 0}
--
-- One row per budget and period (pricing/policy.yaml, budgets): what was spent against
-- the cap. Spend is the exact cost of priced calls, counted on the call's own UTC date.
--   day   daily caps: in total, per model tier (the catalog's), per team (the call's
--         tag): every day with calls, for every cap
--   week  route quotas: a route's premium-tier spend against its share of the week's
--         premium spend (cap_usd = quota x the week's premium spend)
--   month the monthly budget: spent so far, and projected_usd = spent / days with data
--         so far x days in the month (a month that ended before the last day with data
--         is complete: projected = spent), rounded down to 1e-9 USD
-- is_breached: spent above the cap. is_projected_over (months): projected above it.
with

-- the priced calls' cost per day, route, tier and team: every sum below adds these up
calls as (
    select call_date, route, model_tier, team, cost_usd from intermediate.int_budget_cells
),

limits as (
    select * from raw.policy_limits
),

days as (
    select distinct call_date from calls
),

daily_caps as (
    select
        'day' as period_kind,
        days.call_date as period_start,
        days.call_date + 1 as period_end,
        limits.scope_kind,
        limits.scope,
        coalesce(sum(calls.cost_usd), 0) as spent_usd,
        any_value(limits.limit_value) as cap_usd,
        cast(null as decimal(38, 21)) as projected_usd
    from days
    cross join limits
    left join calls
        on calls.call_date = days.call_date
        and (
            limits.scope_kind = 'total'
            or (limits.scope_kind = 'tier' and calls.model_tier = limits.scope)
            or (limits.scope_kind = 'team' and calls.team = limits.scope)
        )
    where limits.rule = 'daily_cap_usd'
    group by days.call_date, limits.scope_kind, limits.scope
),

premium_by_route_week as (
    select
        date_trunc('week', call_date) as week,
        route,
        sum(cost_usd) as premium_usd
    from calls
    where model_tier = 'premium'
    group by all
),

route_quotas as (
    select
        'week' as period_kind,
        cast(premium_weeks.week as date) as period_start,
        cast(premium_weeks.week as date) + 7 as period_end,
        'route' as scope_kind,
        limits.scope,
        coalesce(route_premium.premium_usd, 0) as spent_usd,
        cast(limits.limit_value as decimal(18, 9)) * premium_weeks.premium_usd as cap_usd,
        cast(null as decimal(38, 21)) as projected_usd
    from (select week, sum(premium_usd) as premium_usd from premium_by_route_week group by week) as premium_weeks
    cross join limits
    left join premium_by_route_week as route_premium
        on route_premium.week = premium_weeks.week
        and route_premium.route = limits.scope
    where limits.rule = 'premium_spend_quota'
),

data_end as (
    select max(call_date) as last_day from calls
),

months as (
    select
        date_trunc('month', call_date) as month_start,
        sum(cost_usd) as spent_usd,
        max(call_date) as last_day
    from calls
    group by all
),

monthly as (
    select
        'month' as period_kind,
        cast(months.month_start as date) as period_start,
        cast(months.month_start + interval 1 month as date) as period_end,
        'total' as scope_kind,
        'total' as scope,
        months.spent_usd,
        limits.limit_value as cap_usd,
        -- days in the month over days with data so far, in whole 1e-21 USD
        cast(
            cast(
                cast(replace(cast(cast(months.spent_usd as decimal(38, 21)) as varchar), '.', '') as hugeint)
                * date_diff('day', months.month_start, months.month_start + interval 1 month)
                // (
                    if(
                        data_end.last_day >= months.month_start + interval 1 month,
                        date_diff('day', months.month_start, months.month_start + interval 1 month),
                        date_diff('day', months.month_start, months.last_day) + 1
                    )
                    * cast(1000000000000 as hugeint)
                )
                as decimal(38, 0)
            ) * 0.000000001 as decimal(38, 21)
        ) as projected_usd
    from months
    cross join limits
    cross join data_end
    where limits.rule = 'monthly_budget_usd'
),

final as (
    select
        period_kind,
        period_start,
        period_end,
        scope_kind,
        scope,
        cast(spent_usd as decimal(38, 21)) as spent_usd,
        cast(cap_usd as decimal(38, 21)) as cap_usd,
        cast(projected_usd as decimal(38, 21)) as projected_usd,
        spent_usd > cap_usd as is_breached,
        projected_usd > cap_usd as is_projected_over
    from (
        select * from daily_caps
        union all by name
        select * from route_quotas
        union all by name
        select * from monthly
    ) as budgets
)

select * from final
