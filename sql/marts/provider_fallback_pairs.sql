-- model:
--   incremental: {by: week}
--   grain: [week, from_provider, to_provider]
--   audits:
--     - expression_is_true: fallback_calls >= 1
--
-- One row per (week, provider fallen back from, provider fallen back to): how often the
-- router left one provider for another (or for another model of the same provider), the
-- concentration risk the Providers page tracks. A fallback call's "from" is the call just
-- before it in its action (ts, then call_id); a fallback that opens its action (nothing
-- before it) reads from '(none)'. Week: the action's week, as everywhere.
with

-- only the calls of actions with a fallback: ordering calls within every action is the
-- costliest thing a model can ask of a build
calls as (
    select calls.*
    from marts.call_costs as calls
    semi join intermediate.int_actions as fallen_back
        on calls.action_id = fallen_back.action_id
        and fallen_back.has_fallback
),

ordered as (
    select
        week,
        call_role,
        provider,
        cost_usd,
        lag(provider) over (partition by action_id order by ts, call_id) as previous_provider
    from calls
),

pairs as (
    select
        week,
        coalesce(previous_provider, '(none)') as from_provider,
        provider as to_provider,
        count(*) as fallback_calls,
        sum(cost_usd) as cost_usd
    from ordered
    where call_role = 'fallback'
    group by all
),

final as (
    select
        week,
        from_provider,
        to_provider,
        cast(fallback_calls as bigint) as fallback_calls,
        cost_usd
    from pairs
)

select * from final
