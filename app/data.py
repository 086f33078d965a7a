"""The app's only way to data: read-only, parameterised queries on the published snapshot.

Pages never build SQL; every query is a constant here with `?` parameters. Queries read
the snapshot that the warehouse's `CURRENT` pointer names, read-only, through one shared
connection per snapshot file (`_database`); `ingest` and `build` never wait for the app,
since a published snapshot is never written again. Results are cached per snapshot file:
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


# --- restatements: the week's figures against the latest earlier build that covered it ----------------

RESTATEMENT = """
SELECT previous_build_id, previous_built_at, cost_before_usd, cost_usd, cost_change_usd, actions_before, actions,
       actions_change, completed_actions_before, completed_actions, cost_per_completed_action_before_usd,
       cost_per_completed_action_usd, cost_per_completed_action_change_usd
FROM marts.week_restatements
WHERE week = ? AND is_restated
"""


def restatement(snapshot: Snapshot, week: date) -> dict | None:
    """How this build changed `week`'s headline figures against the latest earlier build, if it did.

    Late logs, a restated bill or a catalog correction change a past week's figures;
    marts.week_restatements says against which build and by how much. None when it did not.
    """
    if not has(snapshot, "marts.week_restatements"):
        return None
    restated = _frame(snapshot.path, RESTATEMENT, (week,))
    return restated.row(0, named=True) if restated.height else None


# --- which marts this snapshot holds: a page whose mart is missing says what to run -----------------

TABLES = "SELECT table_schema || '.' || table_name FROM information_schema.tables"


def has(snapshot: Snapshot, table: str) -> bool:
    """Whether the snapshot holds `table` (schema.name): marts arrive with the features that build them."""
    return table in {row[0] for row in _rows(snapshot.path, TABLES, ())}


# --- Weekly review -----------------------------------------------------------------------------------

# The week's headline figures and their changes, and the week before's figures (marts.review_weekly).
WEEK_KPIS = """
SELECT *
FROM marts.review_weekly
WHERE week IN (?, ? - INTERVAL 7 DAY)
ORDER BY week DESC
"""


def change_of(column: str) -> str:
    """The marts.review_weekly column holding `column`'s change against the week before."""
    for unit in ("_usd", "_ms"):
        if column.endswith(unit):
            return column.removesuffix(unit) + "_change" + unit
    return column + "_change"


# One row per route of the week: its figures, its last 8 weeks of cost per completed action (oldest first) and its
# policy status (marts.route_health_weekly).
ROUTE_HEALTH = """
SELECT route, cost_usd, cost_per_completed_action_usd, trend_8w, actions, completed_actions,
       fallback_rate, retry_rate, premium_share, prompt_cache_hit_rate, error_rate, p95_latency_ms,
       unpriced_calls, policy_status
FROM marts.route_health_weekly
WHERE week = ?
ORDER BY cost_usd DESC NULLS LAST, route
"""

# What the review points at, every week (marts.review_findings): the chosen week's, and the other weeks worth opening.
FINDINGS = """
SELECT week, kind, subject, detail
FROM marts.review_findings
ORDER BY week DESC, kind, subject
"""

# Routes by their spend change against the week before (marts.spend_deltas), largest change in size first.
# The review's two reads of marts.spend_deltas in one round trip: the week's total change taken apart (the
# waterfall, the row with is_total, first) and the ten routes that moved most (split by `spend_change_parts`).
SPEND_CHANGE = """
SELECT deltas.grain = 'total' AS is_total,
       deltas.route,
       deltas.spend_prev_usd, deltas.volume_usd, deltas.attempts_usd, deltas.mix_usd, deltas.tokens_usd,
       deltas.cache_usd, deltas.price_usd, deltas.spend_curr_usd,
       deltas.delta_usd,
       last_week.cost_per_completed_action_usd AS cost_per_completed_action_prev_usd,
       this_week.cost_per_completed_action_usd
FROM marts.spend_deltas AS deltas
LEFT JOIN marts.route_weekly AS this_week ON this_week.week = deltas.week AND this_week.route = deltas.route
LEFT JOIN marts.route_weekly AS last_week
    ON last_week.week = deltas.week - INTERVAL 7 DAY AND last_week.route = deltas.route
WHERE deltas.week = ? AND deltas.grain IN ('total', 'route')
ORDER BY is_total DESC, abs(deltas.delta_usd) DESC, deltas.route
LIMIT 11
"""

