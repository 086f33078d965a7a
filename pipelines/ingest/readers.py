"""The SQL that reads one routing-log file, per format, for the two ways of loading it.

DuckDB's readers do all the reading (no Python loop over rows). `direct` streams the
file straight into validation; `stage` copies it into numbered temp tables so that
every rejected row can be reported with its line (or row) number and its text:

- `__rows(source_row, raw_record, early_reason, <the file's columns>)`: one row per
  record; `early_reason` is set when the record is not even an object (JSONL).
- `__unreadable(source_row, reason, raw_record)`: lines the reader itself refused
  (invalid UTF-8, a line over the size limit, a broken CSV row).

A line is over the limit when it holds more than MAX_LINE_BYTES bytes, its line ending not
counted, on either path.
"""

from __future__ import annotations

import atexit
import csv
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.errors import UserError, first_line
from pipelines.ingest.fields import BY_NAME, FIELD_NAMES, FIELDS, quote
from pipelines.ingest.file_columns import Columns, ident, nested_kinds, raw_columns, record_json, typed_fields
from pipelines.ingest.lines import MAX_LINE_BYTES, header_line, readable
from pipelines.ingest.redact import json_path
from pipelines.ingest.sources import SourceFile

# The line reader's delimiter: a raw control character, which valid JSON never holds, so a
# line holding one has two columns and is refused. (Not '\x01' in SQL: DuckDB reads no
# escapes, and the four characters occur in valid JSON after an escaped backslash.)
LINE_DELIMITER = "\x01"
SAMPLE_LINES = 10_000  # JSON lines whose keys decide whether a file is a routing log

CSV_DELIMITERS = (",", "\t", ";", "|")


@dataclass(frozen=True)
class Layout:
    """What a file holds, found before it loads."""

    columns: Columns
    found: tuple[str, ...]  # every column or key name seen, for messages
    header: tuple[str, ...] = ()  # CSV: all columns in order
    delimiter: str = ","
    adapter: str = "canonical"  # the log's shape: canonical, litellm, otel, langfuse (pipelines/ingest/adapters)
    route_from: str | None = None  # an adapter's route source (--route-from)


@dataclass(frozen=True)
class Staged:
    raw_column: dict[str, str]
    typed: frozenset[str]
    kinds: dict[str, str] = field(default_factory=dict)  # see fields.validate_sql


# DuckDB's readers take a path as a glob pattern, so a file named `a[1].jsonl` would read
# `a1.jsonl` instead. Such a file is read through a plainly named link to it.
GLOB_CHARACTERS = frozenset("*?[]{}")
_links: dict[Path, Path] = {}


