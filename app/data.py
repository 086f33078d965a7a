"""The app's only way to data: read-only, parameterised queries on the published snapshot.

Pages never build SQL; every query is a constant here with `?` parameters. Each call
opens the snapshot that the warehouse's `CURRENT` pointer names, read-only, and closes it at once,
so `ingest` and `build` never wait for the app. Results are cached per snapshot file:
a new build is a new file name, hence a fresh cache entry. A snapshot that cannot be
read (truncated, overwritten) gives way to the newest older one that can, and the page
says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from pipelines.warehouse import Warehouse, open_snapshot

CACHE_SECONDS = 600


@dataclass(frozen=True)
class Snapshot:
    path: str
    build_id: str
    built_at: datetime
    unreadable: str | None = None  # the newer snapshot this one stands in for, when that cannot be read


class NoReadableSnapshot(Exception):
    """Published snapshots exist, and none of them can be read."""


def current_snapshot() -> Snapshot | None:
    """The published snapshot readers should use now, or None before the first build.

    When the one CURRENT names cannot be read, the newest other snapshot that can.
    """
    warehouse = Warehouse.at()
    current = warehouse.current_snapshot()
    if current is None:
        return None
    for path in [current, *(p for p in warehouse.snapshots() if p != current)]:
        try:
            snapshot = _snapshot_meta(str(path), _file_stamp(path))
        except (duckdb.Error, OSError):
            continue
        return snapshot if path == current else replace(snapshot, unreadable=current.name)
    raise NoReadableSnapshot(
        f"The published snapshot {current.name} cannot be read, and no older one can either. "
        "Run `routeledger build` to publish a new one."
    )


def _file_stamp(path: Path) -> tuple[int, int]:
    """Size and mtime: a snapshot overwritten since it was cached is read (and judged) afresh."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@st.cache_data(ttl=CACHE_SECONDS, max_entries=16, show_spinner=False)
def _snapshot_meta(path: str, stamp: tuple[int, int]) -> Snapshot:
    con = open_snapshot(Path(path))
    try:
        build_id, built_at = con.execute("SELECT build_id, built_at FROM meta.build").fetchone()
    finally:
        con.close()
    return Snapshot(path, build_id, built_at)


WEEKS = "SELECT DISTINCT week FROM marts.route_weekly ORDER BY week DESC"

ROUTE_WEEK = """
SELECT route, cost_usd, cost_per_completed_action_usd, is_cost_complete, unpriced_calls,
       actions, completed_actions, calls, fallback_rate, retry_rate, premium_share,
       prompt_cache_hit_rate, cached_token_share, response_cache_hit_rate, cache_savings_usd,
       error_rate, p50_latency_ms, p95_latency_ms
FROM marts.route_weekly
WHERE week = ?
ORDER BY cost_usd DESC, route
"""

ROUTE_TREND = """
SELECT week, route, cost_usd, cost_per_completed_action_usd, fallback_rate, retry_rate,
       premium_share, prompt_cache_hit_rate, error_rate
FROM marts.route_weekly
ORDER BY week, route
"""


def weeks(snapshot: Snapshot) -> list[date]:
    return [row[0] for row in _rows(snapshot.path, WEEKS, ())]


def route_week(snapshot: Snapshot, week: date) -> pl.DataFrame:
    return _frame(snapshot.path, ROUTE_WEEK, (week,))


def route_trend(snapshot: Snapshot) -> pl.DataFrame:
    return _frame(snapshot.path, ROUTE_TREND, ())


@st.cache_data(ttl=CACHE_SECONDS, max_entries=256, show_spinner=False)
def _frame(path: str, sql: str, params: tuple) -> pl.DataFrame:
    con = open_snapshot(Path(path))
    try:
        return con.sql(sql, params=list(params)).pl()
    finally:
        con.close()


@st.cache_data(ttl=CACHE_SECONDS, max_entries=256, show_spinner=False)
def _rows(path: str, sql: str, params: tuple) -> list[tuple]:
    con = open_snapshot(Path(path))
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()
