-- model:
--   grain: [provider, model]
--   audits:
--     - not_null: [provider, model]
--     - accepted_values: {column: model_tier, values: [low, balanced, premium]}
--
-- One row per (provider, model) as logged: the priced model it resolves to, or NULL
-- when neither the team's catalog nor genai-prices knows it.
with

model_map as (
    select * from raw.model_map
)

select * from model_map
