-- model:
--   grain: [day, provider, model]
--   audits:
--     - not_null: [day, provider, model]
--
-- One row per (UTC day, provider as logged, model) of what providers billed for model
-- tokens: the money of their usage lines (stg_billing_lines, token charges only) and
-- the tokens they counted, per token class. `model` is the priced model the billed name
-- resolves to, so a dated billed id and a logged alias meet; an unmapped billed name
-- stays as billed (is_model_mapped false), never dropped.
--
-- Tokens per class come from the billing lines where they carry counts, else from the
-- provider's usage report (raw.billing_usage) for the same day and model.
-- billed_cost_usd is NULL when a line's currency has no rate (has_fx_rate false).
with

lines as (
    select * from staging.stg_billing_lines where is_model_usage
),

usage as (
    select * from staging.stg_billing_usage where token_class is not null
),

line_days as (
    select
        day,
        provider,
        coalesce(price_model, billed_model) as model,
        any_value(price_provider) as price_provider,
        bool_and(is_model_mapped) as is_model_mapped,
        string_agg(distinct billed_model, ', ' order by billed_model) as billed_models,
        string_agg(distinct billing_currency, ', ' order by billing_currency) as billing_currencies,
        bool_and(has_fx_rate) as has_fx_rate,
        count(*) as billed_lines,
        sum(billed_cost_usd) as billed_cost_usd,
        sum(token_count) filter (where token_class = 'input') as input_tokens,
        sum(token_count) filter (where token_class = 'cached_input') as cached_input_tokens,
        sum(token_count) filter (where token_class = 'cache_write') as cache_write_tokens,
        sum(token_count) filter (where token_class = 'cache_write_1h') as cache_write_1h_tokens,
        sum(token_count) filter (where token_class = 'output') as output_tokens
    from lines
    group by day, provider, coalesce(price_model, billed_model)
),

usage_days as (
    select
        day,
        provider,
        coalesce(price_model, billed_model) as model,
        any_value(price_provider) as price_provider,
        bool_and(is_model_mapped) as is_model_mapped,
        string_agg(distinct billed_model, ', ' order by billed_model) as billed_models,
        sum(token_count) filter (where token_class = 'input') as input_tokens,
        sum(token_count) filter (where token_class = 'cached_input') as cached_input_tokens,
        sum(token_count) filter (where token_class = 'cache_write') as cache_write_tokens,
        sum(token_count) filter (where token_class = 'cache_write_1h') as cache_write_1h_tokens,
        sum(token_count) filter (where token_class = 'output') as output_tokens
    from usage
    group by day, provider, coalesce(price_model, billed_model)
),

final as (
    select
        -- grain
        coalesce(line_days.day, usage_days.day) as day,
        coalesce(line_days.provider, usage_days.provider) as provider,
        coalesce(line_days.model, usage_days.model) as model,
        coalesce(line_days.price_provider, usage_days.price_provider) as price_provider,
        coalesce(line_days.is_model_mapped, usage_days.is_model_mapped) as is_model_mapped,
        coalesce(line_days.billed_models, usage_days.billed_models) as billed_models,

        -- money
        line_days.billing_currencies,
        coalesce(line_days.has_fx_rate, true) as has_fx_rate,
        coalesce(line_days.billed_lines, 0) as billed_lines,
        if(line_days.has_fx_rate, line_days.billed_cost_usd, null) as billed_cost_usd,

        -- tokens: the lines' counts, else the usage report's
        cast(coalesce(line_days.input_tokens, usage_days.input_tokens) as bigint) as input_tokens,
        cast(coalesce(line_days.cached_input_tokens, usage_days.cached_input_tokens) as bigint)
            as cached_input_tokens,
        cast(coalesce(line_days.cache_write_tokens, usage_days.cache_write_tokens) as bigint)
            as cache_write_tokens,
        cast(coalesce(line_days.cache_write_1h_tokens, usage_days.cache_write_1h_tokens) as bigint)
            as cache_write_1h_tokens,
        cast(coalesce(line_days.output_tokens, usage_days.output_tokens) as bigint) as output_tokens
    from line_days
    full outer join usage_days
        on line_days.day = usage_days.day
        and line_days.provider = usage_days.provider
        and line_days.model = usage_days.model
)

select * from final
