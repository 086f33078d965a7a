"""The lake: the warehouse's validated raw tables as Parquet, the input of `build --engine spark`.

    DIR/raw/calls/day=YYYY-MM-DD/*.parquet    raw.calls, hive-partitioned by the call's UTC day
    DIR/raw/<table>/data.parquet             every other raw table the models read
    DIR/marts/<name>/*.parquet               written by `build --engine spark`

The prices, model map, uplifts, capabilities, exchange rates and policy tables are written by
`routeledger build` (from the catalog and policy), so a lake exported before any build would
price nothing: export refuses it. A new export replaces DIR/raw as a whole (written beside it,
then swapped), so a reader never sees half of one export and half of another.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import UserError
from pipelines.ingest.fields import quote
from pipelines.raw import SOURCES
from pipelines.warehouse import Warehouse

RAW = "raw"
MARTS = "marts"
PARTITION = "day"  # raw.calls' partition column: the UTC day of ts, as text
BUILT_BY_BUILD = ("raw.prices", "raw.model_map")  # empty or missing: no build yet


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int


def table_dir(lake: Path, table: str) -> Path:
    """Where a schema-qualified table (raw.calls, marts.route_weekly) lives in the lake."""
    schema, name = table.split(".")
    return lake / schema / name


def export(db: str | Path | None, to: Path) -> list[Exported]:
    """Write every raw table the models read from the warehouse into the lake at `to`, replacing its raw/."""
    warehouse = Warehouse.at(db)
    with warehouse.reader() as con:
        _check_built(con, warehouse.path)
        staging = to / f".raw-partial-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise UserError(f"{to}: cannot write the lake here: {exc.strerror}") from exc
        try:
            exported = [_export_table(con, table, staging) for table in sorted(SOURCES)]
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    _swap(staging, to / RAW)
    return exported


def _check_built(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    present = {
        f"raw.{name}"
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'raw'"
        ).fetchall()
    }
    for table in BUILT_BY_BUILD:
        if table not in present or not con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
            raise UserError(
                f"{path}: {table} is empty: no build yet; run `routeledger build` first "
                "(the lake's prices and model map are the ones the last build wrote)"
            )
    missing = sorted(SOURCES - present)
    if missing:
        raise UserError(f"{path}: no {', '.join(missing)}; run `routeledger build` first")


def _export_table(con: duckdb.DuckDBPyConnection, table: str, staging: Path) -> Exported:
    target = staging / table.split(".")[1]
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if table == "raw.calls":
        if not rows:
            raise UserError("raw.calls is empty: nothing to export; ingest logs first")
        # the UTC day (configure() sets the session's time zone to UTC)
        con.execute(
            f"COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS {PARTITION} FROM {table}) TO {quote(str(target))} "
            f"(FORMAT parquet, PARTITION_BY ({PARTITION}), COMPRESSION zstd)"
        )
    else:
        target.mkdir()
        con.execute(
            f"COPY (SELECT * FROM {table}) TO {quote(str(target / 'data.parquet'))} (FORMAT parquet, COMPRESSION zstd)"
        )
    return Exported(table, rows)


def _swap(staging: Path, final: Path) -> None:
    """Put the new raw/ in place of the old one: two renames, the old one deleted after."""
    old = final.with_name(f".raw-old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
