"""One writer, published snapshots (DESIGN.md §1): readers and writers of one warehouse at once.

Readers here do what the app does (app/data.py): resolve `published/CURRENT`, open that
snapshot read-only, query, close. Writers run in other processes: `routeledger` commands,
as cron runs them, or a loop over the functions behind them.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.demo.files import write_calls
from pipelines.warehouse import Warehouse, open_snapshot
from tests.conftest import CLI, ROOT

CATALOG = ROOT / "pricing" / "catalog.yaml"  # prices the demo generator's models
SNAPSHOT_NAME = re.compile(r"marts-(\d{8}T\d{6}Z-[0-9a-f]{8})\.duckdb")
BASE_CALLS = 3_000
EXTRA_CALLS = 1_000
ROUNDS = 4
READ_EVERY_SECONDS = 0.05  # a busy dashboard, leaving the writer CPU on a 2-core box
BIG_CALLS = 50_000


@dataclass(frozen=True)
class Logs:
    base: Path
    extras: list[Path]
    big: Path


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    """Generated routing logs over the same 12 weeks; distinct seeds give distinct call ids."""
    directory = tmp_path_factory.mktemp("logs")
    return Logs(
        base=write_calls(directory / "base.jsonl", BASE_CALLS, seed=1, fmt="jsonl"),
        extras=[
            write_calls(directory / f"extra-{n}.jsonl", EXTRA_CALLS, seed=1 + n, fmt="jsonl")
            for n in range(1, ROUNDS + 1)
        ],
        big=write_calls(directory / "big.jsonl", BIG_CALLS, seed=99, fmt="jsonl"),
    )


@pytest.fixture
def built(db: Path, logs: Logs) -> Warehouse:
    """A warehouse with the base logs ingested, built and published; no connection left open."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    run_ingest_logs(db, [str(logs.base)])
    run_build(db, CATALOG)
    return Warehouse.at(db)


@dataclass(frozen=True)
class Read:
    snapshot: str
    build_id: str
    calls: int
    route_weekly_calls: int
    route_weekly_cost_usd: Decimal
    status_cost_usd: Decimal


def query_snapshot(con) -> tuple:
    return con.execute(
        """
        SELECT (SELECT build_id FROM meta.build),
               (SELECT sum(calls) FROM marts.route_weekly_status),
               (SELECT sum(calls) FROM marts.route_weekly),
               (SELECT sum(cost_usd) FROM marts.route_weekly),
               (SELECT sum(cost_usd) FROM marts.route_weekly_status)
        """
    ).fetchone()


def read_current(warehouse: Warehouse) -> Read:
    """What a page does: the snapshot CURRENT names, opened read-only and closed at once."""
    path = warehouse.current_snapshot()
    assert path is not None, "CURRENT names no snapshot"
    assert SNAPSHOT_NAME.fullmatch(path.name), f"a reader was pointed at {path.name}"
    con = open_snapshot(path)
    try:
        return Read(path.name, *query_snapshot(con))
    finally:
        con.close()


def assert_consistent(read: Read) -> None:
    """One snapshot agrees with itself: its name, its build row, and every mart over the same calls."""
    assert SNAPSHOT_NAME.fullmatch(read.snapshot).group(1) == read.build_id
    assert read.route_weekly_calls == read.calls
    assert read.route_weekly_cost_usd == read.status_cost_usd
    assert read.route_weekly_cost_usd > 0


