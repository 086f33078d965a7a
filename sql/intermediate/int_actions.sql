-- One row per action (every call with one action_id): where it belongs and whether it
-- completed. Read from the calls as logged, so no price is computed here.
--
-- An action belongs to the route and ISO week (Monday 00:00 UTC) of its earliest
-- call; calls that started at the same instant are ordered by a hash of call_id, so
-- the choice never depends on the order rows were read in.
-- Completed: the router's explicit action_outcome when any call carries one (the
-- latest such call's word); otherwise when at least one primary, retry or fallback
-- call has status ok and quality_passed is not false.
with

calls as (
    select
        *,
        -- call order within an action: start time, then a hash of call_id for ties
        epoch_us(ts)::hugeint * 18446744073709551616 + hash(call_id) as call_order
    from staging.stg_calls
),

rolled_up as (
    select
        action_id,
        arg_min(call_id, call_order) as first_call_id,
        arg_min(route, call_order) as route,
        min(ts) as started_at,
        bool_or(call_role = 'retry') as has_retry,
        bool_or(call_role = 'fallback') as has_fallback,
        bool_or(
            call_role in ('primary', 'retry', 'fallback')
            and status = 'ok'
            and quality_passed is distinct from false
        ) as has_good_answer,
        arg_max(action_outcome, call_order) filter (where action_outcome is not null) as router_outcome
    from calls
    group by action_id
),

final as (
    select
        action_id,
        route,
        cast(date_trunc('week', timezone('UTC', started_at)) as date) as week,
        started_at,
        first_call_id,
        coalesce(router_outcome, case when has_good_answer then 'completed' else 'failed' end) as outcome,
        router_outcome is not null as is_outcome_from_router,
        coalesce(router_outcome, case when has_good_answer then 'completed' else 'failed' end) = 'completed'
            as completed,
        has_retry,
        has_fallback
    from rolled_up
)

select * from final
