"""Shared fixtures: small warehouses built by the real ingest and build, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLI = [sys.executable, "-m", "pipelines.cli"]


def write_jsonl(path: Path, rows: Iterable[dict | str]) -> Path:
    """One JSON object (or a raw string, written as is) per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def call(call_id: str, action_id: str, ts: str, **fields: object) -> dict:
    """A valid canonical row; the test names only what it is about."""
    row = {
        "call_id": call_id,
        "action_id": action_id,
        "ts": ts,
        "route": "support_faq",
        "call_role": "primary",
        "provider": "acme",
        "model": "m-small",
        "status": "ok",
        "input_tokens": 1000,
        "output_tokens": 100,
    }
    row.update(fields)
    return row


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, check: bool = False
) -> subprocess.CompletedProcess:
    """`routeledger ARGS` in a subprocess, as a user runs it."""
    result = subprocess.run(
        [*CLI, *args],
        cwd=cwd or ROOT,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"routeledger {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


DEMO_CALLS = 20_000


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small demo warehouse for the whole session (`routeledger demo --calls 20000 --no-app`):
    logs in every format, bills, built and published. Read it; never write to it."""
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    run_cli("demo", "--calls", str(DEMO_CALLS), "--no-app", "--db", str(db), check=True)
    return db


def rows(db: Path, sql: str, *params) -> list[tuple]:
    """The result of a query on a warehouse, through a short read-only connection."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "warehouse.duckdb"


@pytest.fixture
def prices_yaml(tmp_path: Path) -> Callable[[str], Path]:
    """Write a price catalog for the test and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "catalog.yaml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def warehouse(db: Path) -> Callable[..., duckdb.DuckDBPyConnection]:
    """Ingest files, build with a catalog, and return a read-only connection to the warehouse."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    opened: list[duckdb.DuckDBPyConnection] = []

    def make(files: list[Path], catalog: Path | None) -> duckdb.DuckDBPyConnection:
        run_ingest_logs(db, [str(f) for f in files])
        run_build(db, catalog)
        con = duckdb.connect(str(db), read_only=True)
        con.execute("SET TimeZone = 'UTC'")
        opened.append(con)
        return con

    yield make
    for con in opened:
        con.close()


ACME_CATALOG = """
currency: USD
models:
  - provider: acme
    model: m-small
    aliases: [m-small-2026-01-01]
    tier: low
    prices:
      - effective_from: 2026-01-01
        input: 1.00
        cached_input: 0.10
        cache_write: 1.25
        cache_write_1h: 2.00
        output: 4.00
        batch_multiplier: 0.5
  - provider: acme
    model: m-large
    tier: premium
    prices:
      - effective_from: 2026-01-01
        input: 10.00
        output: 40.00
        long_context:
          threshold_input_tokens: 200000
          input: 20.00
          output: 60.00
      - effective_from: 2026-03-04
        input: 5.00
        output: 20.00
        long_context:
          threshold_input_tokens: 200000
          input: 10.00
          output: 30.00
"""
