"""Two published snapshots, mart by mart, value for value: what a Spark build must equal."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingest.fields import quote

# Columns that name the build before this one: they follow the warehouse's history of builds
# (a Spark build of an exported lake follows the DuckDB build it was exported from), not the engine.
HISTORY_COLUMNS = {"week_restatements": ("previous_build_id", "previous_built_at")}
# DOUBLE columns computed from a sum of doubles over many rows (a standard error's sum of squares):
# its last digits follow the order the rows are added in, which no parallel engine fixes (DuckDB's
# threads neither), so they are compared to 9 decimals. Every other column, money first, exactly.
FLOAT_SUMS = {"cost_regressions": ("change_z",)}


def snapshot_differences(left: Path, right: Path) -> list[str]:
    """Every difference between two snapshots' marts: a missing table, a column or type, rows in one only."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH {quote(str(left))} AS l (READ_ONLY)")
        con.execute(f"ATTACH {quote(str(right))} AS r (READ_ONLY)")
        tables = {
            side: {
                name
                for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'marts'", [side]
                ).fetchall()
            }
            for side in ("l", "r")
        }
        problems = [f"marts.{t}: only in {left}" for t in sorted(tables["l"] - tables["r"])]
        problems += [f"marts.{t}: only in {right}" for t in sorted(tables["r"] - tables["l"])]
        for table in sorted(tables["l"] & tables["r"]):
            problems += _table_differences(con, table)
        return problems
    finally:
        con.close()


def _table_differences(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    columns = {
        side: con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? AND schema_name = 'marts' AND table_name = ? ORDER BY column_index",
            [side, table],
        ).fetchall()
        for side in ("l", "r")
    }
    if columns["l"] != columns["r"]:
        return [f"marts.{table}: columns differ: {columns['l']} vs {columns['r']}"]
    kept = ", ".join(
        f'round("{name}", 9)' if name in FLOAT_SUMS.get(table, ()) else f'"{name}"'
        for name, _ in columns["l"]
        if name not in HISTORY_COLUMNS.get(table, ())
    )
    problems = []
    for one, other in (("l", "r"), ("r", "l")):
        only = f"SELECT {kept} FROM {one}.marts.{table} EXCEPT ALL SELECT {kept} FROM {other}.marts.{table}"
        rows = con.execute(f"SELECT count(*) FROM ({only})").fetchone()[0]
        if rows:
            sample = con.execute(f"{only} LIMIT 1").fetchone()
            problems.append(
                f"marts.{table}: {rows} row(s) only in {'the first' if one == 'l' else 'the second'}: {sample}"
            )
    return problems
