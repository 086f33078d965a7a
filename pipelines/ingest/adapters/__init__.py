"""Log formats other than the canonical one: each maps its source onto the canonical fields in SQL.

A file's format is found from its content (its CSV header, JSON keys or Parquet schema), or
forced with `routeledger ingest logs --format`. Whatever the format, the rows go through the
same validation and load as a canonical file (`pipelines/ingest/logs.py`): the same rules,
reject reasons (naming the source fields), counts, idempotency and one transaction per file.
"""

from __future__ import annotations

from typing import Protocol

import duckdb

from pipelines.errors import UserError, first_line
from pipelines.ingest import readers, redact
from pipelines.ingest.adapters.base import Adapter
from pipelines.ingest.adapters.langfuse import Langfuse
from pipelines.ingest.adapters.litellm import LiteLLM
from pipelines.ingest.adapters.otel import OTel
from pipelines.ingest.fields import REQUIRED
from pipelines.ingest.lines import MAX_LINE_BYTES
from pipelines.ingest.readers import Layout, Staged
from pipelines.ingest.sources import SourceFile

ADAPTERS: dict[str, type[Adapter]] = {adapter.name: adapter for adapter in (LiteLLM, OTel, Langfuse)}
FORMATS = ("canonical", *ADAPTERS)


class Reading(Protocol):
    """How logs.py reads one file: the canonical readers, or an adapter over them."""

    def direct(self, source: SourceFile, layout: Layout) -> tuple[str, Staged]: ...
    def line_limit_check(self, source: SourceFile) -> str | None: ...
    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile, layout: Layout) -> Staged: ...
    def redacted(self, raw_record: str, source: SourceFile) -> str: ...
    def source_reasons(self, checked: str) -> str: ...


class Canonical:
    """The canonical log, read as it is."""

    direct = staticmethod(readers.direct)
    line_limit_check = staticmethod(readers.line_limit_check)
    stage = staticmethod(readers.stage)
    redacted = staticmethod(redact.redacted)

    @staticmethod
    def source_reasons(checked: str) -> str:
        return checked


def reading(layout: Layout) -> Reading:
    if layout.adapter == "canonical":
        return Canonical()
    return ADAPTERS[layout.adapter](layout.route_from)


def check_format(log_format: str | None) -> None:
    if log_format is not None and log_format not in FORMATS:
        raise UserError(f"--format {log_format}: unknown (expected one of {', '.join(FORMATS)})")


def inspect(
    con: duckdb.DuckDBPyConnection, source: SourceFile, log_format: str | None = None, route_from: str | None = None
) -> Layout:
    """The file's layout, with its format: forced, else canonical when it has the canonical fields,
    else the first adapter whose columns it has."""
    layout = _json_document_keys(con, source) if source.format == "json" else readers.inspect(con, source)
    # A file with every required canonical field is canonical, whatever else it holds.
    canonical = all(name in layout.columns for name in REQUIRED)
    detected = next((n for n, a in ADAPTERS.items() if a().matches(layout.found)), "canonical")
    name = log_format or ("canonical" if canonical else detected)
    if name == "canonical":
        if source.format == "json":
            raise UserError(f"{source.path}: a .json file is read as an OpenTelemetry (OTLP/JSON) export only")
        if route_from:
            raise UserError(
                f"{source.path}: --route-from applies to LiteLLM, OpenTelemetry and Langfuse logs, not canonical"
            )
        return layout
    adapter = ADAPTERS[name](route_from)
    adapter.check(source, layout)
    return Layout(layout.columns, layout.found, layout.header, layout.delimiter, name, route_from)


def _json_document_keys(con: duckdb.DuckDBPyConnection, source: SourceFile) -> Layout:
    """A .json file (an OTLP/JSON export): the keys of its first document."""
    try:
        found = con.execute(
            f"SELECT json_keys(json) FROM read_json_objects({readers.readable_path(source.path)}, format='auto', "
            f"compression='{source.compression or 'none'}', maximum_object_size={MAX_LINE_BYTES}) LIMIT 1"
        ).fetchone()
    except duckdb.Error as exc:
        raise UserError(f"{source.path}: cannot read as JSON: {first_line(exc)}") from exc
    return Layout({}, tuple(found[0] if found else ()))


def label(source: SourceFile, layout: Layout) -> str:
    """raw.loads.format: `csv`, or `litellm.csv` for an adapter's file."""
    return source.label if layout.adapter == "canonical" else f"{layout.adapter}.{source.label}"


def markdown_table(name: str) -> str:
    """An adapter's field mapping as a Markdown table, for the README."""
    lines = ["| canonical field | from | notes |", "|---|---|---|"]
    for mapping in ADAPTERS[name]().mappings():
        fields = ", ".join(f"`{f.strip()}`" for f in mapping.field.split(","))
        lines.append(f"| {fields} | {mapping.source} | {mapping.note} |")
    return "\n".join(lines)


def markdown_tables() -> dict[str, str]:
    """README blocks by name: `adapter:<name>`."""
    return {f"adapter:{name}": markdown_table(name) for name in ADAPTERS}
