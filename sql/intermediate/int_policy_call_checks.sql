-- model:
--   materialized: table
--   incremental: {by: week}
--   grain: [week, route, rule]
--   audits:
--     - not_null: [week, route, rule, offending]
--     - accepted_values:
--         column: rule
--         values: [max_retries_per_action, max_tool_calls_per_action, max_input_tokens_per_call,
--                  max_output_tokens_per_call, allowed_tiers, allowed_models,
--                  requires_tool_calling, requires_structured_output, requires_context_window,
--                  requires_region, requires_tool_calling_unknown, requires_structured_output_unknown,
--                  requires_context_window_unknown, requires_region_unknown]
--     - accepted_range: {columns: [offending], min: 0}
--
-- One row per (week, route, rule) for the policy rules that look at single actions and
-- calls, on the routes raw.policy_limits gives such a rule: the worst action or call of
-- the week and how many broke the rule. Rules on rates live in marts.policy_violations,
-- read from marts.route_weekly.
--   max_retries_per_action     actual = most retry calls in one action; offending actions
--   max_tool_calls_per_action  actual = most tool invocations in one action; offending actions
--   max_input_tokens_per_call  actual = largest input_tokens of a call; offending calls
--   max_output_tokens_per_call actual = largest output_tokens of a call; offending calls
--   allowed_tiers              actual = offending calls: on a model whose catalog tier is
--                              not listed (or that has no tier)
--   allowed_models             actual = offending calls: on a logged model not listed
--   requires_tool_calling, requires_structured_output
--                              actual = offending calls: on a priced model whose catalog
--                              capabilities (raw.model_capabilities) state false
--   requires_context_window    actual = offending calls: on a priced model whose stated
--                              context_window is below the policy's minimum
--   requires_region            actual = offending calls: logged in a region not allowed; or,
--                              with no logged region, on a model whose stated regions
--                              include no allowed one
--   <rule>_unknown             actual = calls the rule cannot judge: the priced model (or
--                              an unpriced call) states nothing on the capability; for
--                              requires_region, no logged region and stated regions that
--                              are neither all allowed nor none allowed (or none stated)
-- Response-cache hits reach no model: they are left out of the token caps and the lists.
with

calls as (
    select * from intermediate.int_call_costs
),

actions as (
    select action_id, route, week from intermediate.int_actions
),

limits as (
    select * from raw.policy_limits where scope_kind = 'route'
),

lists as (
    select * from raw.policy_lists
),

capabilities as (
    select * from raw.model_capabilities
),

allowed_regions as (
    select
        route,
        list(value) as regions
    from lists
    where rule = 'requires_region'
    group by route
),

action_calls as (
    select
        actions.week,
        actions.route,
        calls.action_id,
        calls.model,
        calls.model_tier,
        calls.price_provider,
        calls.price_model,
        nullif(lower(trim(calls.region)), '') as region,
        calls.call_role,
        calls.tool_calls,
        calls.input_tokens,
        calls.output_tokens,
        calls.is_response_cache_hit
    from calls
    inner join actions using (action_id)
    where actions.route in (select limits.scope from limits)
),

per_action as (
    select
        week,
        route,
        action_id,
        count(*) filter (where call_role = 'retry') as retries,
        sum(tool_calls) as tool_calls
    from action_calls
    group by week, route, action_id
),

per_action_checks as (
    select
        per_action.week,
        per_action.route,
        limits.rule,
        max(if(limits.rule = 'max_retries_per_action', per_action.retries, per_action.tool_calls)) as actual_value,
        count(*) filter (
            where if(limits.rule = 'max_retries_per_action', per_action.retries, per_action.tool_calls)
            > limits.limit_value
        ) as offending,
        'actions' as offending_unit
    from per_action
    inner join limits
        on limits.scope = per_action.route
        and limits.rule in ('max_retries_per_action', 'max_tool_calls_per_action')
    group by per_action.week, per_action.route, limits.rule
),

per_call_checks as (
    select
        action_calls.week,
        action_calls.route,
        limits.rule,
        max(
            if(limits.rule = 'max_input_tokens_per_call', action_calls.input_tokens, action_calls.output_tokens)
        ) as actual_value,
        count(*) filter (
            where if(limits.rule = 'max_input_tokens_per_call', action_calls.input_tokens, action_calls.output_tokens)
            > limits.limit_value
        ) as offending,
        'calls' as offending_unit
    from action_calls
    inner join limits
        on limits.scope = action_calls.route
        and limits.rule in ('max_input_tokens_per_call', 'max_output_tokens_per_call')
    where not action_calls.is_response_cache_hit
    group by action_calls.week, action_calls.route, limits.rule
),

list_checks as (
    select
        action_calls.week,
        action_calls.route,
        limits.rule,
        count(*) filter (
            where not coalesce(
                if(limits.rule = 'allowed_tiers', action_calls.model_tier, action_calls.model) in (
                    select lists.value from lists
                    where lists.route = action_calls.route and lists.rule = limits.rule
                ),
                false
            )
        ) as offending,
        'calls' as offending_unit
    from action_calls
    inner join limits
        on limits.scope = action_calls.route
        and limits.rule in ('allowed_tiers', 'allowed_models')
    where not action_calls.is_response_cache_hit
    group by action_calls.week, action_calls.route, limits.rule
),

capability_calls as (
    select
        action_calls.week,
        action_calls.route,
        limits.rule,
        case limits.rule
            when 'requires_tool_calling' then capabilities.tool_calling
            when 'requires_structured_output' then capabilities.structured_output
            when 'requires_context_window' then capabilities.context_window >= limits.limit_value
            when 'requires_region'
                then case
                        when action_calls.region is not null
                            then coalesce(list_contains(allowed_regions.regions, action_calls.region), false)
                        when list_has_all(allowed_regions.regions, capabilities.regions) then true
                        when not list_has_any(allowed_regions.regions, capabilities.regions) then false
                    end
        end as meets
    from action_calls
    inner join limits
        on limits.scope = action_calls.route
        and limits.rule in (
            'requires_tool_calling', 'requires_structured_output', 'requires_context_window', 'requires_region'
        )
    left join capabilities
        on capabilities.provider = action_calls.price_provider
        and capabilities.model = action_calls.price_model
    left join allowed_regions on allowed_regions.route = action_calls.route
    where not action_calls.is_response_cache_hit
),

capability_checks as (
    select
        week,
        route,
        rule,
        count(*) filter (where meets = false) as offending,
        count(*) filter (where meets is null) as unknown
    from capability_calls
    group by week, route, rule
),

final as (
    select
        week,
        route,
        rule,
        cast(actual_value as decimal(38, 9)) as actual_value,
        cast(offending as bigint) as offending,
        offending_unit
    from per_action_checks
    union all
    select
        week,
        route,
        rule,
        cast(actual_value as decimal(38, 9)) as actual_value,
        cast(offending as bigint) as offending,
        offending_unit
    from per_call_checks
    union all
    select
        week,
        route,
        rule,
        cast(offending as decimal(38, 9)) as actual_value,
        cast(offending as bigint) as offending,
        offending_unit
    from list_checks
    union all
    select
        week,
        route,
        rule,
        cast(offending as decimal(38, 9)) as actual_value,
        cast(offending as bigint) as offending,
        'calls' as offending_unit
    from capability_checks
    union all
    select
        week,
        route,
        rule || '_unknown' as rule,
        cast(unknown as decimal(38, 9)) as actual_value,
        cast(unknown as bigint) as offending,
        'calls' as offending_unit
    from capability_checks
)

select * from final
