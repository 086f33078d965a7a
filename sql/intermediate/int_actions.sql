-- model:
--   materialized: table      # read by most marts: computed once per build
--   incremental: {by: week}
--   grain: [action_id]
--   audits_run: on_demand   # one row per action; the weekly rollup's totals are audited at every build
--   audits:
--     - not_null: [route, week, started_at, outcome]
--     - accepted_values: {column: outcome, values: [completed, failed, abandoned]}
--
-- One row per action (every call with one action_id): where it belongs and whether it
-- completed. Read from the calls as logged, so no price is computed here.
--
-- An action belongs to the route and ISO week (Monday 00:00 UTC) of its earliest
-- call. Ties between calls that started at the same instant go by value (the
-- alphabetically first route, the last outcome, the first fallback reason), so
-- nothing depends on the order rows were read in.
-- Completed: the router's explicit action_outcome when any call carries one (the
-- latest such call's word); otherwise when at least one primary, retry or fallback
-- call has status ok and quality_passed is not false.
with

calls as (
    select * from staging.stg_calls
),

rolled_up as (
    select
        action_id,
        min({'ts': ts, 'route': route}) as first_call,
        min(call_week) as week,
        bool_or(call_role = 'retry') as has_retry,
        bool_or(call_role = 'fallback') as has_fallback,
        bool_or(
            call_role in ('primary', 'retry', 'fallback')
            and status = 'ok'
            and quality_passed is distinct from false
        ) as has_good_answer,
        max({'ts': ts, 'outcome': action_outcome}) filter (where action_outcome is not null) as last_router_word,
        min({'ts': ts, 'reason': coalesce(fallback_reason, 'unspecified')}) filter (where call_role = 'fallback')
            as first_fallback
    from calls
    group by action_id
),

with_outcome as (
    select
        action_id,
        first_call.route,
        week,
        first_call.ts as started_at,
        coalesce(last_router_word.outcome, case when has_good_answer then 'completed' else 'failed' end)
            as outcome,
        last_router_word is not null as is_outcome_from_router,
        has_retry,
        has_fallback,
        first_fallback.reason as first_fallback_reason
    from rolled_up
),

final as (
    select
        action_id,
        route,
        week,
        started_at,
        outcome,
        is_outcome_from_router,
        outcome = 'completed' as completed,
        has_retry,
        has_fallback,
        first_fallback_reason
    from with_outcome
)

select * from final