def readable_path(path: Path) -> str:
    """SQL: the path DuckDB should read for this file, as a string literal, never a pattern."""
    if not GLOB_CHARACTERS & set(str(path)):
        return quote(str(path))
    if path not in _links:
        folder = Path(tempfile.mkdtemp(prefix="routeledger-link-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        link = folder / ("file" + "".join(path.suffixes[-2:]))
        link.symlink_to(path)
        _links[path] = link
    return quote(str(_links[path]))


def inspect(con: duckdb.DuckDBPyConnection, source: SourceFile) -> Layout:
    """The canonical fields a file carries, from its header, its schema or a sample of its keys."""
    header: tuple[str, ...] = ()
    delimiter = ","
    try:
        if source.format == "csv":
            header, delimiter = _csv_header(source)
            described = [(name, "VARCHAR") for name in header]
        else:
            described = [tuple(row[:2]) for row in con.execute(_describe_sql(source)).fetchall()]
    except duckdb.Error as exc:
        raise UserError(f"{source.path}: cannot read as {source.label}: {first_line(exc)}") from exc
    columns: Columns = {}
    for name, type_ in described:
        key = name if source.format == "jsonl" else name.strip().lower()
        if key in BY_NAME:
            if key in columns:
                raise UserError(f"{source.path}: two columns mean {key}: {columns[key][0]!r} and {name!r}")
            columns[key] = (name, type_)
    return Layout(columns, tuple(name for name, _ in described), header, delimiter)


def _csv_header(source: SourceFile) -> tuple[tuple[str, ...], str]:
    """The header of a CSV file and its delimiter, read from the first line.

    Named explicitly, these spare DuckDB's dialect sniffer, which gives up on a file
    whose sample holds a malformed row; here such a row is a reject like any other.
    """
    line = header_line(source).lstrip("\ufeff")
    delimiter = max(CSV_DELIMITERS, key=line.count)
    header = next(csv.reader([line], delimiter=delimiter), [])
    if len(set(header)) != len(header):
        raise UserError(f"{source.path}: the header names a column twice: {line[:200]}")
    return tuple(header), delimiter


def _describe_sql(source: SourceFile) -> str:
    """SQL returning (name, type) rows: a Parquet schema, or the keys of a sample of JSON lines."""
    if source.format == "jsonl":
        # Not read_json_objects: a line over its buffer among the sample would fail the file.
        return (
            "SELECT DISTINCT unnest(json_keys(json)) AS name, 'VARCHAR' AS type FROM ("
            "SELECT json FROM (SELECT TRY_CAST(line AS JSON) AS json "
            f"FROM {_line_reader(source, ', strict_mode=false, ignore_errors=true')}) "
            f"WHERE json IS NOT NULL LIMIT {SAMPLE_LINES}) WHERE json_type(json) = 'OBJECT' ORDER BY name"
        )
    return f"DESCRIBE SELECT * FROM read_parquet({readable_path(source.path)})"


def direct(source: SourceFile, layout: Layout) -> tuple[str, Staged]:
    """(relation, how its columns read) for streaming the file into validation."""
    columns = layout.columns
    if source.format == "jsonl":
        # Every field is read as text, which hides a JSON object, array or boolean in a text
        # field; a value that may be one sends the file to the checked path, which knows.
        relation = (
            f"SELECT * FROM read_json({readable_path(source.path)}, format='newline_delimited', records=true, "
            f"columns={_reader_struct()}, compression={_compression(source)}, "
            f"maximum_object_size={MAX_LINE_BYTES})"
        )
        suspect = {
            f.name: f"CASE WHEN left({f.name}, 1) IN ('{{', '[') OR {f.name} IN ('true', 'false') THEN 'SUSPECT' END"
            for f in FIELDS
            if f.kind in ("text", "enum")
        }
        return relation, Staged({name: name for name in FIELD_NAMES}, frozenset(), suspect)
    if source.format == "csv":
        return f"SELECT * FROM {_csv_reader(source, layout)}", Staged(raw_columns(columns, frozenset()), frozenset())
    typed = typed_fields(columns)
    relation = f"SELECT * FROM read_parquet({readable_path(source.path)})"
    return relation, Staged(raw_columns(columns, typed), typed, nested_kinds(columns))


def line_limit_check(source: SourceFile) -> str | None:
    """SQL for the direct path that fails when a line is over the limit; None for Parquet.

    The readers' own limits are not one rule: read_json loads lines of up to twice its
    maximum_object_size and fails on longer ones, and read_csv drops a last line longer than
    its buffer without a word. DuckDB's line reader, its buffer past both, measures each line.
    """
    if source.format == "parquet":
        return None
    reader = _line_reader(source, ", strict_mode=false", max_line_size=4 * MAX_LINE_BYTES)
    return (
        f"SELECT CASE WHEN max(strlen(line)) > {MAX_LINE_BYTES} THEN error('a line is over the limit') END "
        f"FROM {reader}"
    )


def line_counts(source: SourceFile) -> str:
    """SQL for a JSON-lines file, failing like line_limit_check: (lines, lines not starting with `{`).

    When every line starts with `{`, read_json returns one record per line, in order, or
    fails: the n-th record it returns is line n, which is what lets the direct path
    number the rows it sets aside without reading the file row by row.
    """
    reader = _line_reader(source, ", strict_mode=false", max_line_size=4 * MAX_LINE_BYTES)
    return (
        f"SELECT count(*), count(*) FILTER (WHERE NOT starts_with(line, '{{')), "
        f"CASE WHEN max(strlen(line)) > {MAX_LINE_BYTES} THEN error('a line is over the limit') END "
        f"FROM {reader}"
    )


def may_be_nested(source: SourceFile) -> str:
    """SQL, on the direct JSON-lines relation: true when a value read as text may be a JSON
    object, array or boolean, which only the checked path tells apart (its reasons differ)."""
    if source.format != "jsonl":
        return "false"
    checks = [f"left({f.name}, 1) IN ('{{', '[')" for f in FIELDS]
    checks += [f"{f.name} IN ('true', 'false')" for f in FIELDS if f.kind in ("text", "enum")]
    return "coalesce(" + " OR ".join(checks) + ", false)"


def stage(con: duckdb.DuckDBPyConnection, source: SourceFile, layout: Layout) -> Staged:
    """Create `__rows` and `__unreadable` for the file; see the module docstring."""
    if source.format == "jsonl":
        return _stage_jsonl(con, source)
    if source.format == "csv":
        return _stage_csv(con, source, layout)
    return _stage_parquet(con, source, layout.columns)


# -- JSON lines --------------------------------------------------------------------


def _stage_jsonl(con: duckdb.DuckDBPyConnection, source: SourceFile) -> Staged:
    # Each physical line is one row of a one-column "CSV" whose delimiter cannot occur
    # in valid JSON, so the reader keeps blank and broken lines in place (their rowid
    # is their position) and sets aside only the lines it cannot decode.
    with readable(source, placeholder=b"over the" + LINE_DELIMITER.encode() + b"limit") as text:
        con.execute(f"CREATE TEMP TABLE __lines AS SELECT line FROM {_line_reader(text.source, store_rejects=True)}")
    # The copy holds no line over the limit, so none is dropped unread; were one ever
    # dropped, the file fails rather than lose it.
    read = con.execute("SELECT (SELECT count(*) FROM __lines) + (SELECT count(DISTINCT line) FROM __reject_errors)")
    if (read := read.fetchone()[0]) != text.lines:
        raise UserError(f"{source.path}: the reader returned {read} of its {text.lines} lines; the file is not loaded")
    _stage_unreadable(
        con,
        {
            "INVALID ENCODING": "line is not valid UTF-8 (invalid bytes shown as ?)",
            "TOO MANY COLUMNS": "not valid JSON: a raw control character (\\x01 or a lone CR) in the line",
        },
    )
    position = _position(con, "__lines")
    line_number = _line_number(con, "kept_position", header_lines=0)
    _reject_over_limit(con, source, text.over_limit)
    paths = "[" + ", ".join(quote(json_path(name)) for name in FIELD_NAMES) + "]"
    con.execute(
        f"""CREATE TEMP TABLE __rows AS
        SELECT source_row, line AS raw_record,
            CASE WHEN json IS NULL THEN 'not valid JSON'
                 WHEN json_type(json) <> 'OBJECT' THEN 'not a JSON object, got ' || lower(json_type(json))
                 WHEN len(keys) <> len(list_distinct(keys))
                 THEN 'key ' || left(list_filter(keys, lambda k, i: list_position(keys, k) < i)[1], 60)
                     || ': appears twice in the object'
            END AS early_reason,
            CASE WHEN json_type(json) = 'OBJECT' THEN json_transform(json, {_json_structure()}) END AS record,
            CASE WHEN json_type(json) = 'OBJECT' THEN json_type(json, {paths}) END AS kinds
        FROM (
            SELECT *, CASE WHEN json_type(json) = 'OBJECT' THEN json_keys(json) END AS keys FROM (
                SELECT {line_number} AS source_row, line, TRY_CAST(line AS JSON) AS json
                FROM (SELECT {position} AS kept_position, line FROM __lines)
                WHERE line IS NOT NULL AND trim(line) <> ''
            )
        )"""
    )
    return Staged(
        {name: f"struct_extract(record, {quote(name)})" for name in FIELD_NAMES},
        frozenset(),
        {name: f"kinds[{i}]" for i, name in enumerate(FIELD_NAMES, start=1)},
    )


# -- CSV -----------------------------------------------------------------------------


def _stage_csv(con: duckdb.DuckDBPyConnection, source: SourceFile, layout: Layout) -> Staged:
    columns = layout.columns
    # The placeholder of an over-long line: one column more than the header, a row the reader
    # refuses (not empty ones: a line of delimiters alone reads as a row of NULLs).
    placeholder = layout.delimiter.encode().join([b"-"] * (len(layout.header) + 1))
    with readable(source, placeholder=placeholder) as text:
        reader = _csv_reader(text.source, layout, store_rejects=True)
        con.execute(f"CREATE TEMP TABLE __file AS SELECT * FROM {reader}")
    _stage_unreadable(
        con,
        {
            "INVALID ENCODING": "line is not valid UTF-8 (invalid bytes shown as ?)",
            "TOO MANY COLUMNS": f"more columns than the {len(layout.header)} of the header",
            "MISSING COLUMNS": f"fewer columns than the {len(layout.header)} of the header",
            "LINE SIZE OVER MAXIMUM": f"the row is over the {MAX_LINE_BYTES}-byte limit",
        },
    )
    position = _position(con, "__file")
    row_number = _line_number(con, "kept_position", header_lines=1)
    # The reader numbers rows; a quoted value may span lines, and each newline inside a row,
    # kept or refused, moves the rows after it down a line.
    newlines = " + ".join(
        f"coalesce(length({ident(name)}) - length(replace({ident(name)}, chr(10), '')), 0)" for name in layout.header
    )
    refused = "rtrim(raw_record, chr(10))"
    con.execute(
        f"""CREATE TEMP TABLE __kept AS
        SELECT {position} AS kept_position, {newlines or "0"} AS newlines, * FROM __file"""
    )
    con.execute(
        f"""CREATE TEMP TABLE __numbered AS
        SELECT kept_position, row_number, row_number + coalesce(sum(newlines) OVER (
                ORDER BY row_number ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS source_row
        FROM (
            SELECT kept_position, {row_number} AS row_number, newlines FROM __kept
            UNION ALL
            SELECT NULL, source_row, length({refused}) - length(replace({refused}, chr(10), '')) FROM __unreadable
        )"""
    )
    con.execute(
        """UPDATE __unreadable u SET source_row = n.source_row FROM __numbered n
        WHERE n.kept_position IS NULL AND n.row_number = u.source_row"""
    )
    _reject_over_limit(con, source, text.over_limit)
    con.execute(
        f"""CREATE TEMP TABLE __rows AS
        SELECT n.source_row, {record_json(columns)} AS raw_record, NULL::VARCHAR AS early_reason,
            k.* EXCLUDE (kept_position, newlines)
        FROM __kept k JOIN __numbered n USING (kept_position)"""
    )
    return Staged(raw_columns(columns, frozenset()), frozenset())


# -- Parquet -------------------------------------------------------------------------


def _stage_parquet(con: duckdb.DuckDBPyConnection, source: SourceFile, columns: Columns) -> Staged:
    con.execute("CREATE TEMP TABLE __unreadable (source_row BIGINT, reason VARCHAR, raw_record VARCHAR)")
    con.execute(
        f"""CREATE TEMP TABLE __rows AS
        SELECT file_row_number + 1 AS source_row, {record_json(columns)} AS raw_record,
            NULL::VARCHAR AS early_reason, *
        FROM read_parquet({readable_path(source.path)}, file_row_number=true)"""
    )
    typed = typed_fields(columns)
    return Staged(raw_columns(columns, typed), typed, nested_kinds(columns))


# -- helpers -------------------------------------------------------------------------


def _stage_unreadable(con: duckdb.DuckDBPyConnection, reasons: dict[str, str]) -> None:
    """`__unreadable` from the reader's reject tables: one row per refused line."""
    cases = " ".join(f"WHEN {quote(kind)} THEN {quote(text)}" for kind, text in reasons.items())
    con.execute(
        f"""CREATE TEMP TABLE __unreadable AS
        SELECT line AS source_row,
            any_value(CASE error_type {cases} ELSE lower(error_type) || ': ' || error_message END) AS reason,
            any_value(ltrim(csv_line, chr(10) || chr(13))) AS raw_record
        FROM __reject_errors GROUP BY line"""
    )


def _position(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """SQL: the 1-based position of a row in a staged temp table, in file order.

    With insertion order preserved, a staged table's rowids run in file order; inside
    a transaction they start at an offset, so positions count from the first one.
    """
    first = con.execute(f"SELECT coalesce(min(rowid), 0) FROM {table}").fetchone()[0]
    return f"(rowid - {first} + 1)"


def _line_number(con: duckdb.DuckDBPyConnection, position: str, header_lines: int) -> str:
    """SQL: the file line of the staged row whose column `position` is its place among the rows kept.

    Lines the reader refused are missing from the staged table, so each one before a
    row pushes that row's line number down by one.
    """
    if not con.execute("SELECT count(*) FROM __unreadable").fetchone()[0]:
        return f"{position} + {header_lines}"
    con.execute(
        f"""CREATE TEMP TABLE __shift AS
        SELECT source_row - {header_lines} - row_number() OVER (ORDER BY source_row) AS kept_before
        FROM __unreadable"""
    )
    return f"{position} + {header_lines} + (SELECT count(*) FROM __shift WHERE kept_before < {position})"


def _reject_over_limit(con: duckdb.DuckDBPyConnection, source: SourceFile, over_limit: dict[int, int]) -> None:
    """Give the placeholders of over-long lines their reason; none of such a line's text is kept."""
    if not over_limit:
        return
    values = ", ".join(f"({line}, {length})" for line, length in over_limit.items())
    marked = con.execute(
        f"""UPDATE __unreadable u SET raw_record = NULL,
            reason = 'line is ' || v.length || ' bytes, over the {MAX_LINE_BYTES}-byte limit'
        FROM (VALUES {values}) v(line, length) WHERE u.source_row = v.line"""
    )
    if marked.fetchone()[0] != len(over_limit):
        # A placeholder inside a quoted CSV value is read as text: the file fails rather than load it.
        line = min(over_limit)
        raise UserError(
            f"{source.path}: line {line} is over the {MAX_LINE_BYTES}-byte limit inside a quoted value; "
            "split or drop it and load the file again"
        )


def _rejects_options(store_rejects: bool) -> str:
    if not store_rejects:
        return ""
    return ", store_rejects=true, rejects_table='__reject_errors', rejects_scan='__reject_scans'"


def _line_reader(
    source: SourceFile, options: str = "", store_rejects: bool = False, max_line_size: int = MAX_LINE_BYTES + 1
) -> str:
    """A reader yielding each physical line as one text column `line` (max_line_size counts its newline).

    A one-column "CSV" whose delimiter cannot occur in valid JSON: blank and broken
    lines keep their place, and only lines that cannot be decoded are set aside.
    """
    return (
        f"read_csv({readable_path(source.path)}, columns={{'line': 'VARCHAR'}}, header=false, "
        f"delim=chr({ord(LINE_DELIMITER)}), quote='', escape='', auto_detect=false, "
        f"compression={_compression(source)}, max_line_size={max_line_size}, "
        f"buffer_size={max(max_line_size, 2 * MAX_LINE_BYTES)}{options}{_rejects_options(store_rejects)})"
    )


def _csv_reader(source: SourceFile, layout: Layout, store_rejects: bool = False) -> str:
    columns = "{" + ", ".join(f"{quote(name)}: 'VARCHAR'" for name in layout.header) + "}"
    return (
        f"read_csv({readable_path(source.path)}, columns={columns}, header=true, auto_detect=false, "
        f"delim={quote(layout.delimiter)}, quote='\"', escape='\"', "
        f"compression={_compression(source)}, max_line_size={MAX_LINE_BYTES + 1}, "
        f"buffer_size={2 * MAX_LINE_BYTES}{_rejects_options(store_rejects)})"
    )


def _reader_struct(ts_type: str = "VARCHAR") -> str:
    """read_json's `columns`: every field as text, optionally ts in another type."""
    return "{" + ", ".join(f"{quote(f.name)}: {quote(ts_type if f.name == 'ts' else 'VARCHAR')}" for f in FIELDS) + "}"


def _json_structure() -> str:
    """The structure argument of json_transform: every field as text, as read_json's `columns`."""
    return quote("{" + ", ".join(f'"{f.name}": "VARCHAR"' for f in FIELDS) + "}")


def _compression(source: SourceFile) -> str:
    return quote(source.compression or "none")
