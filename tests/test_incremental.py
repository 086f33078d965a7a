"""Incremental builds: which weeks a build computes again, when it builds in full, and that
the result equals a full build of the same raw data, value for value."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import models
from pipelines.build import BuildResult, run_build
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import ACME_CATALOG, call, rows, run_cli, write_jsonl
from tests.test_properties import calls

W09, W10, W11 = date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)  # Mondays
INCREMENTAL = sorted(m.name for m in models.discover() if m.incremental)
IN_FULL = sum(1 for m in models.discover() if m.materialized == "table" and not m.incremental)
# Compares a build with the builds before it: a history, which one full build of the same data has not.
BUILD_HISTORY = {"marts.week_restatements"}


THREE_WEEKS = [
    call("c1", "a1", "2026-02-24T10:00:00Z"),
    call("c2", "a2", "2026-03-03T10:00:00Z", route="rag"),
    # a3 starts on Sunday 8 March (W10) and ends on Monday 9 March (W11)
    call("c3", "a3", "2026-03-08T23:59:00Z"),
    call("c4", "a3", "2026-03-09T00:01:00Z", call_role="retry"),
    call("c5", "a5", "2026-03-10T10:00:00Z", model="m-large"),
]


def build(db: Path, catalog: Path, **options: object) -> tuple[BuildResult, list[str]]:
    said: list[str] = []
    return run_build(db, catalog, on_plan=said.append, **options), said


def ingest(db: Path, path: Path, rows_: list[dict]) -> None:
    run_ingest_logs(db, [str(write_jsonl(path, rows_))])


@pytest.fixture
def catalog(prices_yaml) -> Path:
    return prices_yaml(ACME_CATALOG)


@pytest.fixture
def built(db: Path, tmp_path: Path, catalog: Path) -> Path:
    """A warehouse of THREE_WEEKS, built once (a full build: the first)."""
    ingest(db, tmp_path / "logs" / "three-weeks.jsonl", THREE_WEEKS)
    result, said = build(db, catalog)
    assert said == ["full build: first build"]
    assert all(b.weeks is None for b in result.models)
    return db


def weeks_computed(result: BuildResult) -> dict[str, int | None]:
    return {b.name: b.weeks for b in result.models if b.name in INCREMENTAL}


def test_a_late_day_computes_only_its_week_again(built: Path, tmp_path: Path, catalog: Path):
    ingest(built, tmp_path / "logs" / "late.jsonl", [call("c6", "a6", "2026-02-26T08:00:00Z", output_tokens=300)])
    result, said = build(built, catalog)
    assert result.plan.scope is not None and result.plan.scope.weeks == (W09,)
    assert said == [f"incremental build: 1 week (2026-W09) of {len(INCREMENTAL)} models; {IN_FULL} models in full"]
    assert weeks_computed(result) == dict.fromkeys(INCREMENTAL, 1)
    # W09 now holds a1 and a6: 2 calls of 1000 input and 100 + 300 output tokens at m-small's
    # 1.00 / 4.00 USD per 1M: 2 x 0.001 + 400 x 0.000004 = 0.0036
    # W09 now holds a1 and a6 at m-small's 1.00 / 4.00 USD per 1M tokens: 1000 input tokens each
    # (0.001) and 100 + 300 output tokens (0.0004 + 0.0012); W10 holds a3 (both its calls);
    # W11 a5 on m-large at its 4 March price, 5.00 / 20.00: 0.005 + 0.002
    sql = "SELECT week, calls, actions, cost_usd FROM marts.route_weekly WHERE route = 'support_faq' ORDER BY week"
    assert rows(built, sql) == [
        (W09, 2, 2, Decimal("0.0036")),
        (W10, 2, 1, Decimal("0.0028")),
        (W11, 1, 1, Decimal("0.007")),
    ]
    assert rows(built, "SELECT kind, weeks FROM raw.builds ORDER BY built_at") == [
        ("full", None),
        ("incremental", "2026-W09"),
    ]


def test_nothing_new_computes_no_week(built: Path, catalog: Path):
    result, said = build(built, catalog)
    assert said == [f"incremental build: 0 weeks of {len(INCREMENTAL)} models; {IN_FULL} models in full"]
    assert weeks_computed(result) == dict.fromkeys(INCREMENTAL, 0)
    assert rows(built, "SELECT sum(calls) FROM marts.route_weekly") == [(5,)]


def test_an_action_across_a_week_boundary_widens_the_weeks(built: Path, tmp_path: Path, catalog: Path):
    # a late call of a3, whose first call is in W10: W11 has new calls, and a3 belongs to W10
    # spend_daily's rows are marked by hand: a row computed again loses the mark
    with duckdb.connect(str(built)) as con:
        con.execute("UPDATE marts.spend_daily SET output_tokens = output_tokens + 1000000")
    ingest(built, tmp_path / "logs" / "late.jsonl", [call("c7", "a3", "2026-03-09T00:05:00Z", call_role="fallback")])
    result, _ = build(built, catalog)
    assert result.plan.scope is not None and result.plan.scope.weeks == (W10, W11)
    assert rows(
        built, "SELECT calls, fallback_calls FROM marts.route_weekly WHERE week = ? AND route = 'support_faq'", W10
    ) == [(3, 1)]
    # a daily table computes again only the days a3 has calls on, 8 and 9 March; 24 February,
    # 3 and 10 March keep their rows
    assert result.plan.scope.days == (date(2026, 3, 8), date(2026, 3, 9))
    marked = "SELECT day, calls, fallback_calls, output_tokens >= 1000000 FROM marts.spend_daily ORDER BY day"
    assert rows(built, marked) == [
        (date(2026, 2, 24), 1, 0, True),
        (date(2026, 3, 3), 1, 0, True),
        (date(2026, 3, 8), 1, 0, False),
        (date(2026, 3, 9), 2, 1, False),
        (date(2026, 3, 10), 1, 0, True),
    ]


def test_a_price_change_computes_the_weeks_of_that_model_from_its_date(built: Path, catalog: Path):
    # m-large, called in W11 only, gets a new price from 1 March: W11 (W10 has no m-large call,
    # but a3 has calls in both, so W10 too); W09 is before the change
    catalog.write_text(
        ACME_CATALOG.replace(
            "      - effective_from: 2026-03-04\n        input: 5.00",
            "      - effective_from: 2026-03-01\n        input: 6.00",
        )
    )
    result, _ = build(built, catalog)
    assert result.plan.scope is not None and result.plan.scope.weeks == (W10, W11)
    # a5: 1000 input and 100 output tokens at m-large's new 6.00 / 20.00 (0.007 before)
    assert rows(built, "SELECT cost_usd FROM marts.route_weekly WHERE week = ? AND route = 'support_faq'", W11) == [
        (Decimal("0.008"),)
    ]


def test_a_changed_model_or_full_builds_in_full(built: Path, catalog: Path, monkeypatch: pytest.MonkeyPatch):
    discover = models.discover

    def changed() -> list[models.Model]:
        return [
            dataclasses.replace(m, sql=m.sql + "\n-- a comment\n") if m.name == "marts.route_weekly" else m
            for m in discover()
        ]

    monkeypatch.setattr(models, "discover", changed)
    result, said = build(built, catalog)
    assert said == ["full build: sql/marts/route_weekly.sql changed"]
    assert all(b.weeks is None for b in result.models)
    monkeypatch.undo()
    assert build(built, catalog)[1] == ["full build: sql/marts/route_weekly.sql changed"]  # and back
    assert build(built, catalog, full=True)[1] == ["full build: --full"]


def test_a_change_to_every_week_builds_in_full(built: Path, catalog: Path, tmp_path: Path):
    # the same catalog read from another folder: its price rows are the same, nothing is priced anew
    moved = tmp_path / "elsewhere" / "catalog.yaml"
    moved.parent.mkdir()
    moved.write_text(catalog.read_text())
    assert build(built, moved)[1] == [
        f"incremental build: 0 weeks of {len(INCREMENTAL)} models; {IN_FULL} models in full"
    ]
    assert rows(built, "SELECT DISTINCT price_source FROM marts.call_costs WHERE price_source LIKE 'catalog%'") == [
        ("catalog catalog.yaml",)
    ]
    # m-small, called in every week, priced anew from its first day: replacing every row of
    # every table costs more than building them anew
    moved.write_text(catalog.read_text().replace("        input: 1.00\n", "        input: 1.50\n", 1))
    result, said = build(built, moved)
    assert said == ["full build: every week changed (3 weeks)"]
    assert all(b.weeks is None for b in result.models)


def test_the_build_command_says_what_it_builds(built: Path, catalog: Path):
    result = run_cli("build", "--db", str(built), "--prices", str(catalog), "--full", check=True)
    assert "full build: --full" in result.stdout


# -- incremental builds equal a full build -----------------------------------------------

PRICE_CHANGE = (
    ACME_CATALOG
    + """  - provider: acme
    model: m-mystery
    prices:
      - effective_from: 2026-03-05
        input: 3.00
        output: 9.00
