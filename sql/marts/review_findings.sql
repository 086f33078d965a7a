-- model:
--   grain: [week, kind, subject]
--   audits:
--     - not_null: [week, kind, subject, detail]
--     - accepted_values:
--         column: kind
--         values: [policy_breach, cost_regression, canary, reconciliation]
--     - reconciles:
--         expression: count(*) filter (where kind = 'cost_regression')
--         with: marts.cost_regressions
--         other_expression: count(*)
--     - reconciles:
--         expression: coalesce(sum(subject_count) filter (where kind = 'reconciliation'), 0)
--         with: marts.reconciliation_weekly
--         other_expression: coalesce(sum(model_days_out_of_tolerance), 0)
--
-- One row per (week, kind of finding, route or provider): what the Weekly review points at,
-- in every week, so the page can list the weeks worth opening and link to the page that
-- explains each finding. Kinds, from the marts that define them:
--   policy_breach   a route broke a rule of its policy (marts.policy_violations, severity
--                   breach); detail: the rules, subject_count: how many
--   cost_regression a route's cost per completed action rose past its threshold
--                   (marts.cost_regressions); detail: the change; subject_count: 1
--   canary          a route ran another policy version beside its control
--                   (marts.policy_compare); detail: the versions, subject_count: their actions.
--                   Calls that logged no policy version ('unspecified') make no canary.
--   reconciliation  a provider's bill is out of tolerance on some model-days
--                   (marts.reconciliation_weekly); subject_count: those model-days
with

violations as (
    select * from marts.policy_violations
),

regressions as (
    select * from marts.cost_regressions
),

compare as (
    select * from marts.policy_compare
),

reconciliation as (
    select * from marts.reconciliation_weekly
),

breaches as (
    select
        week,
        'policy_breach' as kind,
        scope as subject,
        count(*) as subject_count,
        'breached ' || string_agg(rule, ', ' order by rule) as detail
    from violations
    where severity = 'breach'
    group by week, scope
),

cost_regressions as (
    select
        week,
        'cost_regression' as kind,
        route as subject,
        1 as subject_count,
        -- text both engines write alike (the models run on Spark too): no format strings
        'cost per completed action '
        || if(cost_per_completed_action_change >= 0, '+', '')
        || cast(cast(round(cost_per_completed_action_change * 100) as bigint) as varchar)
        || '% against the week before' as detail
    from regressions
),

canaries as (
    select
        week,
        'canary' as kind,
        route as subject,
        sum(actions) as subject_count,
        string_agg(policy_version, ', ' order by policy_version)
        || ' beside the control ' || any_value(control_version) as detail
    from compare
    where
        not is_control
        and policy_version != 'unspecified'
        and control_version != 'unspecified'
    group by week, route
),

out_of_tolerance as (
    select
        week,
        'reconciliation' as kind,
        provider as subject,
        model_days_out_of_tolerance as subject_count,
        model_days_out_of_tolerance || ' model-days out of tolerance, billed - estimated '
        || cast(cast(round(coalesce(delta_usd, 0), 2) as decimal(38, 2)) as varchar) || ' USD' as detail
    from reconciliation
    where model_days_out_of_tolerance > 0
),

findings as (
    select * from breaches
    union all
    select * from cost_regressions
    union all
    select * from canaries
    union all
    select * from out_of_tolerance
),

final as (
    select
        week,
        kind,
        subject,
        cast(subject_count as bigint) as subject_count,
        detail
    from findings
)

select * from final
