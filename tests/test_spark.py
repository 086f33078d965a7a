"""The same models on Spark: every model transpiles, the rewritten constructs compute what DuckDB computes,
and a Spark build of the demo publishes the marts a DuckDB build publishes, value for value.

The Spark tests skip, saying why, without pyspark or Java, except under CI=true where they must run.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from pipelines.errors import UserError
from pipelines.models import discover
from pipelines.spark.build import spark_missing
from pipelines.spark.transpile import to_spark
from tests.conftest import rows, run_cli
from tests.test_models import write_models

MISSING = spark_missing()
needs_spark = pytest.mark.skipif(
    MISSING is not None and os.environ.get("CI") != "true", reason=f"Spark cannot run here: {MISSING}"
)


@pytest.fixture(scope="module")
def spark():
    from pipelines.spark.build import session

    spark = session(
        "local[2]", {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false", "spark.driver.memory": "1g"}
    )
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


def test_a_duckdb_only_function_stops_the_build_naming_the_file(tmp_path):
    root = write_models(
        tmp_path, {"staging.stg_a": "select call_id as id, bit_count(input_tokens) as b from raw.calls"}
    )
    with pytest.raises(UserError, match=r"staging/stg_a\.sql: does not transpile to Spark SQL: bit_count\(\)"):
        discover(root)


def test_a_model_that_transpiled_is_remembered_and_not_transpiled_again(tmp_path, monkeypatch):
    from pipelines.spark import transpile

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    transpiled = []
    monkeypatch.setattr(transpile, "to_spark", lambda sql, path: transpiled.append(path))
    model = ("select call_id from raw.calls", Path("sql/staging/stg_a.sql"))
    transpile.check_transpiles([model])
    transpile.check_transpiles([model])
    assert transpiled == [Path("sql/staging/stg_a.sql")]
    assert (tmp_path / "cache" / "routeledger" / "transpiled.json").is_file()
    transpile.check_transpiles([("select call_id, ts from raw.calls", Path("sql/staging/stg_a.sql"))])  # edited
    assert len(transpiled) == 2


def test_a_model_that_does_not_transpile_fails_every_time_and_an_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    from pipelines.spark.transpile import check_transpiles

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file: no folder can be made there
    for _ in range(2):
        with pytest.raises(UserError, match=r"stg_b\.sql: does not transpile to Spark SQL: bit_count\(\)"):
            check_transpiles([("select bit_count(input_tokens) from raw.calls", Path("stg_b.sql"))])
    check_transpiles([("select call_id from raw.calls", Path("stg_a.sql"))])


def test_every_model_transpiles():
    for model in discover():
        assert "raw__calls" not in to_spark(model.sql, model.path)  # qualified names kept unless asked


# Each rewritten DuckDB construct, on both engines: the same values.
CONSTRUCTS = """
with calls as (
    select * from (values
        (1, timestamptz '2026-03-02 23:30:00+00', 'a', ['us', 'eu'], 'gpt-4.1-mini', 10.0),
        (2, timestamptz '2026-03-03 00:30:00+00', 'b', ['us'], 'claude-3', 30.0),
        (3, timestamptz '2026-03-03 01:30:00+00', 'a', cast(null as varchar[]), 'x.y', 20.0)
    ) as t (id, ts, tag, regions, model, latency_ms)
),
per_call as (
    select
        id,
        epoch_us(ts) as us,
        hour(timezone('America/New_York', ts)) as local_hour,
        isodow(timezone('Asia/Tokyo', ts)) as tokyo_weekday,
        list_has_all(['us', 'eu', 'apac'], regions) as all_allowed,
        list_has_any(['eu'], regions) as any_eu,
        to_json(tag) as tag_json,
        cast(json_object('ModelId', model, 'Tag', tag) as varchar) as details,
        model glob 'gpt-*' as is_gpt,
        model glob 'x.?' as is_x
    from calls
),
agg as (
    select
        0 as id,
        string_agg(distinct tag, ', ' order by tag) as tags,
        quantile_cont(latency_ms, 0.5) as p50_latency_ms
    from calls
)
select * from per_call
union all by name
select * from agg
"""


@needs_spark
def test_rewritten_constructs_compute_what_duckdb_computes(spark):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    expected = con.execute(f"select * from ({CONSTRUCTS}) order by id").fetchall()
    actual = [tuple(r) for r in spark.sql(to_spark(CONSTRUCTS, Path("constructs.sql"))).orderBy("id").collect()]
    assert actual == expected
    # by hand: 2026-03-02 23:30 UTC is 18:30 in New York (EST); us and eu are allowed, eu is among them
    assert expected[1][2:7] == (18, 2, True, True, '"a"')  # 08:30 on Tuesday in Tokyo: ISO weekday 2
    assert expected[1][7:10] == ('{"ModelId":"gpt-4.1-mini","Tag":"a"}', True, False)
    assert expected[3][4:6] == (None, None)  # no regions: NULL, not false
    assert expected[0][-2:] == ("a, b", 20.0)  # the distinct tags in order; the median of 10, 20, 30


# DuckDB's `/` divides doubles (decimals too), `//` truncates whole numbers of any size, and
# quantile_cont interpolates lo + (hi - lo) * d: Spark, untold, keeps decimals decimal, wraps a
# quotient beyond BIGINT, and interpolates a last digit apart.
ARITHMETIC = """
with latencies as (
    select cast(latency_ms as double) as latency_ms
    from (values (7912.33), (28207.02), (28495.81), (33092.0), (34893.04), (35599.19), (36375.41), (54538.22),
        (54965.09)) as t (latency_ms)
)
select
    cast(8000000000000000000000 as hugeint) * 3 // 2 as big_quotient,
    cast(-7 as bigint) // 2 as toward_zero,
    cast(0.00455969 as decimal(38, 21)) / cast(0.01123 as decimal(38, 21)) as decimal_ratio,
    (select quantile_cont(latency_ms, 0.95) from latencies) as p95,
    (select quantile_cont(latency_ms, [0.5, 0.95]) from latencies) as quantiles
