-- model:
--   grain: [week]
--   audits:
--     - not_null: [week, previous_build_id, previous_built_at, actions_before, actions, is_restated]
--     - expression_is_true: >-
--         is_restated = (cost_change_usd <> 0 or actions_change <> 0 or completed_actions_change <> 0
--         or (cost_usd is null) <> (cost_before_usd is null))
--
-- One row per week of this build that an earlier build also covered: the week's headline
-- figures now (marts.review_weekly) against those of the latest earlier build that had the
-- week (raw.build_week_figures; `build` records each build's figures there after its models
-- ran, so every row it holds is an earlier build's). Late logs, a restated bill or a catalog
-- correction change a week's figures after a build published them: is_restated says so, and
-- the *_change columns say by how much (now minus before). Weeks new in this build have no row.
with

review_weekly as (
    select * from marts.review_weekly
),

earlier_builds as (
    select * from raw.build_week_figures
),

previous as (
    select *
    from earlier_builds
    qualify row_number() over (partition by week order by built_at desc, build_id desc) = 1
),

final as (
    select
        review_weekly.week,

        -- the build compared with
        previous.build_id as previous_build_id,
        previous.built_at as previous_built_at,

        -- counts
        previous.actions as actions_before,
        review_weekly.actions,
        review_weekly.actions - previous.actions as actions_change,
        previous.completed_actions as completed_actions_before,
        review_weekly.completed_actions,
        review_weekly.completed_actions - previous.completed_actions as completed_actions_change,

        -- money
        previous.cost_usd as cost_before_usd,
        review_weekly.cost_usd,
        review_weekly.cost_usd - previous.cost_usd as cost_change_usd,
        previous.cost_per_completed_action_usd as cost_per_completed_action_before_usd,
        review_weekly.cost_per_completed_action_usd,
        review_weekly.cost_per_completed_action_usd
        - previous.cost_per_completed_action_usd as cost_per_completed_action_change_usd,

        -- flags
        (
            review_weekly.cost_usd is distinct from previous.cost_usd
            or review_weekly.actions != previous.actions
            or review_weekly.completed_actions != previous.completed_actions
        ) as is_restated
    from review_weekly
    inner join previous using (week)
)

select * from final
