"""What every adapter shares: its field mapping as data, and reading a table-shaped export.

An adapter is a SQL mapping from a source's columns onto the canonical fields (as
text), feeding the same validation and load as a canonical file (`pipelines/ingest/logs.py`):
the direct path streams the mapped rows into validation, the checked path stages the file
with numbered rows (`readers.stage`) and maps the staged rows. A row that cannot map gets
an `early_reason` naming the source field; a canonical rule's reason is renamed after the
source fields the value came from (`source_reasons`).

A table-shaped export (CSV, JSON lines, Parquet) is first read as text columns named as
the adapter spells them: a CSV cell as read, a JSON scalar as its literal text, a JSON
object or array (or a Parquet struct, list or map) as JSON text. Only the columns the
adapter lists are read from JSON lines and Parquet; a CSV is read whole by DuckDB's reader,
but prompt and response columns go no further than the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.errors import UserError
from pipelines.ingest import readers
from pipelines.ingest.fields import FIELD_NAMES, ROW_RULES, quote
from pipelines.ingest.file_columns import ident
from pipelines.ingest.lines import MAX_LINE_BYTES
from pipelines.ingest.readers import Layout, Staged, readable_path
from pipelines.ingest.redact import MAX_RAW_RECORD_CHARS
from pipelines.ingest.sources import SourceFile

WITHHELD = "[withheld: the record could not be read; it may hold prompt text]"


@dataclass(frozen=True)
class Column:
    """A source column an adapter reads."""

    name: str  # as the source spells it
    shown: bool = True  # kept in a rejected row's raw_record (ids, counts, names; never content)


@dataclass(frozen=True)
class Mapping:
    """Where one canonical field comes from: one row of the adapter's README table."""

    field: str
    source: str  # the source fields, named as the source names them (Markdown)
    note: str = ""
    named: str = ""  # the source field as reject reasons name it, when `source` says too much

    @property
    def in_reasons(self) -> str:
        return self.named or self.source.replace("`", "")


class Adapter:
    """One source format. Subclasses set the class attributes and write `mapped`."""

    name = ""  # the --format value
    title = ""  # for messages and the README
    columns: tuple[Column, ...] = ()
    required: tuple[str, ...] = ()  # source columns every file must have
    signature: tuple[str, ...] = ()  # columns that, all present, identify the format

    def __init__(self, route_from: str | None = None) -> None:
        self.route_from = route_from  # --route-from: where the route comes from, when not the default

    def mappings(self) -> tuple[Mapping, ...]:
        raise NotImplementedError

    def mapped(self, relation: str, layout: Layout) -> str:
        """SQL over `relation` (the source columns as text, `source_row`, `early_reason`):
        `source_row`, `early_reason`, `raw_record` and canonical fields as text."""
        raise NotImplementedError

    # -- detection --------------------------------------------------------------------

    def matches(self, found: tuple[str, ...]) -> bool:
        names = {spelling(name) for name in found}
        return all(spelling(column) in names for column in self.signature)

    def check(self, source: SourceFile, layout: Layout) -> None:
        """Refuse a file that lacks a column the mapping cannot do without."""
        names = {spelling(name) for name in layout.found}
        missing = [column for column in self.required if spelling(column) not in names]
        if missing:
            found = ", ".join(layout.found[:12]) + (", ..." if len(layout.found) > 12 else "")
            raise UserError(
                f"{source.path}: not a {self.title} export: no {', '.join(missing)} "
                f"{'column' if len(missing) == 1 else 'columns'} (found: {found or 'nothing readable'})"
            )

    # -- the two load paths (logs.py) -------------------------------------------------

    # On the direct path any bad row may simply fail the statement (the checked path then
    # finds it and says why), so a mapping may parse JSON there without TRY_, once per value.
    on_direct_path = False

    def direct(self, source: SourceFile, layout: Layout) -> tuple[str, Staged]:
        relation = self._source_relation(source, layout, staged=False)
        self.on_direct_path = True
        try:
            mapped = self.mapped(relation, layout)
        finally:
            self.on_direct_path = False
        mapped = f"SELECT * FROM ({mapped}) WHERE early_reason IS NULL OR error(early_reason)"
        return mapped, canonical_text(self.mappings())

    def line_limit_check(self, source: SourceFile) -> str | None:
        return readers.line_limit_check(source)

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile, layout: Layout) -> Staged:
        """`__rows` of mapped records and `__unreadable`, from the file staged as `readers.stage` does."""
        readers.stage(con, source, layout)
        con.execute("ALTER TABLE __rows RENAME TO __source_rows")
        relation = self._source_relation(source, layout, staged=True)
        con.execute(f"CREATE TEMP TABLE __rows AS {self.mapped(relation, layout)}")
        # A line the reader refused is not shown: it may hold a prompt.
        con.execute(f"UPDATE __unreadable SET raw_record = {quote(WITHHELD)} WHERE raw_record IS NOT NULL")
        return canonical_text(self.mappings())

    def redacted(self, raw_record: str, source: SourceFile) -> str:
        """A mapped record's raw_record holds shown columns only: stored as built."""
        return (
            f"CASE WHEN length({raw_record}) > {MAX_RAW_RECORD_CHARS} "
            f"THEN left({raw_record}, {MAX_RAW_RECORD_CHARS}) || ' …[truncated]' ELSE {raw_record} END"
        )

    def source_reasons(self, checked: str) -> str:
        """`checked` with each reason's leading field named after the source fields it came from."""
        sources = {m.field: m.in_reasons for m in self.mappings()}
        rules = {
            "cached_input_tokens + cache_write_tokens": ("cached_input_tokens", "cache_write_tokens", "input_tokens"),
            "cache_write_1h_tokens": ("cache_write_1h_tokens", "cache_write_tokens"),
            "reasoning_tokens": ("reasoning_tokens", "output_tokens"),
        }
        whens = []
        for prefix in {*FIELD_NAMES, *rules}:
            named = [f for f in rules.get(prefix, (prefix,)) if f in sources]
            if named:
                label = prefix + " (from " + "; ".join(sources[f] for f in named) + ")"
                whens.append(f"WHEN {quote(prefix)} THEN {quote(label)}")
        assert len(ROW_RULES) == 3, "name the new row rule's fields in source_reasons"
        prefix = "split_part(reject_reason, ':', 1)"
        renamed = (
            f"CASE WHEN reject_reason IS NULL THEN NULL ELSE "
            f"(CASE {prefix} {' '.join(whens)} ELSE {prefix} END) || substr(reject_reason, length({prefix}) + 1) END"
        )
        return f"SELECT * REPLACE ({renamed} AS reject_reason) FROM ({checked})"

    # -- reading a table-shaped file as text columns ------------------------------------

    def _source_relation(self, source: SourceFile, layout: Layout, staged: bool) -> str:
        spelled = {spelling(name): name for name in layout.found}
        present = {c.name: spelled[spelling(c.name)] for c in self.columns if spelling(c.name) in spelled}
        row = "source_row, early_reason" if staged else "NULL::BIGINT AS source_row, NULL::VARCHAR AS early_reason"
        if source.format == "jsonl":
            # Read each listed key as JSON (absent keys read as NULL); nothing else in the line is read.
            if staged:
                texts = ", ".join(
                    f"{as_text(f'json -> {quote(_json_key(c.name, spelled))}')} AS {ident(c.name)}"
                    for c in self.columns
                )
                return f"SELECT {row}, {texts} FROM (SELECT *, TRY_CAST(raw_record AS JSON) AS json FROM __source_rows)"
            keys = "{" + ", ".join(f"{quote(_json_name(c.name, spelled))}: 'JSON'" for c in self.columns) + "}"
            reader = (
                f"read_json({readable_path(source.path)}, format='newline_delimited', records=true, columns={keys}, "
                f"compression={quote(source.compression or 'none')}, maximum_object_size={MAX_LINE_BYTES})"
            )
            texts = ", ".join(f"{as_text(ident(_json_name(c.name, spelled)))} AS {ident(c.name)}" for c in self.columns)
            return f"SELECT {row}, {texts} FROM {reader}"
        if source.format == "csv":
            reader = "__source_rows" if staged else readers._csv_reader(source, layout)
            texts = ", ".join(
                f"{ident(present[c.name])} AS {ident(c.name)}"
                if c.name in present
                else f"NULL::VARCHAR AS {ident(c.name)}"
                for c in self.columns
            )
            return f"SELECT {row}, {texts} FROM {reader}"
        # Parquet: a nested column as JSON text, any other as its text.
        reader = "__source_rows" if staged else f"read_parquet({readable_path(source.path)})"
        texts = ", ".join(
            f"{parquet_text(ident(present[c.name]))} AS {ident(c.name)}"
            if c.name in present
            else f"NULL::VARCHAR AS {ident(c.name)}"
            for c in self.columns
        )
        return f"SELECT {row}, {texts} FROM {reader}"


