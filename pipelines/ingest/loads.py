"""One file, one load: the skeleton every ingest shares (routing logs, billing exports).

A file whose sha256 was loaded before is skipped. Otherwise it gets a load id and is
loaded by the first of its loaders that succeeds, each in its own transaction; its
rows, its `raw.loads` row and its rejects commit together or not at all. A loader that
meets rows it cannot load as is raises RowsRejected and the next one (a slower, row by
row checked path) tries. A file that changes while it is read is read again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
from rich.progress import Progress

from pipelines.console import PROGRESS_MIN_BYTES, statement_progress
from pipelines.errors import UserError, first_line
from pipelines.ingest.sources import Sha256, SourceFile


class RowsRejected(Exception):
    """The direct load met a row it cannot load as is."""


class FileChanged(Exception):
    """The file's size or mtime moved while it was being loaded."""


CHANGE_RETRIES = 3


@dataclass
class LoadResult:
    path: Path
    format: str
    status: str  # loaded | loaded with rejects | already loaded | empty | failed
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    seconds: float = 0.0
    error: str = ""  # why a file failed (status "failed")
    rows_replaced: int = 0  # billing: earlier lines a restated export replaced


class Counts(NamedTuple):
    """What one loader did with a file; read = loaded + rejected + duplicate."""

    read: int
    loaded: int
    rejected: int
    duplicate: int
    replaced: int = 0
    replaced_load_ids: str | None = None


# (connection, file, load id) -> counts
Loader = Callable[[duckdb.DuckDBPyConnection, SourceFile, int], Sequence[int] | Counts]


def load_file(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    kind: str,
    format_label: str,
    loaders: Sequence[tuple[Loader, str]],
    progress: Progress | None = None,
    label: str | None = None,
) -> LoadResult:
    """Load one file with the first loader that succeeds; if it changes while being read, read it again.

    `loaders` pairs each loader with what the progress bar says while it runs. The hash
    and the rows must come from the same bytes: a file whose size or mtime moved between
    the start and the commit is rolled back and read anew.
    """
    for _ in range(CHANGE_RETRIES):
        try:
            return _load_once(con, source, kind, format_label, loaders, progress, label)
        except FileChanged:
            pass
    raise UserError(
        f"{source.path}: changed while being read, {CHANGE_RETRIES} times; load it again once it is complete"
    )


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _load_once(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    kind: str,
    format_label: str,
    loaders: Sequence[tuple[Loader, str]],
    progress: Progress | None,
    label: str | None,
) -> LoadResult:
    before = _stat(source.path)
    source = replace(source, size_bytes=before[0])
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    result = LoadResult(source.path, format_label, status="loaded")
    show = progress if source.size_bytes >= PROGRESS_MIN_BYTES else None

    previous = con.execute(
        "SELECT sha256 FROM raw.loads WHERE source_path = ? AND size_bytes = ?",
        [str(source.path), source.size_bytes],
    ).fetchall()
    sha = Sha256(source.path)
    if previous and sha.result() in {row[0] for row in previous}:
        result.status = "already loaded"
        result.seconds = time.perf_counter() - started
        return result

    load_id = con.execute("SELECT nextval('raw.load_id_seq')").fetchone()[0]
    for load, doing in loaders:
        last = load is loaders[-1][0]
        con.execute("BEGIN TRANSACTION")
        try:
            with statement_progress(show, con, f"{label or source.path.name}: {doing}"):
                counts = Counts(*load(con, source, load_id))
            digest = sha.result()
            if _stat(source.path) != before:
                raise FileChanged
            if con.execute("SELECT 1 FROM raw.loads WHERE sha256 = ?", [digest]).fetchone():
                con.execute("ROLLBACK")
                result.status = "already loaded"
                break
            result.load_id = load_id
            result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_duplicate = counts[:4]
            result.rows_replaced = counts.replaced
            result.status = "loaded with rejects" if result.rows_rejected else "loaded"
            con.execute(
                """INSERT INTO raw.loads (load_id, source_path, sha256, kind, format, size_bytes, rows_read,
                    rows_loaded, rows_rejected, rows_duplicate, started_at, finished_at, status,
                    rows_replaced, replaced_load_ids)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?)""",
                [
                    load_id,
                    str(source.path),
                    digest,
                    kind,
                    format_label,
                    source.size_bytes,
                    *counts[:4],
                    started_at,
                    result.status,
                    counts.replaced,
                    counts.replaced_load_ids,
                ],
            )
            con.execute("COMMIT")
            break
        except RowsRejected:
            con.execute("ROLLBACK")
            if last:
                raise
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            if last:
                raise UserError(f"{source.path}: cannot load: {first_line(exc)}") from exc
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            drop_temp_tables(con)
    result.seconds = time.perf_counter() - started
    return result


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    names = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, '__')"
    ).fetchall()
    for (name,) in names:
        con.execute(f'DROP TABLE IF EXISTS temp."{name}"')
