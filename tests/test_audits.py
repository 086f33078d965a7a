"""Blocking audits: each kind finds exactly the offending rows, and a planted defect stops a build.

A failed audit rolls the whole build back: the published snapshot and the warehouse's
marts stay as they were, and the CLI exits 1 naming the audit, the model and sample rows.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines import audits, models
from pipelines.audits import AuditsFailed
from pipelines.build import run_build
from pipelines.errors import UserError
from pipelines.ingest.logs import run_ingest_logs
from pipelines.models import Model
from pipelines.warehouse import Warehouse
from tests.conftest import ACME_CATALOG, ROOT, call, run_cli, write_jsonl

# -- each built-in kind, on a four-row table -------------------------------------------------------


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.t AS SELECT * FROM (VALUES
            ('w1', 'faq', 0.25, 10.50::DECIMAL(18, 2), 'ok'),
            ('w1', 'rag', 1.25, 2.00::DECIMAL(18, 2), 'ok'),
            ('w2', 'faq', NULL, 1.00::DECIMAL(18, 2), 'weird'),
            ('w2', 'faq', 0.50, 0.50::DECIMAL(18, 2), 'ok')
        ) AS t(week, route, rate, cost_usd, status)"""
    )
    con.execute("CREATE TABLE marts.other AS SELECT 14.00::DECIMAL(18, 2) AS cost_usd")
    yield con
    con.close()


def model_with(*audit_entries: dict, grain: tuple[str, ...] = ("week", "route")) -> Model:
    return Model("marts.t", Path("sql/marts/t.sql"), "", frozenset(), "table", grain, audit_entries)


def failures(con: duckdb.DuckDBPyConnection, model: Model) -> dict[str, tuple[int, list[tuple]]]:
    """audit name -> (offending rows, sample) for the audits that failed."""
    try:
        audits.run(con, audits.model_audits(model))
    except AuditsFailed as exc:
        return {r.audit.name: (r.failing_rows, r.sample) for r in exc.failed}
    return {}


def test_unique_on_the_grain_is_always_audited(con):
    assert failures(con, model_with()) == {"unique(week, route)": (1, [("w2", "faq", 2)])}
    assert failures(con, model_with(grain=("week", "route", "status"))) == {}


@pytest.mark.parametrize(
    ("entry", "name", "offending"),
    [
        ({"not_null": ["rate"]}, "not_null(rate)", 1),
        ({"not_null": ["week", "route"]}, None, 0),
        ({"accepted_values": {"column": "status", "values": ["ok"]}}, "accepted_values(status)", 1),
        ({"accepted_range": {"columns": ["rate"], "min": 0, "max": 1}}, "accepted_range(rate in [0, 1])", 1),
        ({"accepted_range": {"column": "rate", "min": 0}}, None, 0),  # NULL passes, as in dbt
        ({"expression_is_true": "rate < 1"}, "expression_is_true(rate < 1)", 1),
        # 10.50 + 2.00 + 1.00 + 0.50 = 14.00: equal to the last decimal
        ({"reconciles": {"expression": "sum(cost_usd)", "with": "marts.other"}}, None, 0),
        (
            {"reconciles": {"expression": "sum(cost_usd)", "with": "marts.other", "where": "status = 'ok'"}},
            "reconciles(sum(cost_usd) = marts.other.sum(cost_usd))",
            1,
        ),
    ],
)
def test_each_kind_finds_exactly_the_offending_rows(con, entry, name, offending):
    found = failures(con, model_with(entry, grain=("week", "route", "status")))
    assert found == ({} if name is None else {name: (offending, found[name][1])})


def test_a_reconciliation_shows_both_totals_and_their_difference(con):
    entry = {"reconciles": {"expression": "sum(cost_usd)", "with": "marts.other", "where": "status = 'ok'"}}
    [(_, sample)] = failures(con, model_with(entry, grain=("week", "route", "status"))).values()
    # 10.50 + 2.00 + 0.50 = 13.00 against 14.00
    assert sample == [(Decimal("13.00"), Decimal("14.00"), Decimal("-1.00"))]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"unique_values": ["a"]}, "unknown audit 'unique_values'"),
        ({"accepted_range": {"columns": ["rate"]}}, "give min, max or both"),
        ({"accepted_values": {"values": ["ok"]}}, "audit accepted_values: bad arguments"),
    ],
)
def test_a_malformed_audit_is_an_error_naming_the_model_file(entry, message):
    with pytest.raises(UserError, match=r"sql/marts/t\.sql: .*" + message):
        audits.model_audits(model_with(entry))


def test_an_audit_that_cannot_run_names_its_file(con):
    with pytest.raises(UserError, match=r"sql/marts/t\.sql: audit not_null\(nope\) on marts\.t cannot run"):
        audits.run(con, audits.model_audits(model_with({"not_null": ["nope"]}, grain=("week", "route", "status"))))


def test_every_project_model_declares_its_grain_and_the_heavy_ones_say_so():
    found = {m.name: m for m in models.discover()}
    assert all(m.grain for m in found.values())
    # Views over every call or action are audited on demand (routeledger audit), not at every build.
    on_demand = {name for name, m in found.items() if not m.audits_on_build}
    assert on_demand == {
        "staging.stg_calls", "intermediate.int_actions", "intermediate.int_call_costs",
        "marts.action_costs", "marts.call_costs", "marts.focus_export",
    }  # fmt: skip
    custom = {a.name for a in audits.collect(list(found.values()), on_build=True) if a.source.parent.name == "audits"}
    assert custom == {"calls_match_their_loads", "loads_add_up"}


