-- model:
--   grain: [provider, model_pattern, region, effective_from, priority]
--   audits:
--     - not_null: [provider, model_pattern, region, multiplier, effective_from, priority]
--     - accepted_range: {columns: [multiplier], min: 1}
--
-- One row per regional uplift and region, from the catalog's regional_uplifts
-- (DESIGN.md §3): the token cost of a call logged in `region` on a priced model the
-- glob matches is multiplied by `multiplier` from effective_from (an instant, UTC).
-- Regions are matched trimmed and lower-cased, as the catalog writes them.
with

uplifts as (
    select * from raw.price_uplifts
),

final as (
    select
        -- ids
        provider,
        model_pattern,
        region,
        effective_from,
        priority,

        -- the uplift
        multiplier,

        -- lineage
        source
    from uplifts
)

select * from final