# One process that ingests a file and builds, round after round, through the CLI's own functions.
WRITER_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs
    db, catalog, *files = sys.argv[1:]
    for path in files:
        run_ingest_logs(db, [path])
        print("published", run_build(db, Path(catalog)).snapshot, flush=True)
    """
)


def test_the_published_snapshot_stays_readable_while_ingest_and_build_run(built: Warehouse, logs: Logs, tmp_path):
    first = read_current(built)
    assert first.calls == BASE_CALLS
    log = tmp_path / "writer.log"
    with log.open("w") as handle:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER_LOOP, str(built.path), str(CATALOG), *map(str, logs.extras)],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    reads = [first]
    try:
        while writer.poll() is None:
            reads.append(read_current(built))
            assert_consistent(reads[-1])
            time.sleep(READ_EVERY_SECONDS)
        assert writer.returncode == 0, log.read_text()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    last = read_current(built)
    reads.append(last)

    assert_consistent(last)
    assert last.calls == BASE_CALLS + ROUNDS * EXTRA_CALLS
    # CURRENT only moves forward, so readers never see the data shrink ...
    assert [r.calls for r in reads] == sorted(r.calls for r in reads)
    # ... and they read on while the writer published: old and new snapshots alike.
    builds_seen = {r.build_id for r in reads}
    assert len(builds_seen) >= 3, f"only {len(builds_seen)} builds seen in {len(reads)} reads"
    assert {r.calls for r in reads} >= {BASE_CALLS, BASE_CALLS + ROUNDS * EXTRA_CALLS}
    assert not list(built.published_dir.glob(".partial-*")), "a half-written snapshot was left behind"


def holder_pid(lock_path: Path) -> int | None:
    try:
        return json.loads(lock_path.read_bytes() or b"{}").get("pid")
    except (OSError, ValueError):
        return None  # not there yet, or being rewritten


def lock_is_held(lock_path: Path) -> bool:
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the shared lock if it was granted
    return False


def routeledger(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True, timeout=timeout
    )


def test_a_second_writer_fails_fast_naming_the_lock_holder(built: Warehouse, logs: Logs, tmp_path):
    pointer_before = built.pointer_path.read_text()
    log = tmp_path / "ingest.log"
    with log.open("w") as handle:
        ingest = subprocess.Popen(
            [*CLI, "ingest", "logs", str(logs.big), "--db", str(built.path)],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while holder_pid(built.lock_path) != ingest.pid:
            assert ingest.poll() is None, f"ingest exited {ingest.returncode} before it was seen holding the lock"
            assert time.monotonic() < deadline, "ingest never took the warehouse lock"
            time.sleep(0.001)
        # Freeze the first writer where it is, lock in hand: a slow ingest, made deterministic.
        os.kill(ingest.pid, signal.SIGSTOP)
        assert lock_is_held(built.lock_path), "ingest finished before the second writer could meet it"

        # The holder is frozen and never lets go: a second writer that waited for the lock
        # would hang until the timeout, so returning at all is failing fast (no timed assertion).
        second = routeledger("build", "--db", str(built.path), "--prices", str(CATALOG), timeout=60)

        assert second.returncode == 2, second.stdout + second.stderr
        reason = second.stderr.strip()
        assert "\n" not in reason, f"not a one-line reason: {reason!r}"
        assert "locked by another routeledger run" in reason
        assert f"pid {ingest.pid}: ingest logs" in reason
        assert built.pointer_path.read_text() == pointer_before, "a refused build published something"
    finally:
        os.kill(ingest.pid, signal.SIGCONT)
        try:
            ingest.wait(timeout=60)
        except subprocess.TimeoutExpired:
            ingest.kill()
            ingest.wait()

    assert ingest.returncode == 0, log.read_text()
    # The lock died with its holder: the next build runs and publishes both files' calls.
    after = routeledger("build", "--db", str(built.path), "--prices", str(CATALOG))
    assert after.returncode == 0, after.stdout + after.stderr
    assert read_current(built).calls == BASE_CALLS + BIG_CALLS


def test_a_reader_holding_a_snapshot_does_not_block_ingest_or_build(built: Warehouse, logs: Logs):
    old_path = built.current_snapshot()
    held = open_snapshot(old_path)
    try:
        old = Read(old_path.name, *query_snapshot(held))
        assert old.calls == BASE_CALLS

        ingest = routeledger("ingest", "logs", str(logs.extras[0]), "--db", str(built.path))
        assert ingest.returncode == 0, ingest.stdout + ingest.stderr
        build = routeledger("build", "--db", str(built.path), "--prices", str(CATALOG))
        assert build.returncode == 0, build.stdout + build.stderr

        new = read_current(built)
        assert new.snapshot != old.snapshot
        assert new.calls == BASE_CALLS + EXTRA_CALLS
        assert_consistent(new)
        # The held connection still reads its own, unchanged snapshot.
        assert old_path.exists()
        assert Read(old_path.name, *query_snapshot(held)) == old
        assert_consistent(old)
    finally:
        held.close()
