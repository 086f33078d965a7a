"""`routeledger ingest logs --engine spark --lake DIR`: JSON-lines routing logs into the lake, on Spark.

The rules are DuckDB's (`pipelines/ingest/fields.py` validate_sql, transpiled by sqlglot): each
line is parsed as JSON (Spark's VARIANT), every canonical field taken as text with the kind of
JSON value it holds, and validated by the same SQL. Then, as the DuckDB path decides:

- a valid row whose call_id is new loads (the first line of a call_id in the file);
- a later line of the same call_id with the same content, or a call already in the lake with the
  same content, is a duplicate; with other content it is rejected (`call_id X: conflicts with
  line N of this file` / `with a loaded row (load L)`);
- a bad line is rejected with its line number, the reason (naming the field) and its text.

The calls go to DIR/raw/calls/day=YYYY-MM-DD/ (as `lake export` writes them), the rejects to
DIR/raw/rejects/, one row to DIR/raw/loads/ with rows_read = loaded + rejected + duplicate.
The loads row is written last and is the commit: `build --engine spark` reads only the calls and
rejects of the loads listed there, so a failed ingest leaves nothing a build would read. A file
whose sha256 is in the loads is skipped: loading it again changes nothing. One ingest at a time
per lake: two at once would take the same load_id (there is no lock on a folder of Parquet).

Only JSON lines of canonical fields (no adapter, no CSV, no Parquet) for now; the DuckDB ingest
takes every format and adapter, and `lake export` brings its result to the lake.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import UserError
from pipelines.ingest.fields import FIELD_NAMES, quote, validate_sql
from pipelines.ingest.logs import DECISION, rejected_rows_sql
from pipelines.ingest.redact import redacted
from pipelines.ingest.sources import SourceFile, expand
from pipelines.spark.lake import PARTITION
from pipelines.spark.transpile import to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KIND = "logs"


@dataclass(frozen=True)
class SparkLoad:
    path: Path
    status: str  # loaded | skipped (its sha256 was loaded before)
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_on_spark(spark: SparkSession, lake: Path, paths: list[str]) -> list[SparkLoad]:
    """Load each JSON-lines file into the lake, one load each; a file loaded before is skipped."""
    files, skipped = expand(paths)
    if skipped:
        raise UserError(f"{skipped[0]}: unknown format (ingest logs --engine spark reads .jsonl)")
    for source in files:
        if source.format != "jsonl" or source.compression:
            raise UserError(f"{source.path}: ingest logs --engine spark reads uncompressed JSON lines (.jsonl) only")
    return [_ingest_file(spark, lake, source) for source in files]


def _ingest_file(spark: SparkSession, lake: Path, source: SourceFile) -> SparkLoad:
    from pyspark.sql import functions as F

    path = source.path
    loads = _read_table(spark, lake / "raw" / "loads")
    sha256 = _sha256(path)
    if loads is not None and loads.filter(F.col("sha256") == sha256).limit(1).count():
        return SparkLoad(path, "skipped")
    started = datetime.now(UTC)
    last = loads.agg(F.max("load_id")).collect()[0][0] if loads is not None else None
    load_id = (last or 0) + 1
    _lines(spark, path).createOrReplaceTempView("__lines")
    spark.sql(_rows_sql()).createOrReplaceTempView("__rows")
    checked = validate_sql(
        "SELECT * FROM __rows WHERE early_reason IS NULL",
        {name: f"{name}__text" for name in FIELD_NAMES},
        keep=("source_row", "raw_record"),
        kinds={name: f"{name}__kind" for name in FIELD_NAMES},
    )
    spark.sql(to_spark(checked, path, qualified_names=False)).cache().createOrReplaceTempView("__checked")
    _loaded_calls(spark, lake).createOrReplaceTempView("__loaded")
    decided = spark.sql(_decide_sql()).cache()
    decided.createOrReplaceTempView("__decided")
    bad = spark.sql(_bad_sql()).cache()
    counts = decided.groupBy("decision").count().collect()
    by_decision = {r["decision"]: r["count"] for r in counts}
    loaded, duplicate = by_decision.get("load", 0), by_decision.get("duplicate", 0)
    rejected = bad.count()
    read = spark.table("__lines").count()
    if read != loaded + rejected + duplicate:  # every line is loaded, rejected or a duplicate
        raise UserError(f"{path}: {read} lines read but {loaded + rejected + duplicate} accounted for; not loaded")
    content = ", ".join(FIELD_NAMES)
    staging = lake / f".ingest-{uuid.uuid4().hex[:8]}"
    calls = spark.sql(
        f"SELECT {content}, CAST({load_id} AS BIGINT) AS load_id, date_format(ts, 'yyyy-MM-dd') AS {PARTITION} "
        "FROM __decided WHERE decision = 'load'"
    )
    calls.write.partitionBy(PARTITION).parquet(str(staging / "calls"))
    _write_rejects(bad, source, load_id, staging / "rejects")
    for table in ("calls", "rejects"):  # files of this load_id are what an ingest that failed left: never read
        for orphan in (lake / "raw" / table).rglob(f"load-{load_id}-*.parquet"):
            orphan.unlink()
    _move_into(staging / "calls", lake / "raw" / "calls", load_id)
    _move_into(staging / "rejects", lake / "raw" / "rejects", load_id)
    finished = datetime.now(UTC)
    row = (load_id, str(path), sha256, KIND, "jsonl", path.stat().st_size, read, loaded, rejected, duplicate)
    spark.createDataFrame(
        [(*row, started, finished, "loaded with rejects" if rejected else "loaded", 0, None)],
        "load_id bigint, source_path string, sha256 string, kind string, format string, size_bytes bigint, "
        "rows_read bigint, rows_loaded bigint, rows_rejected bigint, rows_duplicate bigint, "
        "started_at timestamp, finished_at timestamp, status string, rows_replaced bigint, replaced_load_ids string",
    ).coalesce(1).write.parquet(str(staging / "loads"))
    _move_into(staging / "loads", lake / "raw" / "loads", load_id)  # last: the commit
    _remove(staging)
    for view in ("__lines", "__rows", "__checked", "__loaded", "__decided"):
        spark.catalog.dropTempView(view)
    return SparkLoad(path, "loaded", load_id, read, loaded, rejected, duplicate)


def _write_rejects(bad: DataFrame, source: SourceFile, load_id: int, folder: Path) -> None:
    """The rejected lines, their text redacted by the DuckDB ingest's own rule (pipelines/ingest/redact.py:
    canonical fields only, never a prompt or a response), run by DuckDB on the driver over the rejects."""
    import duckdb

    folder.mkdir(parents=True)
    con = duckdb.connect()
    try:
        con.register("__bad", bad.select("source_row", "reason", "raw_record").toArrow())
        con.execute(
            f"COPY (SELECT CAST(? AS BIGINT) AS load_id, ? AS source_path, CAST(source_row AS BIGINT) AS source_row, "
            f"reason, {redacted('raw_record', source)} AS raw_record FROM __bad ORDER BY source_row) "
            f"TO {quote(str(folder / 'part-0.parquet'))} (FORMAT parquet)",
            [load_id, str(source.path)],
        )
    finally:
        con.close()


def _read_table(spark: SparkSession, folder: Path):
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return None
    return spark.read.parquet(str(folder))


def _lines(spark: SparkSession, path: Path):
    """Every line of the file with its number (1-based), in file order, blank lines left out."""
    text = spark.sparkContext.textFile(str(path)).zipWithIndex().map(lambda pair: (pair[1] + 1, pair[0]))
    frame = spark.createDataFrame(text, "source_row bigint, line string")
    return frame.filter("trim(line) <> ''")


def _rows_sql() -> str:
    """Each line: the reason it is not a JSON object (early_reason), each field as text and the kind of
    JSON value it holds (OBJECT, ARRAY, BOOLEAN, ...: validate_sql refuses a nested value, and a boolean
    where text is expected)."""
    fields = ", ".join(
        f"try_variant_get(json, '$.{name}', 'string') AS {name}__text, "
        f"regexp_extract(schema_of_variant(try_variant_get(json, '$.{name}')), '^[A-Z]+', 0) AS {name}__kind"
        for name in FIELD_NAMES
    )
    return (
        f"SELECT source_row, line AS raw_record, early_reason, {fields} FROM ("
        "SELECT source_row, line, json, CASE WHEN json IS NULL THEN 'not valid JSON' "
        "WHEN NOT startswith(schema_of_variant(json), 'OBJECT') "
        "THEN 'not a JSON object, got ' || lower(regexp_extract(schema_of_variant(json), '^[A-Z]+', 0)) "
        "END AS early_reason FROM (SELECT source_row, line, try_parse_json(line) AS json FROM __lines))"
    )


def _loaded_calls(spark: SparkSession, lake: Path):
    """The calls already in the lake (of committed loads), with a hash of their content."""
    content = ", ".join(FIELD_NAMES)
    calls = _read_table(spark, lake / "raw" / "calls")
    if calls is None:
        return spark.sql("SELECT CAST(NULL AS STRING) AS call_id, CAST(NULL AS BIGINT) AS load_id, "
                         "CAST(NULL AS STRING) AS loaded_hash WHERE false")  # fmt: skip
    calls.createOrReplaceTempView("__lake_calls")
    return spark.sql(f"SELECT call_id, load_id, sha2(to_json(struct({content})), 256) AS loaded_hash FROM __lake_calls")


def _decide_sql() -> str:
    content = ", ".join(FIELD_NAMES)
    return f"""
    WITH valid AS (
        SELECT *, sha2(to_json(struct({content})), 256) AS content_hash FROM __checked WHERE reject_reason IS NULL
    ),
    firsts AS (
        SELECT call_id, min(source_row) AS first_row, min_by(content_hash, source_row) AS first_hash
        FROM valid GROUP BY call_id
    ),
    loaded AS (
        SELECT call_id, any_value(loaded_hash) AS loaded_hash, any_value(load_id) AS loaded_load_id
        FROM __loaded WHERE call_id IN (SELECT call_id FROM firsts) GROUP BY call_id
    )
    SELECT v.*, f.first_row, l.loaded_load_id,
        {DECISION} AS decision
    FROM valid v JOIN firsts f ON v.call_id = f.call_id LEFT JOIN loaded l ON v.call_id = l.call_id
    """


def _bad_sql() -> str:
    return rejected_rows_sql("line")


def _move_into(written: Path, table: Path, load_id: int) -> None:
    """The Parquet files Spark wrote under `written` into the lake table, named after the load."""
    for i, part in enumerate(sorted(written.rglob("*.parquet"))):
        target = table / part.parent.relative_to(written) / f"load-{load_id}-{i:05d}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        part.rename(target)


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
