-- model:
--   grain: [check_name, subject, detail]
--   audits:
--     - accepted_values:
--         column: check_name
--         values: [rejected rows, unpriced calls, unmapped billing names, load]
--
-- One row per finding about the data itself, in four checks:
--   'rejected rows'  : rows of a file refused at ingest, by reason (values stripped)
--   'unpriced calls' : calls whose model has no price at their date, by provider/model
--   'unmapped billing names' : models named by billing exports that resolve to no priced
--                      model, by provider/model as billed (first/last: their charge periods)
--   'load'           : one row per loaded file, with its counts
-- n_rows counts the rows of the finding; first_seen/last_seen bound it in time.
with

rejects as (
    select * from raw.rejects
),

loads as (
    select * from raw.loads
),

billed_models as (
    select * from intermediate.int_billed_models
),

unpriced_models as (
    select
        provider,
        model,
        any_value(price_provider) as price_provider,
        any_value(price_model) as price_model,
        sum(calls) as calls,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from intermediate.int_route_week_rollup
    where grain = 'calls' and not is_priced
    group by provider, model
),

reject_kinds as (
    select
        *,
        -- the reason without the values that vary row by row
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(reason, '^call_id .*: conflicts', 'call_id: conflicts'),
                    ' \(load [0-9]+\)$', ''
                ),
                '(line|row) [0-9]+ of this file$', 'another row of this file'
            ),
            ', got .*$', ''
        ) as reason_kind
    from rejects
),

rejected as (
    select
        'rejected rows' as check_name,
        reject_kinds.reason_kind as subject,
        reject_kinds.source_path
        || ' (first at row ' || min(reject_kinds.source_row) || ': '
        || arg_min(reject_kinds.reason, reject_kinds.source_row) || ')' as detail,
        count(*) as n_rows,
        min(loads.finished_at) as first_seen,
        max(loads.finished_at) as last_seen
    from reject_kinds
    left join loads using (load_id)
    group by reject_kinds.reason_kind, reject_kinds.source_path
),

unpriced as (
    select
        'unpriced calls' as check_name,
        provider || '/' || model as subject,
        case
            when price_model is null then 'no price in the catalog or in genai-prices'
            else 'matched ' || price_provider || '/' || price_model || ', which has no price on these dates'
        end as detail,
        cast(calls as bigint) as n_rows,
        first_seen,
        last_seen
    from unpriced_models
),

unmapped as (
    select
        'unmapped billing names' as check_name,
        coalesce(provider, '?') || '/' || model as subject,
        case
            when provider is null then 'no provider recognised for this billed name'
            else 'no price in the catalog or in genai-prices, as billed or normalised'
        end as detail,
        n_lines as n_rows,
        first_charge_at as first_seen,
        last_charge_at as last_seen
    from billed_models
    where price_model is null
),

loaded as (
    select
        'load' as check_name,
        source_path as subject,
        status || ': ' || rows_read || ' read, ' || rows_loaded || ' loaded, '
        || rows_rejected || ' rejected, ' || rows_duplicate || ' duplicate (' || format || ')' as detail,
        rows_read as n_rows,
        started_at as first_seen,
        finished_at as last_seen
    from loads
),

final as (
    select * from rejected
    union all
    select * from unpriced
    union all
    select * from unmapped
    union all
    select * from loaded
)

select * from final
