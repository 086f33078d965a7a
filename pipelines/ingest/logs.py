"""Ingest canonical routing logs: read -> validate -> load, one transaction per file.

Each file is loaded in one of two ways, with the same rules (`fields.validate_sql`):

- **Direct**: DuckDB's reader streams the file, every row is parsed and checked on
  the way into `raw.calls`, and the first bad row aborts the statement. Clean files,
  the common case, load in one pass at close to DuckDB's bare load speed.
- **Checked**: when the direct load fails (a bad row, an unreadable line, a
  duplicate), it is rolled back and the file is read again with every row numbered.
  Good rows load; each bad row goes to `raw.rejects` with its line number, the
  reason and the text as read; duplicates are counted.

Either way the file's rows, its `raw.loads` row and its rejects commit together or
not at all, and a file whose sha256 was loaded before is skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.progress import Progress

from pipelines.errors import UserError
from pipelines.ingest import adapters, keys, readers, redact
from pipelines.ingest.fields import FIELD_NAMES, FIELDS, REQUIRED, validate_sql
from pipelines.ingest.file_columns import record_json
from pipelines.ingest.lines import pick_lines
from pipelines.ingest.loads import Loader, LoadResult, RowsRejected, load_file
from pipelines.ingest.sources import SourceFile, expand
from pipelines.warehouse import Warehouse


def run_ingest_logs(
    db: str | Path | None,
    paths: list[str],
    progress: Progress | None = None,
    log_format: str | None = None,
    route_from: str | None = None,
) -> tuple[list[LoadResult], list[Path]]:
    """Load routing-log files into the warehouse, each file in its own transaction.

    Every input is checked (exists, known format, is a routing log) before the first
    file loads, so a typo never leaves a run half done. A file that cannot be read or
    loaded fails alone: the others load, and its result says why (`error`).
    `log_format` forces the log's shape (pipelines/ingest/adapters), else each file's
    columns or keys tell it; `route_from` picks an adapter's route source.
    """
    files, skipped = expand(paths)
    warehouse = Warehouse.at(db)
    check_disk_space(warehouse.path, files)
    with warehouse.writer("ingest logs") as con:
        layouts = check_files(con, files, log_format, route_from)
        keys.ensure(con)
        results = []
        for i, source in enumerate(files, start=1):
            layout = layouts[source.path]
            if source.size_bytes == 0:
                results.append(LoadResult(source.path, source.label, "empty"))
                continue
            if isinstance(layout, str):
                results.append(LoadResult(source.path, source.label, "failed", error=layout))
                continue
            try:
                label = f"[{i}/{len(files)}] {source.path.name}"
                results.append(ingest_file(con, source, layout, progress, label))
            except UserError as exc:
                results.append(LoadResult(source.path, source.label, "failed", error=str(exc)))
        return results, skipped


# Bytes of warehouse (plus spill while loading) one byte of input can take, measured on the
# demo's calls: DuckDB stores a Parquet file's calls in about its size and JSON lines or CSV
# in a fifth of theirs; the rest is headroom for the temp directory and the WAL.
DISK_PER_INPUT_BYTE = {"parquet": 2.0, "jsonl": 0.5, "csv": 0.5, "json": 0.5}


def check_disk_space(db: Path, files: list[SourceFile]) -> None:
    """Refuse, before anything loads, an ingest that would need more disk than is free."""
    needed = sum(int(f.size_bytes * DISK_PER_INPUT_BYTE.get(f.format, 1.0)) for f in files)
    folder = next((p for p in (db.parent, *db.parent.parents) if p.exists()), Path("."))
    free = shutil.disk_usage(folder).free
    if needed > free:
        given = sum(f.size_bytes for f in files)
        raise UserError(
            f"{db}: this ingest needs about {needed / 1e9:,.1f} GB of disk ({given / 1e9:,.1f} GB of input)"
            f", {free / 1e9:,.1f} GB are free on {folder}; free some space or load fewer files at once"
        )


def check_files(
    con: duckdb.DuckDBPyConnection,
    files: list[SourceFile],
    log_format: str | None = None,
    route_from: str | None = None,
) -> dict[Path, readers.Layout | str]:
    """The layout of every file, refusing files that are not routing logs before any loads.

    A file that cannot be read at all gets the reason instead of a layout; an empty file
    (no bytes, or JSON lines of which none is an object) has nothing to refuse.
    """
    adapters.check_format(log_format)
    layouts: dict[Path, readers.Layout | str] = {}
    for source in files:
        if source.size_bytes == 0:
            layouts[source.path] = readers.Layout({}, ())
            continue
        try:
            layout = adapters.inspect(con, source, log_format, route_from)
        except UserError as exc:
            layouts[source.path] = str(exc)
            continue
        if layout.adapter != "canonical":  # the adapter checked its own columns
            layouts[source.path] = layout
            continue
        missing = [name for name in REQUIRED if name not in layout.columns]
        if missing and not (source.format == "jsonl" and not layout.found):
            found = ", ".join(layout.found[:12]) + (", ..." if len(layout.found) > 12 else "")
            raise UserError(
                f"{source.path}: not a routing log: no {', '.join(missing)} "
                f"{'field' if len(missing) == 1 else 'fields'} (found: {found or 'nothing readable'})"
            )
        layouts[source.path] = layout
    return layouts


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    layout: readers.Layout,
    progress: Progress | None = None,
    label: str | None = None,
) -> LoadResult:
    """Load one file: the direct path, then the checked one if it met a row it cannot load.

    A canonical Parquet file first streams in as if it were clean, in any order (the fastest
    path), then, when it met a bad row, sets its bad rows aside in one more pass. A JSON-lines
    file sets them aside from the start: its clean pass would need a pass of its own to
    measure the lines (the set-aside path's pass counts them as well).
    """
    direct: tuple[Loader, str] = (lambda con, source, load_id: _load_direct(con, source, layout, load_id), "loading")
    checked: tuple[Loader, str] = (
        lambda con, source, load_id: _load_checked(con, source, layout, load_id),
        "bad rows found, checking each row",
    )
    loaders = [direct, checked]
    if layout.adapter == "canonical" and source.format in SETS_ASIDE:
        aside: Loader = lambda con, source, load_id: _load_setting_aside(con, source, layout, load_id)  # noqa: E731
        if source.format == "parquet":
            loaders = [direct, (aside, "bad rows found, setting them aside"), checked]
        else:
            loaders = [(aside, "loading"), checked]
    return load_file(con, source, "logs", adapters.label(source, layout), loaders, progress, label)


def _load_direct(
    con: duckdb.DuckDBPyConnection, source: SourceFile, layout: readers.Layout, load_id: int
) -> tuple[int, int, int, int]:
    """Stream the file into raw.calls; any bad row or duplicate aborts (RowsRejected)."""
    reading = adapters.reading(layout)
    relation, columns = reading.direct(source, layout)
    checked = validate_sql(relation, columns.raw_column, typed=columns.typed, kinds=columns.kinds)
    field_list = ", ".join(FIELD_NAMES)
    con.execute("SET preserve_insertion_order = false")
    try:
        if limit_check := reading.line_limit_check(source):
            con.execute(limit_check)
        con.execute(
            f"INSERT INTO raw.calls ({field_list}, load_id) SELECT {field_list}, {load_id} FROM ({checked}) "
            "WHERE reject_reason IS NULL OR error(reject_reason)"
        )
    except duckdb.Error as exc:
        raise RowsRejected(str(exc)) from exc
    finally:
        con.execute("RESET preserve_insertion_order")
    loaded = _check_no_duplicates(con, load_id)
    return loaded, loaded, 0, 0


# Formats whose direct load numbers the rows it sets aside: Parquet has row numbers, and a
# JSON-lines file whose every line holds an object has one record per line (readers.line_counts).
SETS_ASIDE = ("jsonl", "parquet")


def _load_setting_aside(
    con: duckdb.DuckDBPyConnection, source: SourceFile, layout: readers.Layout, load_id: int
) -> tuple[int, int, int, int]:
    """One pass: good rows into raw.calls, bad rows set aside with their row numbers, then rejected.

    Every row goes into raw.calls in file order, a bad one under load id -load_id with its
    reason in error_type (and blanks where a required field is missing), so the n-th row
    of the load is the file's row n. The bad rows are then taken out, their text read
    back (JSON lines: only those lines; Parquet: those rows), and rejected with the
    checked path's reasons. What this pass cannot number or tell apart (a line that is not
    an object, a value that may be a JSON object or boolean, a duplicate) rolls back to
    the checked path.
    """
    relation, columns = readers.direct(source, layout)
    relation = f"SELECT *, {readers.may_be_nested(source)} AS may_be_nested FROM ({relation})"
    kinds = columns.kinds if source.format == "parquet" else {}  # JSON lines: see may_be_nested
    checked = validate_sql(relation, columns.raw_column, keep=("may_be_nested",), typed=columns.typed, kinds=kinds)
    values = ", ".join(
        f"coalesce({f.name}, {PLACEHOLDERS[f.kind]})" if f.required else f.name
        for f in FIELDS
        if f.name != "error_type"
    )
    names = ", ".join(f.name for f in FIELDS if f.name != "error_type")
    lines = not_objects = 0
    con.execute("SET preserve_insertion_order = true")  # the n-th row inserted is the file's n-th
    try:
        if source.format == "jsonl":
            lines, not_objects, _ = con.execute(readers.line_counts(source)).fetchone()
        con.execute(
            f"""INSERT INTO raw.calls ({names}, error_type, load_id)
            SELECT {values},
                CASE WHEN reject_reason IS NULL THEN error_type ELSE reject_reason END,
                CASE WHEN reject_reason IS NULL THEN {load_id} ELSE -{load_id} END
            FROM ({checked})
            WHERE NOT may_be_nested OR error('a value may be a JSON object, array or boolean')"""
        )
    except duckdb.Error as exc:
        raise RowsRejected(str(exc)) from exc
    finally:
        con.execute("RESET preserve_insertion_order")
    first, read, aside = con.execute(
        f"SELECT min(rowid), count(*), count(*) FILTER (WHERE load_id = -{load_id}) "
        f"FROM raw.calls WHERE load_id IN ({load_id}, -{load_id})"
    ).fetchone()
    if source.format == "jsonl" and not not_objects and read != lines:
        raise RowsRejected(f"read {read} records from {lines} lines")
    if aside:
        if not_objects:
            raise RowsRejected("lines without an object: only the checked path numbers them")
        con.execute(
            f"""CREATE TEMP TABLE __aside AS
            SELECT rowid - {first} + 1 AS source_row, error_type AS reason
            FROM raw.calls WHERE load_id = -{load_id}"""
        )
        con.execute(f"DELETE FROM raw.calls WHERE load_id = -{load_id}")
        _read_back(con, source, layout)
        stored = redact.redacted("raw_record", source)
        con.execute(
            f"""CREATE TEMP TABLE __bad AS
            SELECT source_row, reason, {stored} AS raw_record FROM __aside JOIN __texts USING (source_row)"""
        )
    loaded = _check_no_duplicates(con, load_id)
    rejected, duplicate = _store_rejects(con, source, load_id) if aside else (0, 0)
    return loaded + rejected + duplicate, loaded, rejected, duplicate


# What a bad row set aside in raw.calls holds where a required field is missing.
PLACEHOLDERS = {"text": "''", "timestamp": "TIMESTAMPTZ '1970-01-01 00:00:00+00'"}


def _read_back(con: duckdb.DuckDBPyConnection, source: SourceFile, layout: readers.Layout) -> None:
    """`__texts(source_row, raw_record)`: the text of the rows set aside, as the checked path reads it."""
    if source.format == "parquet":
        con.execute(
            f"""CREATE TEMP TABLE __texts AS
            SELECT file_row_number + 1 AS source_row, {record_json(layout.columns)} AS raw_record
            FROM read_parquet({readers.readable_path(source.path)}, file_row_number = true)
            WHERE file_row_number + 1 IN (SELECT source_row FROM __aside)"""
        )
        return
    numbers = [row[0] for row in con.execute("SELECT source_row FROM __aside").fetchall()]
    texts = pick_lines(source, numbers)
    # The checked path reads CRLF as LF; any other CR it reads its own way.
    texts = {number: text.removesuffix(b"\r") for number, text in texts.items()}
    if len(texts) != len(numbers) or any(b"\r" in text for text in texts.values()):
        raise RowsRejected("a line set aside holds a carriage return")
    table = pa.table(
        {
            "source_row": pa.array(list(texts), pa.int64()),
            "raw_record": pa.array([text.decode("utf-8", "replace") for text in texts.values()], pa.string()),
        }
    )
    con.register("__texts_arrow", table)
    try:
        con.execute("CREATE TEMP TABLE __texts AS SELECT * FROM __texts_arrow")
    finally:
        con.unregister("__texts_arrow")


def _check_no_duplicates(con: duckdb.DuckDBPyConnection, load_id: int) -> int:
    """The rows of this load; a call_id that may repeat sends the file to the checked path.

    Hashes make the check cheap (pipelines/ingest/keys.py); a hash collision only costs
    that detour, never a wrong result.
    """
    loaded, repeats = keys.check_and_record(con, load_id)
    if repeats:
        raise RowsRejected("duplicate call_id")
    return loaded


# What becomes of a valid row (v) of a file, given the first row of its call_id in the file (f)
# and the call already loaded under that call_id (l): the rule of both engines' ingest.
DECISION = """CASE
    WHEN l.call_id IS NOT NULL AND l.loaded_hash = v.content_hash THEN 'duplicate'
    WHEN l.call_id IS NOT NULL THEN 'conflicts with loaded'
    WHEN v.source_row = f.first_row THEN 'load'
    WHEN f.first_hash = v.content_hash THEN 'duplicate'
    ELSE 'conflicts in file'
