-- model:
--   materialized: table      # read by most marts: computed once per build
--   incremental: {by: week}
--   grain: [action_id]
--   audits_run: on_demand   # one row per action; the weekly rollup's totals are audited at every build
--   audits:
--     - not_null: [route, week, started_at, outcome]
--     - accepted_values: {column: outcome, values: [completed, failed, abandoned]}
--
-- One row per action (every call with one action_id): where it belongs, whether it
-- completed, and what every model that looks at actions needs from its calls, in one
-- pass over the priced calls (a group by action_id over every call is the costliest
-- step of a build: no mart repeats it, and none orders calls within actions).
--
-- An action belongs to the route and ISO week (Monday 00:00 UTC) of its earliest
-- call. Ties between calls that started at the same instant go by value (the
-- alphabetically first route, the last outcome, the first fallback reason), so
-- nothing depends on the order rows were read in.
-- Completed: the router's explicit action_outcome when any call carries one (the
-- latest such call's word); otherwise when at least one primary, retry or fallback
-- call has status ok and quality_passed is not false.
-- The first call's tags (user_tier, workload_class, policy_version) are the action's,
-- 'unspecified' when that call has none (ties by value); first_call_id is the earliest
-- call by (ts, call_id). attempt_chain lists the model tiers of the answer calls
-- (primary, retry, fallback) in (ts, call_id) order, a retry marked '(retry)', a fallback
-- by its reason ('(unspecified)' when none was logged), 'unknown' for a model without a
-- tier; NULL when the action made no answer call. cost_usd is the sum of the priced calls' costs
-- (NULL when none is priced: see unpriced_calls).
with

-- read three times below: scanned each time rather than copied once (every column of
-- every call)
calls as not materialized (
    select
        *,
        -- an answer call as a link of the attempt chain: its model's tier, why it ran
        coalesce(model_tier, 'unknown')
        || case
            when call_role = 'retry' then ' (retry)'
            when call_role = 'fallback' then ' (' || coalesce(fallback_reason, 'unspecified') || ')'
            else ''
        end as attempt
    from intermediate.int_call_costs
),

rolled_up as (
    select
        action_id,
        min(ts) as started_at,
        max(ts) filter (where action_outcome is not null) as last_router_word_at,
        min(ts) filter (where call_role = 'fallback') as first_fallback_at,
        min(call_week) as week,
        bool_or(call_role = 'retry') as has_retry,
        bool_or(call_role = 'fallback') as has_fallback,
        bool_or(
            call_role in ('primary', 'retry', 'fallback')
            and status = 'ok'
            and quality_passed is distinct from false
        ) as has_good_answer,

        -- calls
        count(*) as calls,
        count(*) filter (where call_role = 'retry') as retries,
        count(*) filter (where call_role = 'fallback') as fallbacks,
        count(*) filter (where call_role = 'validation') as validations,
        count(*) filter (where status <> 'ok') as failed_calls,
        count(*) filter (where quality_passed) as quality_passed_calls,
        count(*) filter (where quality_passed is not null) as quality_checked_calls,
        cast(sum(tool_calls) as bigint) as tool_calls,
        count(*) filter (where call_role in ('primary', 'retry', 'fallback')) as answer_calls,
        min(attempt) filter (where call_role in ('primary', 'retry', 'fallback')) as only_attempt,

        -- money
        sum(cost_usd) as cost_usd,
        count(*) filter (where not is_priced) as unpriced_calls,

        -- timestamps
        max(ts) as last_call_at
    from calls
    group by action_id
),

-- ordering calls within an action is costly: only the actions with more than one answer
-- call (a retry or a fallback, about one in ten) need it
-- What the earliest call, the router's latest word and the first fallback said: the calls
-- at those instants, ties by value (plain aggregates of numbers first, then these few calls:
-- much cheaper than ordering structs over every call).
at_instants as (
    select
        calls.action_id,
        min(calls.route) filter (where calls.ts = rolled_up.started_at) as route,
        min(calls.call_id) filter (where calls.ts = rolled_up.started_at) as first_call_id,
        min(coalesce(calls.user_tier, 'unspecified')) filter (where calls.ts = rolled_up.started_at) as user_tier,
        min(coalesce(calls.workload_class, 'unspecified')) filter (where calls.ts = rolled_up.started_at)
            as workload_class,
        min(coalesce(calls.policy_version, 'unspecified')) filter (where calls.ts = rolled_up.started_at)
            as policy_version,
        max(calls.action_outcome) filter (where calls.ts = rolled_up.last_router_word_at) as last_router_word,
        min(coalesce(calls.fallback_reason, 'unspecified')) filter (
            where calls.call_role = 'fallback' and calls.ts = rolled_up.first_fallback_at
        ) as first_fallback_reason
    from calls
    inner join rolled_up
        on calls.action_id = rolled_up.action_id
        and (
            calls.ts = rolled_up.started_at
            or calls.ts = rolled_up.last_router_word_at
            or calls.ts = rolled_up.first_fallback_at
        )
    group by calls.action_id
),

chained as (
    select
        calls.action_id,
        string_agg(calls.attempt, ' → ' order by calls.ts, calls.call_id) as attempt_chain
    from calls
    semi join rolled_up
        on calls.action_id = rolled_up.action_id
        and rolled_up.answer_calls > 1
    where calls.call_role in ('primary', 'retry', 'fallback')
    group by calls.action_id
),

with_outcome as (
    select
        rolled_up.*,
        at_instants.* exclude (action_id),
        coalesce(chained.attempt_chain, rolled_up.only_attempt) as attempt_chain,
        coalesce(
            at_instants.last_router_word,
            case when rolled_up.has_good_answer then 'completed' else 'failed' end
        ) as outcome
    from rolled_up
    inner join at_instants using (action_id)
    left join chained using (action_id)
),

final as (
    select
        -- ids
        action_id,
        route,
        week,
        first_call_id,

        -- the first call's tags
        user_tier,
        workload_class,
        policy_version,

        -- outcome
        outcome,
        last_router_word_at is not null as is_outcome_from_router,
        outcome = 'completed' as completed,
        has_retry,
        has_fallback,
        first_fallback_reason,

        -- calls
        cast(calls as bigint) as calls,
        cast(retries as bigint) as retries,
        cast(fallbacks as bigint) as fallbacks,
        cast(validations as bigint) as validations,
        cast(failed_calls as bigint) as failed_calls,
        cast(quality_passed_calls as bigint) as quality_passed_calls,
        cast(quality_checked_calls as bigint) as quality_checked_calls,
        tool_calls,
        attempt_chain,

        -- money
        cost_usd,
        cast(unpriced_calls as bigint) as unpriced_calls,

        -- timestamps
        started_at,
        last_call_at
    from with_outcome
)

select * from final
