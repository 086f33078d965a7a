"""Incremental builds: what changed since the last build, and which weeks to compute again.

Every build records what it saw in `raw.builds`: the highest load_id it built, a
fingerprint of each model (its SQL with the header, and its column spec), routeledger's
version, a fingerprint of the catalog's structure (model capabilities, policy) and of
the price rows. The next build compares:

- no earlier build, `--full`, a changed model, version or catalog structure: a full build,
  every model from scratch, and the output says why;
- otherwise an incremental build: the ISO weeks (Monday 00:00 UTC) touched by calls of
  the newer loads, and by the price rows that changed (a changed, added or removed row of
  a priced model affects the weeks from its effective_from on in which that model was
  called; a changed model map row, the weeks its logged model was called in; a changed
  regional uplift, every week from its effective_from on). The calls that changed are those
  of the newer loads and every call of those repriced weeks; the actions they belong to are
  the changed actions, and the build's weeks are every week a changed action has a call in.
  The models declared `incremental: {by: <column>}` recompute only what changed (DELETE +
  INSERT): a table of calls or of actions (grain call_id or action_id) the rows of the
  changed actions alone, computed from their calls; a table of days declared
  `unit: day`, the days the changed actions have calls on; any other table the build's
  weeks, computed from their calls and every other call of the same actions, so each
  action is whole. Every other table is rebuilt in full, views stay views.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from pipelines.models import Model

# A call's ISO week (its Monday, UTC), as staging.stg_calls computes call_week.
CALL_WEEK = "date '1970-01-05' + cast(7 * ((epoch_us(ts) // 86400000000 - 4) // 7) as integer)"
CALL_DAY = "date '1970-01-01' + cast(epoch_us(ts) // 86400000000 as integer)"  # stg_calls.call_date
# The raw tables whose rows price the calls (compared row by row) and those whose change is
# a change of the catalog's structure (a full build).
PRICE_TABLES = ("raw.prices", "raw.price_uplifts", "raw.model_map", "raw.fx_rates")
STRUCTURE_TABLES = ("raw.model_capabilities", "raw.policy_limits", "raw.policy_lists", "raw.policy_routes")
# What an incremental model may read, transitively: the calls (scoped to the build's
# weeks) and what prices them (whose changes are turned into weeks, or a full build).
INCREMENTAL_SOURCES = frozenset({"raw.calls", "raw.prices", "raw.price_uplifts", "raw.model_map"}) | frozenset(
    STRUCTURE_TABLES
)
PREVIOUS = "previous_"  # temp copies of the price tables as the last build left them


@dataclass(frozen=True)
class Scope:
    """The weeks an incremental build computes again (Mondays; empty: none), and which calls changed.

    `days` are the UTC days the changed actions have calls in (within the weeks): a table
    of days (`incremental: {by: day, unit: day}`) recomputes those alone.
    """

    weeks: tuple[date, ...]
    changed: str = "false"  # a predicate over raw.calls: the calls that are new or priced anew
    days: tuple[date, ...] | None = None  # None: every day of the weeks

    def ranges(self, unit: str = "week") -> list[tuple[date, date]]:
        """The weeks (or the days) as [start, end) date ranges, adjacent ones merged."""
        if unit == "day" and self.days is not None:
            starts, length = sorted(self.days), timedelta(days=1)
        else:
            starts, length = sorted(self.weeks), timedelta(days=7)
        merged: list[tuple[date, date]] = []
        for start in starts:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], start + length)
            else:
                merged.append((start, start + length))
        return merged

    def condition(self, column: str, timestamp: bool = False, unit: str = "week") -> str:
        """A SQL predicate: `column` falls in one of the weeks or days (outer bounds first, so zone maps prune)."""
        ranges = self.ranges(unit)
        if not ranges:
            return "false"
        cast = "timestamptz" if timestamp else "date"

        def bound(day: date) -> str:
            return f"cast('{day.isoformat()}' as {cast})"

        outer = f"{column} >= {bound(ranges[0][0])} and {column} < {bound(ranges[-1][1])}"
        if len(ranges) == 1:
            return outer
        parts = " or ".join(f"({column} >= {bound(a)} and {column} < {bound(b)})" for a, b in ranges)
        return f"{outer} and ({parts})"

    def labels(self) -> list[str]:
        return [iso_week(week) for week in sorted(self.weeks)]


@dataclass(frozen=True)
class Plan:
    """What a build does: in full (with the reason) or the weeks of an incremental build."""

    full_reason: str | None
    scope: Scope | None  # None: a full build
    max_load_id: int
    models_fingerprint: str  # JSON: {model file: sha256}
    catalog_fingerprint: str
    prices_fingerprint: str
    version: str

    @property
    def is_full(self) -> bool:
        return self.scope is None

    def describe(self, models: list[Model]) -> str:
        """One line for the build's output."""
        if self.scope is None:
            return f"full build: {self.full_reason}"
        incremental = [m for m in models if m.incremental and m.materialized == "table"]
        others = [m for m in models if m.materialized == "table" and not m.incremental]
        weeks = self.scope.labels()
        shown = ", ".join(weeks[:8]) + (", ..." if len(weeks) > 8 else "")
        what = f"{len(weeks)} week{'s' if len(weeks) != 1 else ''}" + (f" ({shown})" if weeks else "")
        return f"incremental build: {what} of {len(incremental)} models; {len(others)} models in full"


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def version() -> str:
    try:
        return metadata.version("routeledger")
    except metadata.PackageNotFoundError:
        return "unknown"


