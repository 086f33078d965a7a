-- Every file's rows end loaded, rejected or duplicate: the counts of raw.loads add up,
-- and its rejected count is the rows it left in raw.rejects.
with

loads as (
    select * from raw.loads
),

rejects_per_load as (
    select load_id, count(*) as rows_in_rejects
    from raw.rejects
    group by load_id
)

select
    loads.load_id,
    loads.source_path,
    loads.rows_read,
    loads.rows_loaded,
    loads.rows_rejected,
    loads.rows_duplicate,
    coalesce(rejects_per_load.rows_in_rejects, 0) as rows_in_rejects
from loads
left join rejects_per_load using (load_id)
where loads.rows_read <> loads.rows_loaded + loads.rows_rejected + loads.rows_duplicate
    or loads.rows_rejected <> coalesce(rejects_per_load.rows_in_rejects, 0)