def spend_change_parts(change: pl.DataFrame) -> tuple[dict | None, pl.DataFrame]:
    """SPEND_CHANGE's rows as (the week's total change taken apart, or None before a second week; the top movers)."""
    totals = change.filter(pl.col("is_total"))
    movers = change.filter(~pl.col("is_total")).select(
        "route",
        pl.col("spend_prev_usd").alias("cost_prev_usd"),
        pl.col("spend_curr_usd").alias("cost_usd"),
        "delta_usd",
        "cost_per_completed_action_prev_usd",
        "cost_per_completed_action_usd",
    )
    return (totals.row(0, named=True) if totals.height else None), movers


ROUTE_DELTAS = """
SELECT route, spend_prev_usd, spend_curr_usd, delta_usd, volume_usd, attempts_usd, mix_usd, tokens_usd, cache_usd,
       price_usd
FROM marts.spend_deltas
WHERE week = ? AND grain = 'route'
ORDER BY abs(delta_usd) DESC, route
"""

REGRESSIONS = """
SELECT route, cost_per_completed_action_prev_usd, cost_per_completed_action_usd, cost_per_completed_action_change,
       threshold, delta_usd, largest_part, largest_part_usd, policy_versions_prev, policy_versions, models_prev, models
FROM marts.cost_regressions
WHERE week = ?
ORDER BY cost_per_completed_action_change DESC, route
"""

VIOLATIONS = """
SELECT scope, rule, severity, limit_value, actual_value, offending, offending_unit, policy_version
FROM marts.policy_violations
WHERE week = ?
ORDER BY severity = 'warning', scope, rule
"""

BUDGETS = """
SELECT period_kind, period_start, period_end, scope_kind, scope, spent_usd, cap_usd, projected_usd, is_breached,
       is_projected_over
FROM marts.budget_status
WHERE period_start <= ? + INTERVAL 6 DAY AND period_end >= ?
ORDER BY is_breached DESC, is_projected_over DESC, scope_kind, scope, period_kind
"""

POLICY_COMPARE = """
SELECT route, policy_version, control_version, is_control, actions, completion_rate, fallback_rate, retry_rate,
       cost_per_completed_action_usd, cost_per_completed_action_low_usd, cost_per_completed_action_high_usd,
       p95_latency_ms
FROM marts.policy_compare
WHERE week = ? AND route IN (
    SELECT route FROM marts.policy_compare WHERE week = ? GROUP BY route HAVING count(*) > 1
)
ORDER BY route, is_control DESC, policy_version
"""

# The week's reconciliation per provider (marts.reconciliation_weekly), the providers with days out of tolerance first.
WEEK_RECONCILIATION = """
SELECT provider, estimated_cost_usd, billed_cost_usd, delta_usd, model_days_out_of_tolerance
FROM marts.reconciliation_weekly
WHERE week = ?
ORDER BY model_days_out_of_tolerance DESC, abs(delta_usd) DESC NULLS LAST, provider
"""

# --- Spend explorer: the cube, grouped by one allow-listed dimension -----------------------------------