def model_fingerprints(ordered: list[Model]) -> dict[str, str]:
    """{sql/<layer>/<name>.sql: sha256 of the model's SQL (with its header) and its column spec}."""
    prints = {}
    for model in ordered:
        digest = hashlib.sha256(model.sql.encode())
        spec = model.path.with_suffix(".yml")
        if spec.exists():
            digest.update(spec.read_bytes())
        prints[f"sql/{model.layer}/{model.path.name}"] = digest.hexdigest()
    return prints


def tables_fingerprint(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> str:
    """sha256 over the rows of small tables (prices, policy), in a stable order."""
    digest = hashlib.sha256()
    for table in tables:
        digest.update(table.encode())
        for row in con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall():
            digest.update(repr(row).encode())
    return digest.hexdigest()


def last_build(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The last successful build's record, or None."""
    found = con.execute(
        """SELECT max_load_id, models_fingerprint, catalog_fingerprint, prices_fingerprint, routeledger_version
        FROM raw.builds ORDER BY built_at DESC, build_id DESC LIMIT 1"""
    ).fetchone()
    if found is None:
        return None
    keys = ("max_load_id", "models_fingerprint", "catalog_fingerprint", "prices_fingerprint", "version")
    return dict(zip(keys, found, strict=True))


def keep_previous_prices(con: duckdb.DuckDBPyConnection) -> None:
    """Temp copies of the price tables as the last build left them, before this build replaces them."""
    for table in PRICE_TABLES:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {PREVIOUS}{table.split('.')[1]} AS SELECT * FROM {table}")


def plan(con: duckdb.DuckDBPyConnection, ordered: list[Model], previous: dict | None, full: bool = False) -> Plan:
    """Full or incremental, and which weeks; run after the price tables are replaced, before any model."""
    max_load_id = con.execute("SELECT coalesce(max(load_id), 0) FROM raw.loads").fetchone()[0]
    prints = model_fingerprints(ordered)
    catalog = tables_fingerprint(con, STRUCTURE_TABLES)
    prices = tables_fingerprint(con, PRICE_TABLES)
    current = version()

    def make(reason: str | None, scope: Scope | None) -> Plan:
        return Plan(reason, scope, max_load_id, json.dumps(prints, sort_keys=True), catalog, prices, current)

    reason = _full_reason(previous, full, prints, catalog, current)
    if reason is None and _calls_changed_behind_loads(con):
        reason = "raw.calls does not match raw.loads (changed outside `routeledger ingest`)"
    if reason:
        return make(reason, None)
    assert previous is not None
    changed = f"load_id > {int(previous['max_load_id'])}"
    if prices != previous["prices_fingerprint"] and (repriced := _repriced_weeks(con)):
        changed += f" OR ({Scope(tuple(repriced)).condition('ts', timestamp=True)})"
    days = _days_of_changed_actions(con, changed)
    weeks = {day - timedelta(days=day.weekday()) for day in days}
    if len(weeks) > 1 and weeks >= _weeks(con, f"SELECT DISTINCT {CALL_WEEK} FROM raw.calls"):
        # replacing every row of every table costs more than building them anew
        return make(f"every week changed ({len(weeks)} weeks)", None)
    return make(None, Scope(tuple(sorted(weeks)), changed, tuple(sorted(days))))


def record(con: duckdb.DuckDBPyConnection, plan: Plan, build_id: str, built_at: datetime) -> None:
    """The build's row of raw.builds, in its transaction: the next build starts from it."""
    weeks = None if plan.scope is None else ",".join(plan.scope.labels())
    con.execute(
        "INSERT INTO raw.builds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            build_id,
            built_at,
            "full" if plan.is_full else "incremental",
            plan.full_reason,
            weeks,
            plan.max_load_id,
            plan.version,
            plan.models_fingerprint,
            plan.catalog_fingerprint,
            plan.prices_fingerprint,
        ],
    )


def check_incremental(model: Model, sources: frozenset[str]) -> str | None:
    """Why a model cannot be incremental (it reads more than the calls and their prices), or None."""
    other = sorted(sources - INCREMENTAL_SOURCES)
    if other:
        return f"declared incremental but reads {', '.join(other)}: only the calls and their prices can be scoped"
    return None


def _full_reason(previous: dict | None, full: bool, prints: dict[str, str], catalog: str, current: str) -> str | None:
    if full:
        return "--full"
    if previous is None:
        return "first build"
    if previous["version"] != current:
        return f"routeledger {previous['version']} -> {current}"
    before = json.loads(previous["models_fingerprint"])
    changed = sorted(p for p in prints.keys() | before.keys() if prints.get(p) != before.get(p))
    if changed:
        what = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        return f"{what} changed"
    if previous["catalog_fingerprint"] != catalog:
        return "the catalog's structure changed (model capabilities or policy)"
    return None


def _calls_changed_behind_loads(con: duckdb.DuckDBPyConnection) -> bool:
    """raw.calls no longer holds what raw.loads says was loaded (written to by something else than ingest)."""
    calls, loaded = con.execute(
        "SELECT (SELECT count(*) FROM raw.calls), (SELECT coalesce(sum(rows_loaded), 0) FROM raw.loads "
        "WHERE kind = 'logs')"
    ).fetchone()
    return calls != loaded


def _weeks(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> set[date]:
    return {row[0] for row in con.execute(sql, params or []).fetchall() if row[0] is not None}


def _changed(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> str:
    """A query of `columns` of the rows added to or removed from `table` since the last build."""
    previous = PREVIOUS + table.split(".")[1]
    return f"""SELECT {columns} FROM (
        (SELECT * FROM {table} EXCEPT ALL SELECT * FROM {previous})
        UNION ALL
        (SELECT * FROM {previous} EXCEPT ALL SELECT * FROM {table})
    )"""


def _repriced_weeks(con: duckdb.DuckDBPyConnection) -> set[date]:
    """The weeks whose calls a changed price row, model map row or regional uplift prices differently."""
    columns = "provider, model, price_provider, price_model"
    maps = f"SELECT {columns} FROM raw.model_map UNION SELECT {columns} FROM {PREVIOUS}model_map"
    prices = _changed(con, "raw.prices", "provider, model, effective_from")
    weeks = _weeks(
        con,
        f"""WITH changed AS (SELECT provider, model, min(effective_from) AS since FROM ({prices}) GROUP BY ALL),
        logged AS (
            SELECT maps.provider, maps.model, changed.since
            FROM ({maps}) AS maps
            INNER JOIN changed ON changed.provider = maps.price_provider AND changed.model = maps.price_model
        )
        SELECT DISTINCT {CALL_WEEK} FROM raw.calls AS calls
        INNER JOIN logged ON calls.provider = logged.provider AND calls.model = logged.model
        WHERE calls.ts >= logged.since""",
    )
    mapped = _changed(con, "raw.model_map", "provider, model")
    weeks |= _weeks(
        con,
        f"""SELECT DISTINCT {CALL_WEEK} FROM raw.calls
        INNER JOIN (SELECT DISTINCT provider, model FROM ({mapped})) AS remapped USING (provider, model)""",
    )
    since = con.execute(f"SELECT min(effective_from) FROM ({_changed(con, 'raw.price_uplifts', 'effective_from')})")
    first = since.fetchone()[0]
    if first is not None:
        weeks |= _weeks(con, f"SELECT DISTINCT {CALL_WEEK} FROM raw.calls WHERE ts >= ?", [first])
    return weeks


def _days_of_changed_actions(con: duckdb.DuckDBPyConnection, changed: str) -> set[date]:
    """Every UTC day on which the actions with a changed call have calls (what changed for them)."""
    return _weeks(
        con,
        f"""SELECT DISTINCT {CALL_DAY} FROM raw.calls
        WHERE action_id IN (SELECT action_id FROM raw.calls WHERE {changed})""",
    )


@dataclass(frozen=True)
class Calls:
    """What an incremental build reads in place of raw.calls, and the weeks it spans."""

    query: str
    weeks: tuple[date, date] | None  # the first and last Monday; None: no call

    def within(self, column: str) -> str:
        """A predicate on a table's week column: inside these weeks (so zone maps skip the others)."""
        return "false" if self.weeks is None else f"{column} between '{self.weeks[0]}' and '{self.weeks[1]}'"


def scope_calls(con: duckdb.DuckDBPyConnection, scope: Scope) -> tuple[Calls, Calls]:
    """Temp tables of the calls an incremental build reads:

    - `scoped_calls` (a view), for the tables computed by week: the calls of the scope's
      weeks and every other call of their actions (so each action is whole);
    - `changed_calls`, for the tables of calls or actions: every call of the changed actions;
    - `scoped_actions_outside`, the actions of `scoped_calls` with a call outside the weeks
      (few: those crossing a week's edge), so that a table of calls or actions is read for
      the scope's weeks plus these actions, without a semi-join on every row.

    Every call of a changed action lies in the scope's weeks (the plan took every week they
    have calls in). The other calls of the scope's actions were loaded before the last build,
    so they lie within their action's span in intermediate.int_actions as that build left it:
    raw.calls is read only between the earliest start and the latest call of the actions
    that overlap the weeks, and zone maps skip the rest.
    """
    inside = scope.condition("ts", timestamp=True)
    ranges = scope.ranges()
    if not ranges:
        con.execute("CREATE OR REPLACE TEMP TABLE scoped_actions_outside AS SELECT action_id FROM raw.calls LIMIT 0")
        con.execute("CREATE OR REPLACE TEMP VIEW scoped_calls AS SELECT * FROM raw.calls WHERE false")
        con.execute("CREATE OR REPLACE TEMP TABLE changed_calls AS SELECT * FROM raw.calls WHERE false")
        return Calls("select * from scoped_calls", None), Calls("select * from changed_calls", None)
    lo, hi = _span_of_actions_overlapping(con, ranges[0][0], ranges[-1][1])
    span = f"ts >= cast('{lo.isoformat()}' as timestamptz) and ts <= cast('{hi.isoformat()}' as timestamptz)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE scoped_actions_outside AS SELECT DISTINCT action_id FROM raw.calls "
        f"WHERE {span} AND NOT ({inside}) AND action_id IN (SELECT action_id FROM raw.calls WHERE {inside})"
    )
    # a view, read by the few tables computed from the calls by week: writing a week of
    # calls to a temp table costs more than reading them twice
    con.execute(
        "CREATE OR REPLACE TEMP VIEW scoped_calls AS SELECT * FROM raw.calls "
        f"WHERE {span} AND (({inside}) OR action_id IN (SELECT action_id FROM scoped_actions_outside))"
    )
    changed = f"({inside}) AND action_id IN (SELECT action_id FROM raw.calls WHERE ({inside}) AND ({scope.changed}))"
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed_calls AS SELECT * FROM raw.calls WHERE {changed}")
    first, last = con.execute(f"SELECT min({CALL_WEEK}), max({CALL_WEEK}) FROM changed_calls").fetchone()

    def monday(moment: datetime) -> date:
        day = moment.astimezone(UTC).date()
        return day - timedelta(days=day.weekday())

    return (
        Calls("select * from scoped_calls", (monday(lo), monday(hi))),
        Calls("select * from changed_calls", None if first is None else (first, last)),
    )


def _span_of_actions_overlapping(con: duckdb.DuckDBPyConnection, start: date, end: date) -> tuple[datetime, datetime]:
    """[first call, last call] of every action of the last build with a call in [start, end), widened to them."""
    low = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    high = datetime.combine(end, datetime.min.time(), tzinfo=UTC)
    first, last = con.execute(
        """SELECT min(started_at), max(last_call_at) FROM intermediate.int_actions
        WHERE started_at < ? AND last_call_at >= ?""",
        [high, low],
    ).fetchone()
    return min(low, first or low), max(high, last or high)


def sources_read(ordered: list[Model]) -> dict[str, frozenset[str]]:
    """{model: the raw tables it reads, through every model it reads}."""
    by_name = {m.name: m for m in ordered}
    sources: dict[str, frozenset[str]] = {}
    for model in ordered:  # build order: what a model reads is resolved before it
        found: set[str] = set()
        for read in model.reads:
            found |= sources.get(read, frozenset({read}) if read not in by_name else frozenset())
        sources[model.name] = frozenset(found)
    return sources
