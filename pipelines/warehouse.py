"""The warehouse file: where it is, who may write it, and the snapshots readers see.

DuckDB lets one process write a database file or many read it, never both. So the CLI
is the only writer of `data/warehouse.duckdb`, guarded by an OS lock on a file beside
it, and every `build` publishes the marts into a new immutable snapshot
(`published/<warehouse file name>/marts-<build_id>.duckdb`) and then swaps that folder's
`CURRENT` pointer. The file name keeps two warehouses in one folder (the demo's beside the
team's) from reading or pruning each other's snapshots. Readers (the app, reports)
open only the snapshot the pointer names, read-only. This module is the only place
that knows these paths.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.errors import UserError, WarehouseBusy, first_line
from pipelines.ingest.fields import quote
from pipelines.raw import RAW_DDL

DEFAULT_DB = Path("data/warehouse.duckdb")
SNAPSHOT_GRACE_SECONDS = 3600  # a reader may hold an old snapshot this long
SNAPSHOTS_KEPT = 3  # the newest few stay whatever their age
# Every DuckDB database file carries this at byte 8 (after the header checksum).
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8


def resolve_db(db: str | Path | None = None) -> Path:
    """The warehouse path: `--db`, else `ROUTELEDGER_DB`, else data/warehouse.duckdb."""
    chosen = db or os.environ.get("ROUTELEDGER_DB") or DEFAULT_DB
    return Path(chosen).expanduser()


@dataclass(frozen=True)
class Warehouse:
    path: Path

    @classmethod
    def at(cls, db: str | Path | None = None) -> Warehouse:
        return cls(resolve_db(db))

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def published_dir(self) -> Path:
        return self.path.parent / "published" / self.path.name

    @property
    def pointer_path(self) -> Path:
        return self.published_dir / "CURRENT"

    # -- writing ---------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, command: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """The one read-write connection, held under the warehouse lock."""
        self.check_is_duckdb()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:
            raise UserError(f"{self.path}: cannot create the warehouse here: {exc.filename} is not a folder") from exc
        except OSError as exc:
            raise UserError(f"{self.path}: cannot create the warehouse here: {exc.strerror}") from exc
        with self._lock(command):
            con = self._connect()
            try:
                for statement in RAW_DDL:
                    con.execute(statement)
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the warehouse itself, for CLI checks (not for the app)."""
        if not self.path.exists():
            raise UserError(f"{self.path}: no warehouse yet; run `routeledger ingest logs` first")
        self.check_is_duckdb()
        con = self._connect(read_only=True)
        try:
            yield con
        finally:
            con.close()

    def check_is_duckdb(self) -> None:
        """Refuse an existing file that is not a DuckDB database (a log file named by mistake).

        DuckDB would not open such a file as a database: it silently falls back to one in
        memory, so an ingest would report rows loaded and keep nothing.
        """
        if self.path.is_dir():
            raise UserError(f"{self.path}: is a directory, not a warehouse file")
        try:
            with self.path.open("rb") as handle:
                head = handle.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
        except (FileNotFoundError, NotADirectoryError):
            return  # a new warehouse; creating it reports what stands in the way
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read the warehouse file: {exc.strerror}") from exc
        if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
            what = "an empty file" if not head else "not a DuckDB database"
            raise UserError(f"{self.path}: {what}; --db must name a warehouse file (or a new path)")

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        try:
            con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseBusy(
                    f"{self.path} is open in another process ({first_line(exc)}); close it and retry"
                ) from exc
            raise UserError(f"cannot open {self.path}: {first_line(exc)}") from exc
        configure(con)
        configure_resources(con, self.path)
        return con

    @contextlib.contextmanager
    def _lock(self, command: str) -> Iterator[None]:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"{self.lock_path}: cannot create the warehouse's lock file: {exc.strerror}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                raise WarehouseBusy(
                    f"{self.path} is locked by another routeledger run ({holder}); retry when it finishes"
                ) from None
            os.ftruncate(fd, 0)
            holder = {"pid": os.getpid(), "command": command, "since": _now().isoformat(timespec="seconds")}
            os.pwrite(fd, json.dumps(holder).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock, also when the process dies

    def drop(self, command: str) -> None:
        """Delete the warehouse file and its published snapshots (the demo starts afresh)."""
        if not self.path.parent.exists():
            return
        self.check_is_duckdb()  # never delete a file that is not a warehouse
        with self._lock(command):
            for path in (self.path, self.path.with_name(self.path.name + ".wal")):
                path.unlink(missing_ok=True)
            if self.published_dir.exists():
                for snapshot in self.published_dir.glob("marts-*.duckdb"):
                    snapshot.unlink(missing_ok=True)
                self.pointer_path.unlink(missing_ok=True)

    # -- publishing --------------------------------------------------------------

    def publish(self, con: duckdb.DuckDBPyConnection, tables: list[str], build_id: str, built_at: datetime) -> Path:
        """Copy `tables` (schema.name) into a new snapshot file, then point CURRENT at it."""
        try:
            self.published_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. the pointer file of the old layout, for a warehouse named CURRENT
            raise UserError(f"cannot create the snapshot folder {self.published_dir}: {exc.strerror}") from exc
        final = self.published_dir / f"marts-{build_id}.duckdb"
        if final.exists():  # never write into a file a reader may hold open
            raise UserError(f"{final} exists already; build again")
        partial = self.published_dir / f".partial-{build_id}.duckdb"
        partial.unlink(missing_ok=True)
        con.execute(f"ATTACH {quote(str(partial))} AS snapshot")
        try:
            for schema in sorted({t.split(".")[0] for t in tables} | {"marts"}):
                con.execute(f"CREATE SCHEMA snapshot.{schema}")
            for table in tables:
                con.execute(f"CREATE TABLE snapshot.{table} AS FROM {table}")
            _copy_column_comments(con, tables)
            con.execute("CREATE SCHEMA IF NOT EXISTS snapshot.meta")
            con.execute(
                "CREATE TABLE snapshot.meta.build AS SELECT ? AS build_id, ?::TIMESTAMPTZ AS built_at",
                [build_id, built_at],
            )
            con.execute("CHECKPOINT snapshot")
        finally:
            con.execute("DETACH snapshot")
        _fsync(partial)
        os.replace(partial, final)
        _write_atomically(self.pointer_path, final.name + "\n")
        self.prune()
        return final

    def current_snapshot(self) -> Path | None:
        """The snapshot readers should open, or None before the first build."""
        try:
            name = self.pointer_path.read_text().strip()
        except FileNotFoundError:
            return None
        path = self.published_dir / name
        return path if path.exists() else None

    def snapshots(self) -> list[Path]:
        """This warehouse's published snapshots, newest first."""
        return sorted(self.published_dir.glob("marts-*.duckdb"), key=_mtime, reverse=True)

    def prune(self) -> list[Path]:
        """Delete snapshots past the grace period, keeping the newest few and the current one.

        Builds killed while publishing leave a partial snapshot, its `.wal` and the
        pointer's `.tmp`; those go after the grace period too.
        """
        current = self.current_snapshot()
        keep = {current, current.with_name(current.name + ".wal")} if current else set()
        leftovers = [
            *self.published_dir.glob(".partial-*"),
            *self.published_dir.glob(".*.tmp"),
            *self.published_dir.glob("*.wal"),
        ]
        removed = []
        cutoff = time.time() - SNAPSHOT_GRACE_SECONDS
        for path in self.snapshots()[SNAPSHOTS_KEPT:] + leftovers:
            if path not in keep and _mtime(path) < cutoff:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
        return removed


def _copy_column_comments(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """The warehouse's column comments (from the marts' column specs) onto the snapshot's copies of `tables`.

    One read of DuckDB's catalog for all of them: a read per table took a third of publishing.
    """
    comments = con.execute(
        "SELECT schema_name || '.' || table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND comment IS NOT NULL "
        "AND list_contains(?, schema_name || '.' || table_name)",
        [tables],
    ).fetchall()
    for table, column, comment in comments:
        con.execute(f'COMMENT ON COLUMN snapshot.{table}."{column}" IS {quote(comment)}')


def configure(con: duckdb.DuckDBPyConnection) -> None:
    """Session settings every routeledger connection shares."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")


# DuckDB's share of the machine's memory; the rest is left to Python (Arrow tables, the
# CLI) and the OS page cache. Beyond it, and for sorts and joins larger than memory,
# DuckDB spills to the temp directory instead of failing.
MEMORY_SHARE = 0.7


def configure_resources(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """DuckDB's memory limit and the folder it spills to, for a connection to the warehouse `db`.

    `ROUTELEDGER_MEMORY_LIMIT` (a DuckDB size, e.g. `8GB`) overrides the default of
    MEMORY_SHARE of physical memory; `ROUTELEDGER_TEMP_DIRECTORY` overrides the default
    `<warehouse>.tmp/` beside the warehouse, on the same disk as the data it spills.
    """
    limit = os.environ.get("ROUTELEDGER_MEMORY_LIMIT") or default_memory_limit()
    temp = os.environ.get("ROUTELEDGER_TEMP_DIRECTORY") or str(db.with_name(db.name + ".tmp"))
    try:
        con.execute(f"SET memory_limit = {quote(limit)}")
        con.execute(f"SET temp_directory = {quote(temp)}")
    except duckdb.Error as exc:
        raise UserError(
            f"cannot set DuckDB's memory limit {limit!r} or temp directory {temp}: {first_line(exc)}"
        ) from exc


def default_memory_limit() -> str:
    """MEMORY_SHARE of physical memory, in MB, as DuckDB reads a size."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "80%"  # DuckDB's own default
    return f"{int(total * MEMORY_SHARE) >> 20}MB"


def open_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection to a published snapshot."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # pruned by another build meanwhile
        return time.time()


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return "holder unknown"
    if not holder:
        return "holder unknown"
    return f"pid {holder.get('pid')}: {holder.get('command')}, since {holder.get('since')}"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _now() -> datetime:
    return datetime.now(UTC)
