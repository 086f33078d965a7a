-- One row per action: every call made for one user-level task (retries, fallbacks,
-- validation, tool and classifier calls included), what it cost, and whether it
-- completed. An action belongs to the route and ISO week (Monday 00:00 UTC) of its
-- earliest call (ties broken by call_id); this model is where that is decided.
--
-- Completed: the router's explicit action_outcome when any call carries one (the
-- latest such call's word); otherwise when at least one primary, retry or fallback
-- call has status ok and quality_passed is not false.
with

calls as (
    select * from intermediate.int_call_costs
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
        -- the earliest call, and what it says about the action
        min({
            'ts': ts, 'call_id': call_id, 'route': route, 'policy_version': policy_version,
            'team': team, 'feature': feature, 'user_tier': user_tier
        }) as first_call,

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

        -- timestamps
        max(ts) as last_call_at
    from calls
    group by action_id
),

with_outcome as (
    select
        rolled_up.action_id,
        rolled_up.first_call.route as route,
        cast(date_trunc('week', timezone('UTC', rolled_up.first_call.ts)) as date) as week,
        rolled_up.* exclude (action_id, first_call, has_good_answer),
        rolled_up.first_call.policy_version as policy_version,
        rolled_up.first_call.team as team,
        rolled_up.first_call.feature as feature,
        rolled_up.first_call.user_tier as user_tier,
        rolled_up.first_call.ts as started_at,
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
