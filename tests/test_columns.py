"""Each mart's columns are declared once (sql/marts/<name>.yml) and agree with what the model builds."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import columns, models
from pipelines.warehouse import Warehouse
from tests.conftest import ACME_CATALOG, call, write_jsonl

MARTS = [m for m in models.discover() if m.layer == "marts"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    """A small warehouse built by the real ingest and build."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    root = tmp_path_factory.mktemp("columns")
    db = root / "warehouse.duckdb"
    rows = [
        call("c1", "a1", "2026-03-02T10:00:00Z"),
        call("c2", "a1", "2026-03-02T10:00:05Z", call_role="fallback", model="m-large", fallback_reason="timeout"),
        call("c3", "a2", "2026-03-03T10:00:00Z", model="m-mystery"),
    ]
    run_ingest_logs(db, [str(write_jsonl(root / "calls.jsonl", rows))])
    (root / "catalog.yaml").write_text(ACME_CATALOG)
    run_build(db, root / "catalog.yaml")
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def test_every_mart_declares_its_columns():
    assert [m.name for m in MARTS if not m.columns] == []


@pytest.mark.parametrize("model", MARTS, ids=lambda m: m.name)
def test_the_spec_is_what_the_model_builds_in_name_order_and_type(built, model):
    described = [(name, type_) for name, type_, *_ in built.execute(f"DESCRIBE {model.name}").fetchall()]
    declared = [(c.name, c.type) for c in model.columns]
    assert declared == described, f"{model.path.with_suffix('.yml')} disagrees with what {model.name} builds"


def test_column_comments_reach_the_warehouse_and_the_published_snapshot(built, tmp_path):
    expected = (
        "cost of all calls of all the route-week's actions (failed ones too, their spend is carried by what "
        "completed) / completed actions; NULL when none completed [USD per action]"
    )
    query = (
        "SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = 'route_weekly' "
        "AND column_name = 'cost_per_completed_action_usd'"
    )
    assert built.execute(query).fetchall() == [(expected,)]
    path = built.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    snapshot = duckdb.connect(str(Warehouse.at(path).current_snapshot()), read_only=True)
    try:
        assert snapshot.execute(query).fetchall() == [(expected,)]
    finally:
        snapshot.close()


def test_a_spec_with_a_column_twice_or_a_missing_description_is_an_error(tmp_path):
    path = tmp_path / "m.yml"
    path.write_text("columns:\n  - {name: a, type: DATE, description: x}\n  - {name: a, type: DATE, description: y}\n")
    with pytest.raises(Exception, match=r"m\.yml: columns declared twice: a"):
        columns.load_columns(path)
    path.write_text("columns:\n  - {name: a, type: DATE}\n")
    with pytest.raises(Exception, match=r"m\.yml: columns\.0\.description: Field required"):
        columns.load_columns(path)


def test_the_app_labels_help_and_formats_come_from_the_spec():
    from app.columns import column_config

    config = column_config("marts.route_weekly", ["route", "fallback_rate", "cost_usd", "is_cost_complete"])
    assert set(config) == {"route", "fallback_rate", "cost_usd", "is_cost_complete"}
    assert config["fallback_rate"]["label"] == "Fallback rate"
    assert config["fallback_rate"]["help"] == "actions with at least one fallback call / actions [share]"
    assert config["fallback_rate"]["type_config"]["format"] == "percent"
    assert config["cost_usd"]["type_config"]["format"] == "dollar"
    assert config["is_cost_complete"]["type_config"]["type"] == "checkbox"


def test_a_spec_that_does_not_match_the_model_stops_the_build_in_one_line(tmp_path, monkeypatch, db, prices_yaml):
    """A column renamed in the SQL but not in its spec: exit 2 naming the spec and both names, not a traceback."""
    import shutil

    from pipelines.build import run_build
    from pipelines.errors import UserError
    from pipelines.ingest.logs import run_ingest_logs
    from tests.conftest import ROOT

    copy = tmp_path / "sql"
    shutil.copytree(ROOT / "sql", copy)
    model = copy / "marts" / "route_weekly_status.sql"
    model.write_text(model.read_text().replace("as share_of_calls", "as call_share"))
    monkeypatch.setattr(models, "SQL_DIR", copy)
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "calls.jsonl", [call("c1", "a1", "2026-03-02T10:00:00Z")]))])
    with pytest.raises(
        UserError,
        match=r"route_weekly_status\.yml: does not match what marts\.route_weekly_status builds: "
        r"declared but not built: share_of_calls DOUBLE; built but not declared: call_share DOUBLE",
    ):
        run_build(db, prices_yaml(ACME_CATALOG))
