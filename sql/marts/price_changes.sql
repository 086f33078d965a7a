-- model:
--   grain: [route, provider, model, service_tier, effective_from]
--   audits:
--     - not_null: [route, provider, model, price_provider, price_model, service_tier, effective_from]
--
-- One row per price change of a model a route's calls used: the catalog or published
-- price period that replaced an earlier one at other rates (its effective_from), with
-- the input and output rates per million tokens before and from then on (standard rates:
-- no batch, no time-of-day window; a new period at the same input, cached input and
-- output rates is no change). The Regression debugger marks them on a route's cost per completed
-- action, beside its policy changes. A model's first price period is no change. The
-- route's models are those of marts.spend_daily (provider and model as logged), priced
-- through staging.stg_model_map; first_day / last_day say when the route used the model.
with

spend_daily as (
    select * from marts.spend_daily
),

model_map as (
    select * from staging.stg_model_map
),

prices as (
    select * from staging.stg_prices
),

route_models as (
    select
        route,
        provider,
        model,
        min(day) as first_day,
        max(day) as last_day
    from spend_daily
    group by route, provider, model
),

periods as (
    select
        provider as price_provider,
        model as price_model,
        service_tier,
        effective_from,
        input_usd_per_token,
        output_usd_per_token,
        lag(input_usd_per_token) over by_start as input_usd_per_token_before,
        lag(output_usd_per_token) over by_start as output_usd_per_token_before,
        cached_input_usd_per_token,
        lag(cached_input_usd_per_token) over by_start as cached_input_usd_per_token_before,
        row_number() over by_start as period_number
    from prices
    where not is_batch and window_name is null
    window by_start as (partition by provider, model, service_tier order by effective_from)
),

changes as (
    select * from periods
    where
        period_number > 1
        and (
            input_usd_per_token is distinct from input_usd_per_token_before
            or output_usd_per_token is distinct from output_usd_per_token_before
            or cached_input_usd_per_token is distinct from cached_input_usd_per_token_before
        )
),

final as (
    select
        route_models.route,
        route_models.provider,
        route_models.model,
        model_map.price_provider,
        model_map.price_model,
        changes.service_tier,
        changes.effective_from,

        -- money (USD per million tokens)
        cast(changes.input_usd_per_token_before * 1000000 as decimal(38, 15)) as input_usd_per_mtok_before,
        cast(changes.input_usd_per_token * 1000000 as decimal(38, 15)) as input_usd_per_mtok,
        cast(changes.output_usd_per_token_before * 1000000 as decimal(38, 15)) as output_usd_per_mtok_before,
        cast(changes.output_usd_per_token * 1000000 as decimal(38, 15)) as output_usd_per_mtok,

        -- when the route used the model
        route_models.first_day,
        route_models.last_day
    from route_models
    inner join model_map using (provider, model)
    inner join changes
        on model_map.price_provider = changes.price_provider and model_map.price_model = changes.price_model
)

select * from final
