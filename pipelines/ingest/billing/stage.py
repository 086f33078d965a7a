"""Load what a billing format staged: good rows into their raw table, bad ones into raw.rejects.

A format stages its file into the temp table `__billing`: one row per line it read,
`source_row` (1-based record, row or line number), `reject_reason` (NULL when the row
loads), `x_SourceRecord` (the row as read) and the target table's columns, typed with
TRY_ casts so that no value fails the statement. Restatement (`restate`) then replaces
the lines an earlier load of the same source, account and period holds.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb

from pipelines.ingest import readers
from pipelines.ingest.billing.restate import restate
from pipelines.ingest.fields import quote
from pipelines.ingest.file_columns import ident, nested
from pipelines.ingest.loads import Counts
from pipelines.ingest.sources import SourceFile

MONEY = "DECIMAL(38, 12)"
UNIT_PRICE = "DECIMAL(38, 18)"

# Columns every line of a provider's own API shares (FOCUS 1.5 draft, direct API).
AI_SERVICE_CATEGORY = "AI and Machine Learning"


def reasons(*checks: tuple[str, str]) -> str:
    """SQL: the reasons a row is rejected, '; '-joined, or NULL. Each check is (condition, message SQL)."""
    parts = ", ".join(f"CASE WHEN {condition} THEN {message} END" for condition, message in checks)
    return f"nullif(concat_ws('; ', {parts}), '')"


def decimal_check(column: str, expression: str, label: str, required: bool = False) -> list[tuple[str, str]]:
    """Reject checks for a decimal parsed from text: present when required, and a number when present."""
    checks = [
        (
            f"{column} IS NOT NULL AND {expression} IS NULL",
            f"{quote(label + ': not a decimal number: ')} || left({column}::VARCHAR, 60)",
        )
    ]
    if required:
        checks.insert(0, (f"{column} IS NULL", quote(f"{label}: missing")))
    return checks


US_DATES = "['%m/%d/%Y %H:%M:%S', '%m/%d/%Y', '%m/%d/%y %H:%M', '%m/%d/%y']"  # the FOCUS spec's own examples


def timestamp_sql(column: str) -> str:
    """SQL: a UTC timestamp from ISO-8601 text (with or without T and Z, any offset), epoch seconds or M/D/Y."""
    text = f"nullif(trim({column}), '')"
    return (
        f"coalesce(TRY_CAST({text} AS TIMESTAMPTZ), "
        f"CASE WHEN regexp_full_match({text}, '[0-9]{{9,10}}') THEN to_timestamp(CAST({text} AS BIGINT)) END, "
        f"TRY_CAST(try_strptime({text}, {US_DATES}) AS TIMESTAMPTZ))"
    )


def load_staged(con: duckdb.DuckDBPyConnection, source: SourceFile, load_id: int, target: str) -> Counts:
    """Insert the staged good rows into `target` and the bad ones into raw.rejects; the counts."""
    replaced, replaced_ids = restate(con, load_id, target)
    con.execute(
        f"INSERT INTO {target} BY NAME SELECT * EXCLUDE (reject_reason), {load_id} AS load_id "
        "FROM __billing WHERE reject_reason IS NULL"
    )
    con.execute(
        f"""INSERT INTO raw.rejects
        SELECT {load_id}, ?, source_row, reject_reason, x_SourceRecord FROM (
            SELECT source_row, reject_reason, x_SourceRecord FROM __billing WHERE reject_reason IS NOT NULL
            UNION ALL
            SELECT source_row, reason, raw_record FROM __unreadable
        ) ORDER BY source_row""",
        [str(source.path)],
    )
    # Counted in records read: a usage record loads as one row per token class.
    loaded, rejected = con.execute(
        f"""SELECT (SELECT count(DISTINCT source_row) FROM __billing WHERE reject_reason IS NULL),
            (SELECT count(*) FROM raw.rejects WHERE load_id = {load_id})"""
    ).fetchone()
    return Counts(loaded + rejected, loaded, rejected, 0, replaced, replaced_ids)


def no_unreadable(con: duckdb.DuckDBPyConnection) -> None:
    """Formats read whole (JSON documents, Parquet) have no lines the reader set aside."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS __unreadable (source_row BIGINT, reason VARCHAR, raw_record VARCHAR)")


def stage_rows(con: duckdb.DuckDBPyConnection, source: SourceFile) -> dict[str, str]:
    """Stage a CSV or Parquet file as text columns in `__rows` (and `__unreadable`); {lower name: column}.

    CSV goes through the routing logs' own staging (readers.stage): numbered rows, rows
    the reader refuses (too many or too few columns, bad UTF-8) set aside with a reason.
    """
    if source.format == "csv":
        layout = readers.inspect(con, source)
        columns = {name: (name, "VARCHAR") for name in layout.header}
        readers.stage(con, source, replace(layout, columns=columns))
        names = list(layout.header)
    else:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({readers.readable_path(source.path)})").fetchall()
        names = [row[0] for row in described]
        as_text = ", ".join(
            f"{ident(name)}::VARCHAR AS {ident(name)}"
            if not nested(type_)
            else f"to_json({ident(name)})::VARCHAR AS {ident(name)}"
            for name, type_, *_ in described
        )
        con.execute(
            f"""CREATE TEMP TABLE __rows AS
            SELECT file_row_number + 1 AS source_row, to_json(p)::VARCHAR AS raw_record,
                NULL::VARCHAR AS early_reason, {as_text}
            FROM read_parquet({readers.readable_path(source.path)}, file_row_number=true) p"""
        )
        no_unreadable(con)
    return {name.strip().lower(): name for name in names}


def text_column(columns: dict[str, str], *names: str) -> str:
    """SQL: the first of these columns the file has, as trimmed text, '' and the literal NULL as NULL."""
    for name in names:
        if name.lower() in columns:
            return f"nullif(nullif(trim({ident(columns[name.lower()])}), ''), 'NULL')"
    return "NULL::VARCHAR"
