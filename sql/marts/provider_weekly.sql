-- model:
--   grain: [week, provider]
--   audits:
--     - not_null: [week, provider, calls, share_of_calls, error_calls, fallback_calls_received]
--     - expression_is_true: error_calls <= calls
--     - reconciles:
--         expression: sum(cost_usd)
--         with: marts.spend_daily
--         other_expression: sum(cost_usd)
--     - reconciles:
--         expression: sum(calls)
--         with: marts.spend_daily
--         other_expression: sum(calls)
--
-- One row per (ISO week of the call's UTC day, provider): the traffic and spend each
-- provider carries, the concentration risk the Providers page tracks. From the spend
-- cube (marts.spend_daily), so a week is the calls made in it (an action that spans
-- Sunday midnight counts on both sides, as the cube does):
--   share_of_calls = the provider's calls / all calls of the week
--   share_of_cost  = the provider's spend / all spend of the week (NULL when nothing was priced)
--   error_rate     = calls with a status other than ok / calls
--   fallback_calls_received = fallback calls the router sent to this provider
with

spend as (
    select * from marts.spend_daily
),

weekly as (
    select
        provider,
        cast(date_trunc('week', day) as date) as week,
        sum(calls) as calls,
        sum(cost_usd) as cost_usd,
        sum(error_calls) as error_calls,
        sum(fallback_calls) as fallback_calls_received
    from spend
    group by all
),

final as (
    select
        week,
        provider,
        cast(calls as bigint) as calls,
        cost_usd,
        calls / sum(calls) over (partition by week) as share_of_calls,
        cast(cost_usd / nullif(sum(cost_usd) over (partition by week), 0) as double) as share_of_cost,
        cast(error_calls as bigint) as error_calls,
        error_calls / calls as error_rate,
        cast(fallback_calls_received as bigint) as fallback_calls_received
    from weekly
)

select * from final
