"""Terminal output: progress for long statements, and tables of results."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

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
