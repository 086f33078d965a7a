-- One row per (provider, model, service tier, period): the rates per 1M tokens that
-- apply from effective_from (inclusive) to effective_to (exclusive; NULL = still).
with

prices as (
    select * from raw.prices
),

dated as (
    select
        *,
        lead(effective_from) over (
            partition by provider, model, service_tier order by effective_from
        ) as effective_to
    from prices
)

select * from dated