DIMENSIONS = {
    "team": "Team",
    "project": "Project",
    "feature": "Feature",
    "user_tier": "User tier",
    "route": "Route",
    "model": "Model",
    "provider": "Provider",
    "model_tier": "Tier",
    "environment": "Environment",
}
SPEND_DAYS = "SELECT min(day), max(day) FROM marts.spend_daily"
# The app's one exception to "no metric outside a mart": the explorer adds up marts.spend_daily over the days the
# user picks (and, for the totals, the period of equal length before them). Any range of any length can be
# chosen, so no mart can hold every answer; spend_daily is small already (a row per day and cube cell: 52k rows
# at 10M calls) and its columns all add up. The SQL is built from the allow-list above, never from what a user typed.
SPEND_OVER_TIME = {
    dimension: f"""
SELECT day, {dimension} AS "group", sum(cost_usd) AS cost_usd, sum(calls) AS calls
FROM marts.spend_daily
WHERE day BETWEEN ? AND ?
GROUP BY ALL
ORDER BY day, "group"
"""
    for dimension in DIMENSIONS
}
# The row with is_total (the groups added up) is the whole selection, so the page adds nothing up itself.
SPEND_TOTALS = {
    dimension: f"""
WITH spend AS (
    SELECT {dimension} AS "group",
           sum(cost_usd) FILTER (WHERE day BETWEEN $1 AND $2) AS cost_usd,
           sum(cost_usd) FILTER (WHERE day < $1) AS cost_prev_usd,
           sum(calls) FILTER (WHERE day BETWEEN $1 AND $2) AS calls,
           sum(actions) FILTER (WHERE day BETWEEN $1 AND $2) AS actions,
           sum(input_tokens + output_tokens) FILTER (WHERE day BETWEEN $1 AND $2) AS tokens
    FROM marts.spend_daily
    WHERE day BETWEEN $1 - cast($2 - $1 + 1 AS INTEGER) AND $2
    GROUP BY ALL
),
with_total AS (
    SELECT false AS is_total, * FROM spend
    UNION ALL
    SELECT true, NULL, sum(cost_usd), sum(cost_prev_usd), sum(calls), sum(actions), sum(tokens) FROM spend
)
SELECT is_total, "group", coalesce(cost_usd, 0) AS cost_usd, coalesce(cost_prev_usd, 0) AS cost_prev_usd,
       coalesce(cost_usd, 0) - coalesce(cost_prev_usd, 0) AS delta_usd,
       (coalesce(cost_usd, 0) - cost_prev_usd) / nullif(cost_prev_usd, 0) AS change,
       coalesce(calls, 0) AS calls, coalesce(actions, 0) AS actions, coalesce(tokens, 0) AS tokens
FROM with_total
ORDER BY is_total DESC, cost_usd DESC, "group"
"""
    for dimension in DIMENSIONS
}

# --- Providers ---------------------------------------------------------------------------------------

PROVIDER_SHARES = """
SELECT provider, calls, cost_usd, share_of_calls, share_of_cost, error_rate, fallback_calls_received
FROM marts.provider_weekly
WHERE week = ?
ORDER BY cost_usd DESC NULLS LAST, provider
"""

FALLBACK_PAIRS = """
SELECT from_provider, to_provider, fallback_calls, cost_usd
FROM marts.provider_fallback_pairs
WHERE week = ?
ORDER BY fallback_calls DESC, from_provider, to_provider
"""

PROVIDER_WEEKS = """
SELECT week, provider, cost_usd, calls
FROM marts.provider_weekly
ORDER BY week, provider
"""

# --- Regression debugger -----------------------------------------------------------------------------

# The week's routes, the costliest first: the debugger starts on the one that matters most.
ROUTES = "SELECT route FROM marts.route_weekly WHERE week = ? ORDER BY cost_usd DESC NULLS LAST, route"

ROUTE_HISTORY = """
SELECT week, cost_usd, cost_per_completed_action_usd, actions, completed_actions, fallback_rate, retry_rate,
       premium_share, error_rate, p50_latency_ms, p95_latency_ms
FROM marts.route_weekly
WHERE route = ?
ORDER BY week
"""

# ROUTE_HISTORY with, in the same round trip, the policy versions the route ran each week (listed in order: a change
# of list is a policy change; NULL for a week without policy rows) and each week's spend change taken apart
# (has_decomposition false for a week marts.spend_deltas has no row of): what ROUTE_POLICY_VERSIONS and
# ROUTE_DECOMPOSITION return, for every week at once. For snapshots holding both marts.
ROUTE_WEEKS = """
WITH versions AS (
    SELECT week, string_agg(policy_version, ', ' ORDER BY policy_version) AS policy_versions
    FROM marts.policy_compare
    WHERE route = $1
    GROUP BY week
)
SELECT history.week, history.cost_usd, history.cost_per_completed_action_usd, history.actions,
       history.completed_actions, history.fallback_rate, history.retry_rate, history.premium_share,
       history.error_rate, history.p50_latency_ms, history.p95_latency_ms,
       versions.policy_versions,
       deltas.week IS NOT NULL AS has_decomposition,
       deltas.spend_prev_usd, deltas.volume_usd, deltas.attempts_usd, deltas.mix_usd, deltas.tokens_usd,
       deltas.cache_usd, deltas.price_usd, deltas.spend_curr_usd
FROM marts.route_weekly AS history
LEFT JOIN versions ON versions.week = history.week
LEFT JOIN marts.spend_deltas AS deltas
    ON deltas.week = history.week AND deltas.grain = 'route' AND deltas.route = history.route
WHERE history.route = $1
ORDER BY history.week
"""

