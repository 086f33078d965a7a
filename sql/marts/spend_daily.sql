-- model:
--   incremental: {by: day, unit: day}   # a day's row: that day's calls and their actions
--   grain: [day, route, provider, model, model_tier, team, project, feature, user_tier, environment]
--   audits:
--     - expression_is_true: completed_actions <= actions
--     - expression_is_true: unpriced_calls <= calls
--     - expression_is_true: error_calls <= calls
--     - reconciles:
--         expression: sum(cost_usd)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(cost_usd)
--         other_where: grain = 'calls'
--     - reconciles:
--         expression: sum(calls)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(calls)
--         other_where: grain = 'calls'
--     - reconciles:
--         expression: sum(actions)
--         with: intermediate.int_route_week_rollup
--         other_expression: sum(actions)
--         other_where: grain = 'actions'
--
-- One row per UTC day of the call x the action's route x provider x model x routing
-- tier x team x project x feature x user tier x environment: the spend cube the Spend
-- explorer groups and filters, so the snapshot answers "who spent what when" without
-- holding a row per call.
--
-- Every column adds up across rows. An action is counted once, in the cell of its
-- earliest call (ties by call_id); its other calls (retries, fallbacks on another
-- model) add their calls, tokens and cost to their own cells. Attributes that were not
-- logged read 'unspecified' (a model without a catalog tier: 'unknown'), so a group-by
-- never shows an empty label.
with

calls as (
    select * from marts.call_costs
),

spend as (
    select
        call_date as day,
        route,
        provider,
        model,
        coalesce(model_tier, 'unknown') as model_tier,
        coalesce(team, 'unspecified') as team,
        coalesce(project, 'unspecified') as project,
        coalesce(feature, 'unspecified') as feature,
        coalesce(user_tier, 'unspecified') as user_tier,
        coalesce(environment, 'unspecified') as environment,

        -- counts
        count(*) filter (where is_first_call_of_action) as actions,
        count(*) filter (where is_first_call_of_action and action_completed) as completed_actions,
        count(*) as calls,
        count(*) filter (where not is_priced) as unpriced_calls,
        count(*) filter (where status <> 'ok') as error_calls,
        count(*) filter (where call_role = 'fallback') as fallback_calls,

        -- tokens
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(output_tokens) as output_tokens,

        -- money
        sum(cost_usd) as cost_usd
    from calls
    group by all
),

final as (
    select
        day,
        route,
        provider,
        model,
        model_tier,
        team,
        project,
        feature,
        user_tier,
        environment,
        cast(actions as bigint) as actions,
        cast(completed_actions as bigint) as completed_actions,
        cast(calls as bigint) as calls,
        cast(unpriced_calls as bigint) as unpriced_calls,
        cast(error_calls as bigint) as error_calls,
        cast(fallback_calls as bigint) as fallback_calls,
        cast(input_tokens as bigint) as input_tokens,
        cast(cached_input_tokens as bigint) as cached_input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cost_usd
    from spend
)

select * from final