def spelling(name: str) -> str:
    """A column name as matched: `startTime`, `start_time` and `StartTime` are one column."""
    return name.lower().replace("_", "")


def _json_name(name: str, spelled: dict[str, str]) -> str:
    return spelled.get(spelling(name), name)


def _json_key(name: str, spelled: dict[str, str]) -> str:
    return '$."' + _json_name(name, spelled).replace('"', '\\"') + '"'


def as_text(json: str) -> str:
    """SQL: a JSON value as text: a string unquoted, null as NULL, anything else as JSON text."""
    return (
        f"CASE json_type({json}) WHEN 'VARCHAR' THEN ({json}) ->> '$' WHEN 'NULL' THEN NULL ELSE ({json})::VARCHAR END"
    )


def parquet_text(column: str) -> str:
    return (
        f"CASE WHEN typeof({column}) LIKE 'STRUCT%' OR typeof({column}) LIKE 'MAP%' OR typeof({column}) LIKE '%[]' "
        f"THEN to_json({column})::VARCHAR ELSE CAST({column} AS VARCHAR) END"
    )


def canonical_text(mappings: tuple[Mapping, ...]) -> Staged:
    """How a mapped relation's columns read: each canonical field a mapping names, by its name, as text."""
    produced = {name.strip() for m in mappings for name in m.field.split(",")}
    return Staged({name: name for name in FIELD_NAMES if name in produced}, frozenset())


def shown_record(columns: tuple[Column, ...]) -> str:
    """SQL: a rejected row's raw_record: its shown source columns as a JSON object, NULLs dropped."""
    pairs = ", ".join(f"{quote(c.name)}, {ident(c.name)}" for c in columns if c.shown)
    return f"json_merge_patch('{{}}', json_object({pairs}))::VARCHAR"


def when_read(text: str) -> str:
    """SQL: `text` for a record the reader parsed, the withheld note for one it refused (early_reason)."""
    return f"CASE WHEN early_reason IS NULL THEN {text} ELSE {quote(WITHHELD)} END"


def tag_value(tags: str, key: str) -> str:
    """SQL: the value of the first `key:value` text in the list `tags`, else NULL."""
    prefix = quote(key + ":")
    return f"nullif(substr(list_filter({tags}, lambda t: starts_with(t, {prefix}))[1], {len(key) + 2}), '')"