"""
)


# 12 to 40 calls over three weeks and a day, of 8 actions: most actions cross a week boundary
logs = st.lists(calls(), min_size=12, max_size=40).map(
    lambda rows: [
        row | {"call_id": f"c{i}", "action_id": f"a{int(row['action_id'][1:]) % 8}"} for i, row in enumerate(rows)
    ]
)


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name IN ('intermediate', 'marts') ORDER BY ALL"
        ).fetchall()
    ]


def _day(ts: str | int) -> int:
    """Days since the logs' start (Monday 23 February 2026) of a generated call's ts."""
    stamp = datetime.fromtimestamp(ts / 1000, UTC) if isinstance(ts, int) else datetime.fromisoformat(ts)
    return (stamp - datetime(2026, 2, 23, tzinfo=UTC)).days


def differences(incremental: Path, full: Path) -> dict[str, int]:
    """{table: rows in one and not the other (EXCEPT ALL both ways)} for every table that differs."""
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        con.execute(f"ATTACH '{full}' AS full_build (READ_ONLY)")
        found = {}
        for table in mart_tables(con):
            if table in BUILD_HISTORY:
                continue
            differ = con.execute(
                f"""SELECT count(*) FROM (
                    (SELECT * FROM {table} EXCEPT ALL SELECT * FROM full_build.{table})
                    UNION ALL
                    (SELECT * FROM full_build.{table} EXCEPT ALL SELECT * FROM {table}))"""
            ).fetchone()[0]
            if differ:
                found[table] = differ
        return found
    finally:
        con.close()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows_=logs, seed=st.randoms(use_true_random=False), parts=st.integers(2, 4), repriced=st.integers(0, 3))
def test_incremental_builds_equal_a_full_build(tmp_path_factory, rows_, seed, parts, repriced):
    directory = tmp_path_factory.mktemp("incremental")
    db = directory / "warehouse.duckdb"
    catalog = directory / "catalog.yaml"
    catalog.write_text(ACME_CATALOG)
    # loads mostly in time order, a few rows arriving late (in a later load), out of order
    loads: list[list[dict]] = [[] for _ in range(parts)]
    for row in rows_:
        on_time = min(parts - 1, (_day(row["ts"]) * parts) // 22)
        loads[seed.randint(on_time, parts - 1) if seed.random() < 0.2 else on_time].append(row)
    for i, part in enumerate(loads):
        seed.shuffle(part)
        if part:
            ingest(db, directory / f"part-{i}.jsonl", part)
        if i == repriced:  # a price row added between builds
            catalog.write_text(PRICE_CHANGE)
        build(db, catalog)
    full = directory / "full.duckdb"
    shutil.copy(db, full)
    assert build(full, catalog, full=True)[1] == ["full build: --full"]
    assert differences(db, full) == {}