END"""


def rejected_rows_sql(unit: str) -> str:
    """(source_row, reason, raw_record) of the rows __rows, __checked and __decided turned away."""
    return f"""SELECT source_row, early_reason AS reason, raw_record FROM __rows WHERE early_reason IS NOT NULL
    UNION ALL
    SELECT source_row, reject_reason, raw_record FROM __checked WHERE reject_reason IS NOT NULL
    UNION ALL
    SELECT source_row,
        CASE decision
            WHEN 'conflicts with loaded' THEN
                'call_id ' || call_id || ': conflicts with a loaded row (load ' || loaded_load_id || ')'
            ELSE 'call_id ' || call_id || ': conflicts with {unit} ' || first_row || ' of this file'
        END,
        raw_record
    FROM __decided WHERE decision LIKE 'conflicts%'"""


def _load_checked(
    con: duckdb.DuckDBPyConnection, source: SourceFile, layout: readers.Layout, load_id: int
) -> tuple[int, int, int, int]:
    """Stage the file with numbered rows; load the good ones, quarantine the rest, count duplicates."""
    reading = adapters.reading(layout)
    stored = reading.redacted("raw_record", source)
    unit = "row" if source.format == "parquet" else "line"
    # Numbered rows need DuckDB to keep the file's order while staging it.
    con.execute("SET preserve_insertion_order = true")
    staged = reading.stage(con, source, layout)
    checked = reading.source_reasons(
        validate_sql(
            "SELECT * FROM __rows WHERE early_reason IS NULL",
            staged.raw_column,
            keep=("source_row", "raw_record"),
            typed=staged.typed,
            kinds=staged.kinds,
        )
    )
    content = ", ".join(FIELD_NAMES)
    con.execute(
        f"CREATE TEMP TABLE __checked AS SELECT *, "
        f"CASE WHEN reject_reason IS NULL THEN hash({content}) END AS content_hash FROM ({checked})"
    )
    # Only the loaded calls whose key is one of the file's call_ids' hash can match: read those.
    first, last = keys.loaded_span(con, "SELECT call_id FROM __checked WHERE reject_reason IS NULL")
    con.execute(
        f"""CREATE TEMP TABLE __decided AS
        WITH valid AS (SELECT * FROM __checked WHERE reject_reason IS NULL),
        firsts AS (
            SELECT call_id, min(source_row) AS first_row, arg_min(content_hash, source_row) AS first_hash
            FROM valid GROUP BY call_id
        ),
        loaded AS (
            SELECT call_id, any_value(hash({content})) AS loaded_hash, any_value(load_id) AS loaded_load_id
            FROM raw.calls WHERE ts BETWEEN $first AND $last AND call_id IN (SELECT call_id FROM firsts)
            GROUP BY call_id
        )
        SELECT v.*, f.first_row, l.loaded_load_id,
            {DECISION} AS decision
        FROM valid v JOIN firsts f USING (call_id) LEFT JOIN loaded l USING (call_id)""",
        {"first": first, "last": last},
    )
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        f"INSERT INTO raw.calls ({content}, load_id) SELECT {content}, {load_id} FROM __decided WHERE decision = 'load'"
    )
    keys.record(con, load_id)
    con.execute(
        f"""CREATE TEMP TABLE __bad AS
        SELECT source_row, reason, {stored} AS raw_record FROM (
            SELECT source_row, reason, raw_record FROM __unreadable
            UNION ALL
            {rejected_rows_sql(unit)}
        )"""
    )
    loaded, duplicate = con.execute(
        """SELECT count(*) FILTER (WHERE decision = 'load'), count(*) FILTER (WHERE decision = 'duplicate')
        FROM __decided"""
    ).fetchone()
    rejected, seen_before = _store_rejects(con, source, load_id)
    duplicate += seen_before
    con.execute("RESET preserve_insertion_order")
    return loaded + rejected + duplicate, loaded, rejected, duplicate


def _store_rejects(con: duckdb.DuckDBPyConnection, source: SourceFile, load_id: int) -> tuple[int, int]:
    """Reject the rows of `__bad(source_row, reason, raw_record)`: (rejected, seen in an earlier load)."""
    path = str(source.path)
    # A file that grew since it was loaded holds its old bad lines again: rejected before
    # (same path, line, reason and text), they are duplicates now, not new rejects.
    con.execute(
        f"""INSERT INTO raw.rejects
        SELECT {load_id}, ?, source_row, reason, raw_record FROM __bad b
        WHERE NOT EXISTS (
            SELECT 1 FROM raw.rejects r WHERE r.source_path = ? AND r.source_row = b.source_row
                AND r.reason = b.reason AND r.raw_record IS NOT DISTINCT FROM b.raw_record
        ) ORDER BY source_row""",
        [path, path],
    )
    rejected = con.execute("SELECT count(*) FROM raw.rejects WHERE load_id = ?", [load_id]).fetchone()[0]
    return rejected, con.execute("SELECT count(*) FROM __bad").fetchone()[0] - rejected
