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
  changed actions alone, computed from their calls; any other table the build's weeks,
  computed from their calls and every other call of the same actions, so each action is
  whole. Every other table is rebuilt in full, views stay views.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import metadata
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from pipelines.models import Model

# A call's ISO week (its Monday, UTC), as staging.stg_calls computes call_week.
CALL_WEEK = "date '1970-01-05' + cast(7 * ((epoch_us(ts) // 86400000000 - 4) // 7) as integer)"
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
    """The weeks an incremental build computes again (Mondays; empty: none), and which calls changed."""

    weeks: tuple[date, ...]
    changed: str = "false"  # a predicate over raw.calls: the calls that are new or priced anew

    def ranges(self) -> list[tuple[date, date]]:
        """The weeks as [start, end) date ranges, adjacent weeks merged."""
        merged: list[tuple[date, date]] = []
        for week in sorted(self.weeks):
            if merged and merged[-1][1] == week:
                merged[-1] = (merged[-1][0], week + timedelta(days=7))
            else:
                merged.append((week, week + timedelta(days=7)))
        return merged

    def condition(self, column: str, timestamp: bool = False) -> str:
        """A SQL predicate: `column` falls in one of the weeks (outer bounds first, so zone maps prune)."""
        ranges = self.ranges()
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
    weeks = _weeks_of_changed_actions(con, changed)
    if len(weeks) > 1 and weeks >= _weeks(con, f"SELECT DISTINCT {CALL_WEEK} FROM raw.calls"):
        # replacing every row of every table costs more than building them anew
        return make(f"every week changed ({len(weeks)} weeks)", None)
    return make(None, Scope(tuple(sorted(weeks)), changed))


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


def _weeks_of_changed_actions(con: duckdb.DuckDBPyConnection, changed: str) -> set[date]:
    """Every week in which the actions with a changed call have calls (what changed for them)."""
    return _weeks(
        con,
        f"""SELECT DISTINCT {CALL_WEEK} FROM raw.calls
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

    - `scoped_calls`, for the tables computed by week: the calls of the scope's weeks and
      every other call of their actions (so each action is whole);
    - `changed_calls`, for the tables of calls or actions: every call of the changed actions.
    """
    inside = scope.condition("ts", timestamp=True)
    whole = f"({inside}) OR action_id IN (SELECT action_id FROM raw.calls WHERE {inside})" if scope.weeks else "false"
    con.execute(f"CREATE OR REPLACE TEMP TABLE scoped_calls AS SELECT * FROM raw.calls WHERE {whole}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE changed_calls AS SELECT * FROM raw.calls "
        f"WHERE action_id IN (SELECT action_id FROM raw.calls WHERE {scope.changed})"
    )

    def read(table: str) -> Calls:
        first, last = con.execute(f"SELECT min({CALL_WEEK}), max({CALL_WEEK}) FROM {table}").fetchone()
        return Calls(f"select * from {table}", None if first is None else (first, last))

    return read("scoped_calls"), read("changed_calls")


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