# -- planted defects stop a real build ------------------------------------------------------------


@pytest.fixture
def built(db: Path, tmp_path: Path, prices_yaml) -> Path:
    """A small warehouse, built and published once; returns the catalog's path."""
    rows = [
        call("c1", "a1", "2026-03-02T10:00:00Z"),
        call("c2", "a1", "2026-03-02T10:00:05Z", call_role="retry"),
        call("c3", "a2", "2026-03-03T10:00:00Z", route="rag", model="m-large"),
        call("c4", "a3", "2026-03-04T10:00:00Z", status="error", input_tokens=0, output_tokens=0),
    ]
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "calls.jsonl", rows))])
    catalog = prices_yaml(ACME_CATALOG)
    run_build(db, catalog)
    return catalog


def published_state(db: Path) -> tuple[str, list[tuple]]:
    """(the CURRENT pointer's snapshot, the warehouse's route_weekly rows)."""
    warehouse = Warehouse.at(db)
    with warehouse.reader() as con:
        rows = con.execute("SELECT week, route, calls, cost_usd FROM marts.route_weekly ORDER BY ALL").fetchall()
    return warehouse.current_snapshot().name, rows


def planted_sql(tmp_path: Path, monkeypatch, model: str, old: str, new: str) -> None:
    """Build from a copy of sql/ in which `model`'s text `old` became `new`."""
    copy = tmp_path / "sql"
    shutil.copytree(ROOT / "sql", copy)
    layer, name = model.split(".")
    path = copy / layer / f"{name}.sql"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
    monkeypatch.setattr(models, "SQL_DIR", copy)


def failed_audits(db: Path, catalog: Path) -> dict[str, str]:
    with pytest.raises(AuditsFailed) as caught:
        run_build(db, catalog)
    return {r.audit.name: r.audit.model for r in caught.value.failed}


def test_a_call_duplicated_behind_ingests_back_stops_the_build(db, built):
    before = published_state(db)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO raw.calls SELECT * FROM raw.calls WHERE call_id = 'c1'")
    con.close()

    failed = failed_audits(db, built)

    assert failed == {
        "calls_match_their_loads": "raw.calls, raw.loads",
        "reconciles(sum(calls) = raw.loads.sum(rows_loaded))": "intermediate.int_route_week_rollup",
        # the copy of c1 is its action's first call too: spend_daily counts that action twice
        "reconciles(sum(actions) = intermediate.int_route_week_rollup.sum(actions))": "marts.spend_daily",
    }
    assert published_state(db) == before  # nothing published, the warehouse's marts rolled back


def test_a_rate_above_one_stops_the_build(db, built, tmp_path, monkeypatch):
    before = published_state(db)
    planted_sql(
        tmp_path, monkeypatch, "marts.route_weekly_status",
        "calls / sum(calls) over (partition by week, route) as share_of_calls",
        "2 * calls / sum(calls) over (partition by week, route) as share_of_calls",
    )  # fmt: skip
    assert failed_audits(db, built) == {
        "accepted_range(calls in [1, ], cost_usd in [0, ], share_of_calls in [0, 1])": "marts.route_weekly_status"
    }
    assert published_state(db) == before


def test_a_total_off_by_a_billionth_of_a_cent_stops_the_build(db, built, tmp_path, monkeypatch):
    before = published_state(db)
    planted_sql(
        tmp_path, monkeypatch, "marts.route_weekly",
        "        calls.cost_usd,\n",
        "        calls.cost_usd + 0.00000000001 as cost_usd,\n",
    )  # fmt: skip
    assert failed_audits(db, built) == {
        "reconciles(sum(cost_usd) = intermediate.int_route_week_rollup.sum(cost_usd))": "marts.route_weekly"
    }
    assert published_state(db) == before


def test_a_custom_audit_file_blocks_the_build(db, built, tmp_path, monkeypatch):
    planted_sql(tmp_path, monkeypatch, "marts.route_weekly", "with\n", "with\n")
    (tmp_path / "sql" / "audits" / "no_rag.sql").write_text(
        "-- The rag route must not exist (a test's rule).\n"
        "select route, calls from marts.route_weekly where route = 'rag'"
    )
    assert failed_audits(db, built) == {"no_rag": "marts.route_weekly"}


@pytest.mark.slow
def test_the_cli_prints_the_audit_the_model_and_the_rows_and_exits_1(db, built):
    clean = run_cli("audit", "--db", str(db))
    assert clean.returncode == 0, clean.stderr
    assert "audits passed" in clean.stdout
    assert "unique(call_id)" in clean.stdout  # the on-demand audits of the call-level views ran too

    con = duckdb.connect(str(db))
    con.execute("INSERT INTO raw.calls SELECT * FROM raw.calls WHERE call_id = 'c1'")
    con.close()
    before = published_state(db)

    result = run_cli("build", "--db", str(db), "--prices", str(built))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith(
        "routeledger: audit reconciles(sum(calls) = raw.loads.sum(rows_loaded)) failed on "
        "intermediate.int_route_week_rollup: 1 offending row(s) (and 2 more failed audits)"
    )
    assert "audit calls_match_their_loads on raw.calls, raw.loads" in result.stderr
    assert "sql/audits/calls_match_their_loads.sql" in result.stderr
    assert "calls.jsonl" in result.stderr  # the sample row names the load's file
    assert "published" not in result.stdout
    assert published_state(db) == before

    audited = run_cli("audit", "--db", str(db))
    assert audited.returncode == 1
    assert "unique(call_id)" in audited.stderr  # the duplicate itself, found by the on-demand audit
