"""`routeledger build --engine spark`: every model of sql/ on a SparkSession over the lake, then a snapshot.

The raw tables are read from the lake's Parquet (`routeledger lake export`); each model's SQL is
transpiled by sqlglot (pipelines/spark/transpile.py) and created in build order: views as temp
views, tables written as Parquet (the marts to DIR/marts/<name>/, the others to DIR/work/) and read
back, so a table is computed once. The audits every build runs are transpiled and run on Spark too.
Then the marts are published through the same path as a DuckDB build (pipelines/warehouse.py), so
the app reads a Spark build unchanged.

Money stays exact: decimal arithmetic never loses precision (allowPrecisionLoss=false), every
mart's column must come out of Spark with the type its spec declares (the models cast their
outputs), and timestamps are UTC.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipelines import audits, models
from pipelines.columns import comment_statements
from pipelines.errors import UserError, first_line
from pipelines.ingest.fields import quote
from pipelines.raw import SOURCES
from pipelines.spark.lake import MARTS, PARTITION
from pipelines.spark.transpile import to_spark, view_name
from pipelines.warehouse import Warehouse, configure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Rows whose loads row is the commit: an ingest on Spark writes them first and its raw.loads row last.
COMMITTED_BY_LOADS = ("raw.calls", "raw.rejects")
WORK = "work"  # the lake's folder for tables that are not marts (intermediate tables), rewritten by each build

# Settings every routeledger SparkSession shares: UTC, exact decimals, ANSI SQL (overflow is an error).
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


@dataclass(frozen=True)
class SparkBuildResult:
    build_id: str
    built_at: datetime
    models: list[models.Built]
    audits: list[audits.AuditResult]
    snapshot: Path


def spark_missing() -> str | None:
    """Why Spark cannot run here (no pyspark, no Java), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'routeledger[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not _on_path("java"):
        return "no Java runtime (Spark 4 needs Java 17+): install one, e.g. apt-get install default-jre-headless"
    return None


