"""The SQL model runner: dependencies come from the SQL, and broken graphs are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.models import discover

HEADER = "-- model:\n--   grain: [id]\n--\n"


def write_models(root: Path, models: dict[str, str]) -> Path:
    """Model files under root; a model without a header gets one declaring grain [id]."""
    for name, sql in models.items():
        layer, table = name.split(".")
        (root / layer).mkdir(parents=True, exist_ok=True)
        (root / layer / f"{table}.sql").write_text(sql if sql.startswith("-- model:") else HEADER + sql)
    return root


def test_the_project_models_are_ordered_by_what_they_read():
    models = discover()
    order = [m.name for m in models]
    for model in models:
        for read in model.reads:
            if read in order:
                assert order.index(read) < order.index(model.name), (read, model.name)
    by_name = {m.name: m for m in models}
    assert by_name["marts.route_weekly"].reads == {"intermediate.int_route_week_rollup"}
    assert by_name["intermediate.int_route_week_rollup"].reads == {
        "intermediate.int_actions", "intermediate.int_call_costs", "staging.stg_calls",
    }  # fmt: skip
    assert by_name["intermediate.int_call_costs"].reads == {
        "staging.stg_calls", "staging.stg_model_map", "staging.stg_price_uplifts", "staging.stg_prices",
    }  # fmt: skip
    assert by_name["staging.stg_calls"].materialized == "view"
    assert by_name["marts.call_costs"].materialized == "view"  # by its header
    assert by_name["intermediate.int_route_week_rollup"].materialized == "table"  # by its header
    assert by_name["marts.route_weekly"].materialized == "table"


def test_cte_names_are_not_tables_and_headers_set_materialization(tmp_path):
    root = write_models(
        tmp_path,
        {
            "staging.stg_a": "-- model:\n--   materialized: table\n--   grain: [call_id]\n--\n"
            "with calls as (select * from raw.calls) select * from calls",
            "marts.b": "with a as (select * from staging.stg_a), final as (select * from a) select * from final",
        },
    )
    models = discover(root)
    assert [(m.name, m.reads, m.materialized) for m in models] == [
        ("staging.stg_a", {"raw.calls"}, "table"),
        ("marts.b", {"staging.stg_a"}, "table"),
    ]


def test_a_cycle_names_the_files(tmp_path):
    root = write_models(
        tmp_path,
        {"marts.a": "select * from marts.b", "marts.b": "select * from marts.a"},
    )
    with pytest.raises(UserError, match=r"cycle: marts/(a|b)\.sql -> marts/(a|b)\.sql"):
        discover(root)


def test_an_unknown_table_names_the_file_and_the_table(tmp_path):
    root = write_models(tmp_path, {"marts.a": "select * from marts.nowhere join raw.calls using (call_id)"})
    with pytest.raises(
        UserError, match=r"marts/a\.sql: reads marts\.nowhere, which is neither a model nor a raw table"
    ):
        discover(root)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("select * from calls", "table calls must be schema-qualified"),
        ("select 1; select 2", "exactly one SELECT"),
        ("delete from raw.calls", "exactly one SELECT"),
        ("select * from (", "not valid SQL"),
    ],
)
def test_a_model_is_one_select(tmp_path, sql, message):
    root = write_models(tmp_path, {"marts.a": sql})
    with pytest.raises(UserError, match=message):
        discover(root)


def test_headers_declare_grain_and_audits(tmp_path):
    root = write_models(
        tmp_path,
        {
            "marts.a": "-- model:\n--   grain: [week, route]\n--   audits:\n"
            "--     - accepted_range: {columns: [rate], min: 0, max: 1}\n--\n-- prose\nselect 1 as week",
        },
    )
    (model,) = discover(root)
    assert model.grain == ("week", "route")
    assert model.audits == ({"accepted_range": {"columns": ["rate"], "min": 0, "max": 1}},)
    assert model.audits_on_build


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("select 1", "no model header"),
        ("-- model:\n--   materialized: table\n--\nselect 1", r"model header: grain: Field required"),
        ("-- model:\n--   grain: []\n--\nselect 1", "grain: List should have at least 1 item"),
        ("-- model:\n--   grain: [a\n--\nselect 1", "the model header is not valid YAML"),
        ("-- model:\n--   grain: [a]\n--   kind: table\n--\nselect 1", "kind: Extra inputs are not permitted"),
    ],
)
def test_a_model_without_a_valid_header_is_an_error_naming_the_file(tmp_path, sql, message):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "a.sql").write_text(sql)
    with pytest.raises(UserError, match=r"marts/a\.sql: .*" + message):
        discover(tmp_path)


def test_a_runner_that_finds_no_models_fails_loudly(tmp_path):
    with pytest.raises(UserError, match="no SQL models found"):
        discover(tmp_path)


def test_what_a_model_reads_is_remembered_until_its_sql_changes(tmp_path, monkeypatch):
    from pipelines import models

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    parsed: list[str] = []
    parse = models.tables_read
    monkeypatch.setattr(models, "tables_read", lambda sql, path: parsed.append(path.name) or parse(sql, path))
    root = write_models(tmp_path, {"staging.stg_a": "select call_id from raw.calls"})
    assert [m.reads for m in discover(root)] == [frozenset({"raw.calls"})]
    assert [m.reads for m in discover(root)] == [frozenset({"raw.calls"})]  # from the cache
    assert parsed == ["stg_a.sql"]
    (root / "staging" / "stg_a.sql").write_text(HEADER + "select call_id from raw.loads")
    assert [m.reads for m in discover(root)] == [frozenset({"raw.loads"})]  # edited: parsed again
    (tmp_path / "cache" / "routeledger" / "reads.json").write_text("{not json")  # damaged: ignored
    assert [m.reads for m in discover(root)] == [frozenset({"raw.loads"})]
    assert parsed == ["stg_a.sql", "stg_a.sql", "stg_a.sql"]
