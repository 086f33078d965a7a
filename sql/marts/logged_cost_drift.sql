-- model:
--   incremental: {by: day, unit: day}   # a day's row: that day's calls and their actions
--   grain: [day, provider, model]
--   audits:
--     - not_null: [day, provider, model, calls, calls_with_logged_cost, compared_calls]
--     - expression_is_true: compared_calls <= calls_with_logged_cost and calls_with_logged_cost <= calls
--     - expression_is_true: drift_usd = logged_cost_usd - estimated_cost_usd
--     - reconciles:
--         expression: coalesce(sum(calls_with_logged_cost), 0)
--         with: intermediate.int_call_costs
--         other_expression: count(logged_cost_usd)
--
-- One row per (UTC day, provider, model) whose calls carry a logged cost (the cost the
-- provider or gateway reported, `logged_cost_usd`): that cost beside routeledger's
-- estimate, so a catalog gone stale shows up before the bill does. `provider` and
-- `model` are the priced model's (a dated id and its alias meet), or as logged when
-- the model is unpriced.
--
-- Logged and estimated costs are summed over the same calls: those with both a logged
-- cost and an estimate (compared_calls). drift_usd = logged - estimated; drift_pct =
-- drift / logged. A logged cost is a float in the log: it becomes DECIMAL here, at 10
-- decimal places (a ten-billionth of a dollar), and is never used to price a call.
with

calls as (
    select * from intermediate.int_call_costs
),

keyed as (
    select
        call_date as day,
        coalesce(price_provider, provider) as provider,
        coalesce(price_model, model) as model,
        cost_usd,
        cast(logged_cost_usd as decimal(38, 10)) as logged_cost_usd,
        logged_cost_usd is not null and cost_usd is not null as is_compared
    from calls
),

per_day as (
    select
        day,
        provider,
        model,
        count(*) as calls,
        count(logged_cost_usd) as calls_with_logged_cost,
        count(*) filter (where is_compared) as compared_calls,
        sum(logged_cost_usd) filter (where is_compared) as logged_cost_usd,
        sum(cost_usd) filter (where is_compared) as estimated_cost_usd
    from keyed
    group by day, provider, model
    having count(logged_cost_usd) > 0
),

final as (
    select
        -- ids
        day,
        provider,
        model,

        -- calls
        calls,
        calls_with_logged_cost,
        compared_calls,

        -- money
        logged_cost_usd,
        estimated_cost_usd,
        logged_cost_usd - estimated_cost_usd as drift_usd,
        cast((logged_cost_usd - estimated_cost_usd) / nullif(logged_cost_usd, 0) as double) as drift_pct
    from per_day
)

select * from final
