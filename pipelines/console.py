"""Terminal output: progress for long statements, and tables of results.

Formatting only: every number comes from SQL or the catalog.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from pipelines.prices import PriceRow
    from pipelines.prices.catalog import RegionalUplift

# Piped output (CI logs, files) gets a wide page instead of rich's 80 columns, or $COLUMNS.
PIPED_WIDTH = int(os.environ.get("COLUMNS", "0") or 0) or 200
out = Console(width=None if Console().is_terminal else PIPED_WIDTH)  # results: tables, lists
err = Console(stderr=True, width=None if Console(stderr=True).is_terminal else PIPED_WIDTH)  # progress and notes

PROGRESS_MIN_BYTES = 4 << 20  # files smaller than this load too fast for a bar to help


def new_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@contextlib.contextmanager
def statement_progress(progress: Progress | None, con: duckdb.DuckDBPyConnection, description: str) -> Iterator[None]:
    """Show DuckDB's progress through the statements run inside the block.

    DuckDB reports progress per running statement (`query_progress`); a thread polls
    it, so the statement itself runs untouched on the caller's thread.
    """
    if progress is None or progress.disable:
        yield
        return
    task = progress.add_task(description, total=100)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.25):
            try:
                percent = con.query_progress()
            except duckdb.Error:
                continue
            if percent >= 0:
                progress.update(task, completed=percent)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join()
        progress.remove_task(task)


def load_summary(results: list) -> Table:
    """The end-of-run table of `ingest`: one row per file, then the totals."""
    table = Table(title="ingest", title_justify="left", show_footer=len(results) > 1)
    totals = [sum(getattr(r, name) for r in results) for name in COUNTS]
    table.add_column("file", footer="total")
    table.add_column("format")
    table.add_column("status")
    for name, total in zip(COUNTS, totals, strict=True):
        table.add_column(name.removeprefix("rows_"), justify="right", footer=f"{total:,}")
    table.add_column("seconds", justify="right", footer=f"{sum(r.seconds for r in results):.2f}")
    for r in results:
        counts = [f"{getattr(r, name):,}" for name in COUNTS]
        table.add_row(r.path.name, r.format, r.status, *counts, f"{r.seconds:.2f}")
    return table


COUNTS = ("rows_read", "rows_loaded", "rows_rejected", "rows_duplicate")


def price_table(rows: list[PriceRow]) -> Table:
    table = Table(title="prices, USD per 1M tokens", title_justify="left")
    for name in ("provider", "model", "tier", "service tier", "from", "window"):
        table.add_column(name, no_wrap=True)
    for name in ("input", "cached", "cache write", "1h write", "output", "batch x", "web search /1k"):
        table.add_column(name, justify="right")
    table.add_column("long context", no_wrap=True)
    table.add_column("source", no_wrap=True, overflow="ellipsis", max_width=24)
    for r in rows:
        long_context = (
            f"> {r.long_context_threshold:,}: {_price(r.long_context_input)} / {_price(r.long_context_output)}"
            if r.long_context_threshold
            else ""
        )
        table.add_row(
            r.provider,
            r.model,
            r.model_tier or "",
            r.service_tier,
            instant(r.effective_from),
            window_text(r),
            *(_price(v) for v in (r.input, r.cached_input, r.cache_write, r.cache_write_1h, r.output)),
            _price(r.batch_multiplier),
            _price(r.web_search_per_1k),
            long_context,
            r.source,
        )
    return table


def instant(value: datetime) -> str:
    """An effective instant: its date when it is midnight UTC, else the date and time with Z."""
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ" if value.second else "%Y-%m-%dT%H:%MZ")


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def window_text(row: PriceRow) -> str:
    """'peak: mon-fri 01:00-04:00 UTC'; empty for a period's own row."""
    if row.window is None:
        return ""
    days = row.window_weekdays or ()
    if len(days) == 7:
        day_text = "every day"
    elif days == tuple(range(days[0], days[-1] + 1)):
        day_text = f"{DAY_NAMES[days[0] - 1]}-{DAY_NAMES[days[-1] - 1]}"
    else:
        day_text = ",".join(DAY_NAMES[d - 1] for d in days)
    start, end = row.window_start_minute or 0, row.window_end_minute or 0
    hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    return f"{row.window}: {day_text} {hours} {row.window_time_zone}"


def uplift_table(uplifts: list[RegionalUplift]) -> Table:
    table = Table(title="regional uplifts of the token cost, by logged region", title_justify="left")
    for name in ("provider", "models", "regions", "from"):
        table.add_column(name, no_wrap=True)
    table.add_column("multiplier", justify="right")
    for u in uplifts:
        table.add_row(u.provider, u.models, ", ".join(u.regions), instant(u.effective_from), _price(u.multiplier))
    return table


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def unpriced_table(rows: list[tuple]) -> Table:
    table = Table(title="logged calls with no price at their time", title_justify="left")
    table.add_column("provider/model")
    table.add_column("calls", justify="right")
    for name in ("first", "last", "why"):
        table.add_column(name)
    for subject, calls, first, last, why in rows:
        table.add_row(subject, f"{calls:,}", f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", why)
    return table


def unmapped_billed_table(rows: list[tuple]) -> Table:
    table = Table(title="billed model names with no priced model (add an alias to the catalog)", title_justify="left")
    table.add_column("provider/model as billed")
    table.add_column("lines", justify="right")
    for name in ("first", "last", "why"):
        table.add_column(name)
    for subject, lines, first, last, why in rows:
        table.add_row(subject, f"{lines:,}", f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", why)
    return table


def failure_tables(exc: BaseException) -> list[Table]:
    """For each failed audit: what it checks, where it is declared, and sample offending rows."""
    tables = []
    for result in getattr(exc, "failed", []):
        audit = result.audit
        table = Table(
            title=f"audit {audit.name} on {audit.model} ({audit.source}): {result.failing_rows:,} offending row(s)",
            title_justify="left",
        )
        for column in result.columns:
            table.add_column(column)
        for row in result.sample:
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        tables.append(table)
    return tables
