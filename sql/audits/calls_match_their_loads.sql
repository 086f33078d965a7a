-- Every load's rows in raw.calls are exactly the rows its raw.loads row says it loaded,
-- so a row added, duplicated or removed behind ingest's back stops the build. One pass
-- over an integer column: far cheaper than a uniqueness check of ten million call ids,
-- which ingest already guarantees for every row it loads.
with

per_load as (
    select load_id, count(*) as rows_in_calls
    from raw.calls
    group by load_id
),

logs_loads as (
    select load_id, source_path, rows_loaded
    from raw.loads
    where kind = 'logs'
),

compared as (
    select
        load_id,
        logs_loads.source_path,
        coalesce(logs_loads.rows_loaded, 0) as rows_loaded,
        coalesce(per_load.rows_in_calls, 0) as rows_in_calls
    from logs_loads
    full outer join per_load using (load_id)
)

select * from compared
where rows_loaded <> rows_in_calls