def _on_path(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


def session(master: str = "local[*]", conf: dict[str, str] | None = None) -> SparkSession:
    """A SparkSession with routeledger's settings (or the running one, reconfigured)."""
    missing = spark_missing()
    if missing:
        raise UserError(f"build --engine spark: {missing}")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("routeledger").master(master).config("spark.ui.showConsoleProgress", "false")
    for key, value in {**SESSION_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in SESSION_CONF.items():  # a session that was already running gets them too
        spark.conf.set(key, value)
    return spark


def run_spark_build(
    spark: SparkSession,
    lake: Path | str,
    db: str | Path | None,
    on_built: Callable[[models.Built], None] | None = None,
    on_audit: Callable[[audits.AuditResult], None] | None = None,
) -> SparkBuildResult:
    """Build every model on Spark over the lake, audit, write the marts to the lake, publish a snapshot."""
    lake = str(lake).rstrip("/")
    ordered = models.discover()
    checks = audits.collect(ordered, on_build=True)
    register_raw(spark, lake)
    built = build_models(spark, lake, ordered, on_built)
    audited = run_audits(spark, checks, on_audit)
    built_at = datetime.now(UTC)
    build_id = built_at.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)
    marts = [m for m in ordered if m.layer == "marts" and m.materialized == "table"]
    snapshot = publish(lake, marts, db, build_id, built_at)
    return SparkBuildResult(build_id, built_at, built, audited, snapshot)


def _path(lake: str, table: str) -> str:
    """A table's folder in the lake; a URL (s3a://, hdfs://) stays a URL."""
    schema, name = table.split(".")
    return f"{lake}/{schema}/{name}"


def register_raw(spark: SparkSession, lake: str) -> None:
    """Every raw table as a temp view over its Parquet in the lake (raw.calls without its partition column)."""
    for table in sorted(SOURCES):
        path = _path(lake, table)
        try:
            frame = spark.read.parquet(path)
        except Exception as exc:  # AnalysisException: PATH_NOT_FOUND, or not Parquet
            raise UserError(
                f"{path}: cannot read {table} from the lake ({first_line(exc)}); "
                "write it with `routeledger lake export --to LAKE`"
            ) from exc
        if table == "raw.calls":
            frame = frame.drop(PARTITION)
        frame.createOrReplaceTempView(view_name(table))
    for table in COMMITTED_BY_LOADS:  # only the rows of loads that finished (`ingest logs --engine spark`)
        loads = view_name("raw.loads")
        committed = spark.sql(f"SELECT * FROM {view_name(table)} LEFT SEMI JOIN {loads} USING (load_id)")
        committed.createOrReplaceTempView(view_name(table))


def build_models(
    spark: SparkSession, lake: str, ordered: list[models.Model], on_built: Callable[[models.Built], None] | None
) -> list[models.Built]:
    built = []
    for model in ordered:
        started = time.perf_counter()
        sql = to_spark(model.sql, model.path, qualified_names=False)
        try:
            frame = spark.sql(sql)
            rows = None
            if model.materialized == "table":
                path = _path(lake, model.name) if model.layer == MARTS else _path(lake + "/" + WORK, model.name)
                frame.write.mode("overwrite").parquet(path)
                frame = spark.read.parquet(path)
                rows = frame.count()
            else:
                # computed once, where first read: a view re-evaluated by each reader could break a tie
                # (row_number over equal keys) differently for each, and its readers would disagree
                frame = frame.cache()
        except UserError:
            raise
        except Exception as exc:  # pyspark's AnalysisException, Py4JJavaError, ...: the model's fault
            raise UserError(f"{model.path}: on Spark: {spark_error(exc)}") from exc
        frame.createOrReplaceTempView(view_name(model.name))
        if model.columns:
            check_columns(frame, model)
        result = models.Built(model.name, model.materialized, rows, time.perf_counter() - started)
        built.append(result)
        if on_built:
            on_built(result)
    return built


def spark_error(exc: BaseException) -> str:
    """The first line of what went wrong on Spark: the root cause of a Java exception, not py4j's wrapper."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return first_line(exc)
    while java.getCause() is not None:
        java = java.getCause()
    return first_line(Exception(java.toString()))


def duckdb_type(spark_type: object) -> str:
    """A Spark SQL type as DuckDB describes the same type (the column specs' vocabulary)."""
    from pyspark.sql import types as t

    simple = {
        t.StringType: "VARCHAR",
        t.LongType: "BIGINT",
        t.IntegerType: "INTEGER",
        t.ShortType: "SMALLINT",
        t.ByteType: "TINYINT",
        t.DoubleType: "DOUBLE",
        t.FloatType: "FLOAT",
        t.BooleanType: "BOOLEAN",
        t.DateType: "DATE",
        t.TimestampType: "TIMESTAMP WITH TIME ZONE",
        t.TimestampNTZType: "TIMESTAMP",
    }
    if isinstance(spark_type, t.DecimalType):
        return f"DECIMAL({spark_type.precision},{spark_type.scale})"
    if isinstance(spark_type, t.ArrayType):
        return duckdb_type(spark_type.elementType) + "[]"
    for kind, name in simple.items():
        if isinstance(spark_type, kind):
            return name
    return spark_type.simpleString().upper()


def check_columns(frame: DataFrame, model: models.Model) -> None:
    """The mart comes out of Spark with exactly the columns and types its spec declares, or the build stops."""
    built = [(f.name, duckdb_type(f.dataType)) for f in frame.schema.fields]
    declared = [(c.name, c.type) for c in model.columns]
    if built != declared:
        differ = [f"{b[0]} {b[1]} (declared {d[0]} {d[1]})" for b, d in zip(built, declared, strict=False) if b != d]
        if len(built) != len(declared):
            differ.append(f"{len(built)} columns built, {len(declared)} declared")
        raise UserError(
            f"{model.path.with_suffix('.yml')}: does not match what {model.name} builds on Spark: " + "; ".join(differ)
        )


def run_audits(
    spark: SparkSession, checks: list[audits.Audit], on_done: Callable[[audits.AuditResult], None] | None = None
) -> list[audits.AuditResult]:
    """The build's audits, transpiled, on Spark; raise AuditsFailed after the last if any found offending rows."""
    results = []
    for audit in checks:
        started = time.perf_counter()
        sql = to_spark(audit.sql, audit.source, qualified_names=False)
        try:
            offending = spark.sql(sql)
            sample = offending.limit(audits.SAMPLE_ROWS).collect()
            failing = offending.count() if sample else 0
        except Exception as exc:
            raise UserError(
                f"{audit.source}: audit {audit.name} on {audit.model} cannot run on Spark: {spark_error(exc)}"
            ) from exc
        result = audits.AuditResult(
            audit, failing, offending.columns, [tuple(r) for r in sample], time.perf_counter() - started
        )
        results.append(result)
        if on_done:
            on_done(result)
    failed = [r for r in results if not r.passed]
    if failed:
        raise audits.AuditsFailed(failed)
    return results


def publish(lake: str, marts: list[models.Model], db: str | Path | None, build_id: str, built_at: datetime) -> Path:
    """The marts' Parquet into a new DuckDB snapshot of the warehouse `db`, through Warehouse.publish."""
    con = duckdb.connect()
    try:
        configure(con)
        if "://" in lake:
            con.execute("INSTALL httpfs; LOAD httpfs")
        con.execute(f"CREATE SCHEMA {MARTS}")
        for model in marts:
            columns = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in model.columns) or "*"
            source = quote(_path(lake, model.name) + "/*.parquet")
            con.execute(f"CREATE TABLE {model.name} AS SELECT {columns} FROM read_parquet({source})")
            for statement in comment_statements(model.name, model.columns):
                con.execute(statement)
        return Warehouse.at(db).publish(con, [m.name for m in marts], build_id, built_at)
    finally:
        con.close()
