"""`routeledger ingest billing`: find the files, recognise each format, load each file alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.progress import Progress

from pipelines.errors import UserError, first_line
from pipelines.ingest import readers
from pipelines.ingest.billing import anthropic, focus, openai
from pipelines.ingest.billing.stage import load_staged
from pipelines.ingest.loads import Counts, LoadResult, load_file
from pipelines.ingest.sources import SourceFile, expand
from pipelines.warehouse import Warehouse

# suffix -> (format, compression), as sources.FORMATS for logs
FILE_TYPES = {
    ".json": ("json", None),
    ".json.gz": ("json", "gzip"),
    ".jsonl": ("json", None),
    ".jsonl.gz": ("json", "gzip"),
    ".csv": ("csv", None),
    ".csv.gz": ("csv", "gzip"),
    ".tsv": ("csv", None),
    ".parquet": ("parquet", None),
}


@dataclass(frozen=True)
class Format:
    name: str
    target: str  # raw.billing_lines | raw.billing_usage
    stage: Callable[[duckdb.DuckDBPyConnection, SourceFile], None]
    description: str
    # tried when `stage` fails on a value its typed reader refuses: a slower, lenient read
    fallback: Callable[[duckdb.DuckDBPyConnection, SourceFile], None] | None = None

    @property
    def reads_json(self) -> bool:
        """Whether the format is JSON pages (else CSV or Parquet)."""
        return self.name not in ("focus", "openai_costs_csv")


FORMATS = {
    f.name: f
    for f in (
        Format(
            "openai_costs",
            "raw.billing_lines",
            openai.stage_costs,
            "OpenAI Costs API JSON pages",
            openai.stage_costs_text,
        ),
        Format("openai_usage", "raw.billing_usage", openai.stage_usage, "OpenAI Usage API (completions) JSON pages"),
        Format("anthropic_cost_report", "raw.billing_lines", anthropic.stage_costs, "Anthropic cost report JSON"),
        Format("anthropic_usage_report", "raw.billing_usage", anthropic.stage_usage, "Anthropic usage report JSON"),
        Format("focus", "raw.billing_lines", focus.stage, "FOCUS 1.0-1.3 CSV or Parquet"),
        Format("openai_costs_csv", "raw.billing_lines", focus.stage_openai_csv, "OpenAI dashboard cost CSV"),
    )
}


def run_ingest_billing(
    db: str | Path | None, paths: list[str], forced: str | None = None, progress: Progress | None = None
) -> tuple[list[LoadResult], list[Path]]:
    """Load billing export files, each in its own transaction; every file's format is known before any loads."""
    if forced is not None and forced not in FORMATS:
        raise UserError(f"--format {forced}: unknown (expected one of {', '.join(FORMATS)})")
    files, skipped = expand(paths, FILE_TYPES)
    with Warehouse.at(db).writer("ingest billing") as con:
        formats: dict[Path, str | Unreadable] = {}
        for source in files:
            if source.size_bytes:
                try:
                    formats[source.path] = forced or detect(con, source)
                except Unreadable as exc:  # fails alone; a file of an unknown kind stops the run here
                    formats[source.path] = exc
        results = []
        for i, source in enumerate(files, start=1):
            if source.size_bytes == 0:
                results.append(LoadResult(source.path, source.label, "empty"))
                continue
            if isinstance(found := formats[source.path], Unreadable):
                results.append(LoadResult(source.path, source.label, "failed", error=str(found)))
                continue
            fmt = FORMATS[found]
            if (source.format == "json") != fmt.reads_json:
                reads = "JSON" if fmt.reads_json else "CSV or Parquet"
                error = f"{source.path}: --format {fmt.name} reads {reads}, not {source.label}"
                results.append(LoadResult(source.path, fmt.name, "failed", error=error))
                continue
            label = f"[{i}/{len(files)}] {source.path.name}"
            loaders = [(_loader(fmt, fmt.stage), "loading")]
            if fmt.fallback is not None:
                loaders.append((_loader(fmt, fmt.fallback), "a value is unreadable, reading as text"))
            try:
                results.append(load_file(con, source, "billing", fmt.name, loaders, progress, label))
            except UserError as exc:
                results.append(LoadResult(source.path, fmt.name, "failed", error=str(exc)))
        return results, skipped


def _loader(
    fmt: Format, stage: Callable[[duckdb.DuckDBPyConnection, SourceFile], None]
) -> Callable[[duckdb.DuckDBPyConnection, SourceFile, int], Counts]:
    def load(con: duckdb.DuckDBPyConnection, source: SourceFile, load_id: int) -> Counts:
        # Rows are numbered in file order (source_row): DuckDB must keep that order while staging.
        con.execute("SET preserve_insertion_order = true")
        stage(con, source)
        return load_staged(con, source, load_id, fmt.target)

    return load


class Unreadable(UserError):
    """A file DuckDB cannot read as its file type (broken JSON, a bad Parquet footer)."""


def detect(con: duckdb.DuckDBPyConnection, source: SourceFile) -> str:
    """The billing format of a file, from its content: JSON keys, CSV header or Parquet schema."""
    try:
        if source.format == "json":
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_json({readers.readable_path(source.path)}, format='auto', "
                "maximum_object_size=1073741824, sample_size=-1)"
            ).fetchall()
            found = " ".join(type_ for name, type_, *_ in described if name == "data").lower()
            if "num_model_requests" in found:
                return "openai_usage"
            if "amount struct(" in found and "line_item" in found:
                return "openai_costs"
            if "uncached_input_tokens" in found and "amount" not in found:
                return "anthropic_usage_report"
            if "amount varchar" in found and ("token_type" in found or "cost_type" in found or "currency" in found):
                return "anthropic_cost_report"
            columns: set[str] = set()
        elif source.format == "csv":
            try:
                columns = set(readers.inspect(con, source).header)
            except UserError as exc:
                raise Unreadable(str(exc)) from exc
        else:
            columns = {
                row[0]
                for row in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({readers.readable_path(source.path)})"
                ).fetchall()
            }
    except duckdb.Error as exc:
        raise Unreadable(f"{source.path}: cannot read as {source.label}: {first_line(exc)}") from exc
    if {"BilledCost", "ChargePeriodStart"} <= columns:
        return "focus"
    if {"amount_value", "line_item", "start_time"} <= columns:
        return "openai_costs_csv"
    raise UserError(
        f"{source.path}: not a billing export routeledger knows "
        f"(expected one of: {'; '.join(f.description for f in FORMATS.values())}); --format forces one"
    )