# The policy versions a route ran each week, listed in order: a change of list is a policy change.
ROUTE_POLICY_VERSIONS = """
SELECT week, string_agg(policy_version, ', ' ORDER BY policy_version) AS versions
FROM marts.policy_compare
WHERE route = ?
GROUP BY week
ORDER BY week
"""

# The policy versions the route ran in the week, the control first: a canary beside its control.
ROUTE_POLICY_COMPARE = """
SELECT policy_version, is_control, actions, completion_rate, fallback_rate, retry_rate, cost_per_completed_action_usd,
       cost_per_completed_action_low_usd, cost_per_completed_action_high_usd, p95_latency_ms
FROM marts.policy_compare
WHERE week = ? AND route = ?
ORDER BY is_control DESC, policy_version
"""

ROUTE_FALLBACKS = """
SELECT fallback_reason, fallback_calls, actions, cost_usd
FROM marts.route_weekly_fallbacks
WHERE week = ? AND route = ?
ORDER BY fallback_calls DESC, fallback_reason
"""

ROUTE_STATUSES = """
SELECT status, calls, share_of_calls, cost_usd
FROM marts.route_weekly_status
WHERE week = ? AND route = ?
ORDER BY calls DESC, status
"""

ROUTE_ROLES = """
SELECT call_role, calls, cost_usd, share_of_cost, cost_per_action_usd
FROM marts.route_weekly_roles
WHERE week = ? AND route = ?
ORDER BY cost_usd DESC NULLS LAST, call_role
"""

ROUTE_SEGMENTS = """
SELECT segment_kind, segment, actions, completion_rate, fallback_rate, retry_rate, cost_per_completed_action_usd,
       p95_latency_ms
FROM marts.route_segment_weekly
WHERE week = ? AND route = ?
ORDER BY segment_kind, actions DESC, segment
"""

ROUTE_DECOMPOSITION = """
SELECT spend_prev_usd, volume_usd, attempts_usd, mix_usd, tokens_usd, cache_usd, price_usd, spend_curr_usd
FROM marts.spend_deltas
WHERE week = ? AND grain = 'route' AND route = ?
"""

MODEL_CHAINS = """
SELECT model_chain, actions, share_of_actions, completed_actions, cost_usd
FROM marts.route_week_model_chains
WHERE week = ? AND route = ?
ORDER BY actions DESC, model_chain
LIMIT 20
"""

# Price changes of the models the route used, from its first charted week to the end of its last.
ROUTE_PRICE_CHANGES = """
SELECT effective_from, provider, model, service_tier, input_usd_per_mtok_before, input_usd_per_mtok,
       output_usd_per_mtok_before, output_usd_per_mtok
FROM marts.price_changes
WHERE route = ? AND effective_from >= ? AND effective_from < ? + INTERVAL 7 DAY
ORDER BY effective_from, provider, model, service_tier
"""

# Every call of the route-week's sampled actions (both samples); the page filters them by what the user picks.
SAMPLE_CALLS = """
SELECT sample, sample_rank, action_id, action_outcome, action_model_chain, action_cost_usd, call_seq, call_role,
       provider, model, model_tier, status, error_type, fallback_reason, input_tokens, cached_input_tokens,
       output_tokens, cost_usd, latency_ms
FROM marts.route_week_sample_calls
WHERE week = ? AND route = ?
ORDER BY sample, sample_rank, call_seq
"""

# --- Reconciliation and data health --------------------------------------------------------------------

RECONCILIATION_DAILY = """
SELECT day, provider, model, status, is_within_tolerance, estimated_cost_usd, billed_cost_usd, delta_usd, delta_pct,
       tolerance_usd, token_gap_usd, price_gap_usd, residual_usd, calls
FROM marts.reconciliation_daily
ORDER BY is_within_tolerance, abs(delta_usd) DESC NULLS LAST, day DESC, provider, model
"""

RECONCILIATION_MONTHLY = """
SELECT month, provider, status, is_within_tolerance, estimated_cost_usd, billed_cost_usd, delta_usd, delta_pct,
       model_days_out_of_tolerance, other_charges_usd, total_billed_usd
FROM marts.reconciliation_monthly
ORDER BY month DESC, is_within_tolerance, provider
"""

