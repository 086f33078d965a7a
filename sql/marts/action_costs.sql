-- One row per action: every call made for one user-level task (retries, fallbacks,
-- validation, tool and classifier calls included), what it cost, and whether it
-- completed.
--
-- Completed: the router's explicit action_outcome when any call carries one (the
-- latest such call's word); otherwise when at least one primary, retry or fallback
-- call has status ok and quality_passed is not false.
with

calls as (
    select * from marts.call_costs
),

router_outcomes as (
    select
        action_id,
        arg_max(action_outcome, (ts, call_id)) as router_outcome
    from calls
    where action_outcome is not null
    group by action_id
),

rolled_up as (
    select
        -- ids
        action_id,
        any_value(route) as route,
        any_value(week) as week,

        -- calls
        count(*) as calls,
        count(*) filter (where call_role = 'retry') as retries,
        count(*) filter (where call_role = 'fallback') as fallbacks,
        count(*) filter (where call_role = 'validation') as validations,
        count(*) filter (where status <> 'ok') as failed_calls,
        sum(tool_calls) as tool_calls,
        string_agg(model, ' > ' order by ts, call_id) as model_chain,
        bool_or(
            call_role in ('primary', 'retry', 'fallback')
            and status = 'ok'
            and quality_passed is distinct from false
        ) as has_good_answer,

        -- money
        sum(cost_usd) as cost_usd,
        count(*) filter (where not is_priced) as unpriced_calls,

        -- tags of the first call
        arg_min(policy_version, (ts, call_id)) as policy_version,
        arg_min(team, (ts, call_id)) as team,
        arg_min(feature, (ts, call_id)) as feature,
        arg_min(user_tier, (ts, call_id)) as user_tier,

        -- timestamps
        min(ts) as started_at,
        max(ts) as last_call_at
    from calls
    group by action_id
),

with_outcome as (
    select
        rolled_up.* exclude (has_good_answer),
        coalesce(router_outcomes.router_outcome, case when has_good_answer then 'completed' else 'failed' end)
            as outcome,
        router_outcomes.router_outcome is not null as is_outcome_from_router
    from rolled_up
    left join router_outcomes using (action_id)
),

final as (
    select
        *,
        outcome = 'completed' as completed,
        retries > 0 as has_retry,
        fallbacks > 0 as has_fallback
    from with_outcome
)

select * from final