"""


@needs_spark
def test_division_and_quantiles_compute_what_duckdb_computes(spark):
    con = duckdb.connect()
    expected = con.execute(ARITHMETIC).fetchall()
    actual = [tuple(r) for r in spark.sql(to_spark(ARITHMETIC, Path("arithmetic.sql"))).collect()]
    assert actual == expected
    big, toward_zero, ratio, p95, quantiles = expected[0]
    assert (big, toward_zero) == (12 * 10**21, -3)  # 1.2e22 (beyond BIGINT); -3.5 truncated, not floored
    assert ratio == 0.00455969 / 0.01123
    # 9 values: RN = 8 x 0.95 = 7.6, between the 8th and 9th smallest, d = 0.6 (as a double):
    # 54538.22 x (1 - d) + 54965.09 x d = 54794.342, which DuckDB rounds once (a fused multiply-add)
    d = 8 * 0.95 - 7
    assert p95 == float(Fraction(54538.22) * Fraction(1 - d) + Fraction(54965.09 * d)) == 54794.342000000004
    assert quantiles == [34893.04, p95]


@needs_spark
@pytest.mark.skipif(
    os.environ.get("ROUTELEDGER_SPARK_DEMO") != "1",
    reason="5 to 13 minutes of Spark on 2 shared cores: set ROUTELEDGER_SPARK_DEMO=1 to run it",
)
def test_a_spark_build_of_the_demo_publishes_the_duckdb_builds_marts(spark, demo_db, tmp_path):
    from pipelines.spark.build import run_spark_build
    from pipelines.spark.compare import snapshot_differences
    from pipelines.spark.lake import export
    from pipelines.warehouse import Warehouse

    lake = tmp_path / "lake"
    exported = {e.table: e.rows for e in export(demo_db, lake)}
    # every call the demo loaded (its planted bad rows and duplicates are not calls)
    assert exported["raw.calls"] == rows(demo_db, "SELECT count(*) FROM raw.calls")[0][0] > 19_000
    assert sorted(p.name for p in (lake / "raw" / "calls").iterdir())[0].startswith("day=2026-")
    result = run_spark_build(spark, lake, tmp_path / "spark.duckdb")
    assert (lake / "marts" / "route_weekly").is_dir()
    differences = snapshot_differences(Warehouse.at(demo_db).current_snapshot(), result.snapshot)
    assert differences == []


def test_lake_export_refuses_a_warehouse_never_built(tmp_path):
    from tests.conftest import call, write_jsonl

    db = tmp_path / "w.duckdb"
    log = write_jsonl(tmp_path / "calls.jsonl", [call("c1", "a1", "2026-03-02T10:00:00Z")])
    run_cli("ingest", "logs", str(log), "--db", str(db), check=True)
    result = run_cli("lake", "export", "--to", str(tmp_path / "lake"), "--db", str(db))
    assert result.returncode == 2
    assert "no build yet; run `routeledger build` first" in result.stderr
    assert not (tmp_path / "lake" / "raw").exists()


def test_money_is_decimal_in_the_lake(tmp_path, demo_db):
    from pipelines.spark.lake import export

    export(demo_db, tmp_path / "lake")
    con = duckdb.connect()
    price = con.execute(
        f"select input_usd_per_mtok from read_parquet('{tmp_path}/lake/raw/prices/*.parquet') limit 1"
    ).fetchone()[0]
    assert isinstance(price, Decimal)


def _log_with_bad_lines(path: Path) -> Path:
    """14 lines (and a blank one): 4 calls to load, 9 bad lines, 1 duplicate."""
    from tests.conftest import call

    lines = [
        json.dumps(call("c1", "a1", "2026-03-02T10:00:00Z")),
        json.dumps(call("c2", "a1", "2026-03-02T10:00:01Z", call_role="retry")),
        json.dumps(call("c3", "a2", "2026-03-02T11:00:00Z", input_tokens=1.5)),
        json.dumps(call("c4", "a2", "yesterday")),
        json.dumps({k: v for k, v in call("c5", "a3", "2026-03-02T12:00:00Z").items() if k != "call_id"}),
        json.dumps(call("c6", "a3", "2026-03-02T12:00:00Z", output_tokens=-5)),
        json.dumps(call("c1", "a1", "2026-03-02T10:00:00Z")),  # line 1 again: a duplicate
        json.dumps(call("c2", "a1", "2026-03-02T10:00:01Z", call_role="retry", model="m-large")),  # conflicts
        "not json at all",
        "[1, 2]",
        json.dumps(call("c7", "a4", "2026-03-03T09:30:00+01:00")),
        json.dumps(call("c8", "a4", 1772445600000, quality_passed="yes", input_tokens="2.0")),
        json.dumps(call("c9", "a5", "2026-03-04T00:00:00Z", model={"prompt": "secret"})),
        "",
        json.dumps(call("c10", "a5", "2026-03-04T00:00:00Z", cached_input_tokens=900, cache_write_tokens=200)),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@needs_spark
def test_an_ingest_on_spark_loads_and_rejects_what_the_duckdb_ingest_does(spark, tmp_path):
    from pipelines.ingest.fields import FIELD_NAMES
    from pipelines.spark.ingest import ingest_on_spark

    log = _log_with_bad_lines(tmp_path / "calls.jsonl")
    db, lake = tmp_path / "w.duckdb", tmp_path / "lake"
    run_cli("ingest", "logs", str(log), "--db", str(db), check=True)
    [load] = ingest_on_spark(spark, lake, [str(log)])
    assert (load.rows_read, load.rows_loaded, load.rows_rejected, load.rows_duplicate) == (14, 4, 9, 1)

    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(FIELD_NAMES)
    in_lake = f"read_parquet('{lake}/raw/%s/**/*.parquet', hive_partitioning = true)"
    calls = f"SELECT {columns}, load_id FROM %s ORDER BY call_id"
    assert con.execute(calls % in_lake % "calls").fetchall() == con.execute(calls % "raw.calls").fetchall()
    assert [r[0] for r in con.execute(calls % in_lake % "calls").fetchall()] == ["c1", "c2", "c7", "c8"]
    assert con.execute(f"SELECT DISTINCT CAST(day AS VARCHAR) FROM {in_lake % 'calls'} ORDER BY 1").fetchall() == [
        ("2026-03-02",),  # c8's epoch milliseconds: 2026-03-02 10:00 UTC
        ("2026-03-03",),  # c7: 09:30 at +01:00 is 08:30 UTC
    ]
    rejects = "SELECT load_id, source_path, source_row, reason, raw_record FROM %s ORDER BY source_row"
    spark_rejects = con.execute(rejects % in_lake % "rejects").fetchall()
    assert spark_rejects == con.execute(rejects % "raw.rejects").fetchall()
    by_line = {row: reason for _, _, row, reason, _ in spark_rejects}
    assert by_line[3] == "input_tokens: must be an integer between 0 and 10000000000, got 1.5"
    assert by_line[8] == "call_id c2: conflicts with line 2 of this file"
    assert by_line[15] == "cached_input_tokens + cache_write_tokens: must be <= input_tokens, got 900 + 200 > 1000"
    assert "secret" not in str(spark_rejects)  # a prompt under a canonical key is withheld, as DuckDB does
    loads = "SELECT sha256, rows_read, rows_loaded, rows_rejected, rows_duplicate, status FROM %s"
    assert con.execute(loads % in_lake % "loads").fetchall() == con.execute(loads % "raw.loads").fetchall()

    files = sorted(p.relative_to(lake) for p in lake.rglob("*.parquet"))
    [again] = ingest_on_spark(spark, lake, [str(log)])
    assert again.status == "skipped"
    assert sorted(p.relative_to(lake) for p in lake.rglob("*.parquet")) == files