OTHER_CHARGES = """
SELECT day, provider, charge_kind, charge_labels, billed_lines, billed_cost_usd
FROM marts.billing_other_charges
ORDER BY day DESC, billed_cost_usd DESC NULLS LAST, provider
"""

DATA_HEALTH = """
SELECT check_name, subject, detail, n_rows, first_seen, last_seen
FROM marts.data_health
WHERE check_name = ?
ORDER BY n_rows DESC, subject
"""


def values(snapshot: Snapshot, sql: str, *params: object) -> list:
    """The first column of one of this module's constant queries."""
    return [row[0] for row in _rows(snapshot.path, sql, params)]


def frame(snapshot: Snapshot, sql: str, *params: object) -> pl.DataFrame:
    """The result of one of this module's constant queries, with its `?` parameters."""
    return _frame(snapshot.path, sql, params)


def row(snapshot: Snapshot, sql: str, *params: object) -> tuple | None:
    rows = _rows(snapshot.path, sql, params)
    return rows[0] if rows else None


# One read-only connection per snapshot file, shared by the sessions: opening a DuckDB file costs tens of
# milliseconds, more than a page's queries. A snapshot is never written after it is published, so holding
# it open blocks no ingest or build (they write the warehouse and new snapshot files); keyed by the file's
# size and mtime, a snapshot replaced on disk is opened afresh. Each query runs on its own cursor.
@st.cache_resource(ttl=CACHE_SECONDS, max_entries=4, show_spinner=False)
def _database(path: str, stamp: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    con = open_snapshot(Path(path))
    con.execute("SET GLOBAL TimeZone = 'UTC'")  # for every cursor, without a statement per query
    return con


def _cursor(path: str) -> duckdb.DuckDBPyConnection:
    return _database(path, _file_stamp(Path(path))).cursor()


# DuckDB's types as Polars holds them, as DuckDB's own Arrow export gives them (HUGEINT, what sum() of BIGINT
# returns, as DECIMAL(38,0): Arrow has no 128-bit integer).
POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "BOOLEAN": pl.Boolean(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "HUGEINT": pl.Decimal(38, 0),
    "DOUBLE": pl.Float64(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "TIMESTAMP WITH TIME ZONE": pl.Datetime("us", "UTC"),
}


def polars_type(duckdb_type: str) -> pl.DataType | None:
    """The Polars type of a DuckDB column type (as DuckDB names it); None for one not listed here."""
    if duckdb_type.endswith("[]"):
        inner = polars_type(duckdb_type.removesuffix("[]"))
        return None if inner is None else pl.List(inner)
    if duckdb_type.startswith("DECIMAL("):
        precision, scale = duckdb_type.removeprefix("DECIMAL(").removesuffix(")").split(",")
        return pl.Decimal(int(precision), int(scale))
    return POLARS_TYPES.get(duckdb_type)


# A page's results are a few rows to a few thousand: built from the fetched rows with the types DuckDB
# declares, a result costs about half of what the way through Arrow (`.pl()`) does. A type not listed
# above still goes through Arrow. Results are cached as they are (st.cache_resource), not pickled and
# copied for each reader as st.cache_data does: a Polars frame is not changed by the operations the pages
# use (each returns a new frame), and a rows list is only read.
@st.cache_resource(ttl=CACHE_SECONDS, max_entries=256, show_spinner=False)
def _frame(path: str, sql: str, params: tuple) -> pl.DataFrame:
    cursor = _cursor(path)
    try:
        result = cursor.execute(sql, list(params))
        schema = {name: polars_type(str(kind)) for name, kind, *_ in result.description}
        if any(kind is None for kind in schema.values()):
            return cursor.sql(sql, params=list(params)).pl()
        return pl.DataFrame(result.fetchall(), schema=schema, orient="row")
    finally:
        cursor.close()


@st.cache_resource(ttl=CACHE_SECONDS, max_entries=256, show_spinner=False)
def _rows(path: str, sql: str, params: tuple) -> list[tuple]:
    cursor = _cursor(path)
    try:
        return cursor.execute(sql, list(params)).fetchall()
    finally:
        cursor.close()
