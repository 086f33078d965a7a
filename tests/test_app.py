"""The Streamlit app under AppTest: the "Routes by week" page on a published snapshot.

The other pages are tested in tests/test_app_pages.py on the same fixture.

The fixture, tests/fixtures/app/routes_two_weeks.jsonl, is ten calls over two ISO
weeks, priced with ACME_CATALOG (per 1M tokens: m-small $1 in / $4 out, m-large
$10 in / $40 out until 2026-03-04, then $5 / $20). Cost of a call =
(input · p_in + output · p_out) / 1e6:

week of Monday 2026-02-16 (W08)
  support_faq  act-faq-1  faq-1   primary ok            1000/100  1000 + 400   = 0.0014
               act-faq-2  faq-2a  primary error         1000/0    1000         = 0.0010
                          faq-2b  retry   ok            1000/100  1000 + 400   = 0.0014
               act-faq-3  faq-3a  primary rate_limited  0/0  at 2026-02-23T00:59+01:00, a Sunday in UTC = 0
                          faq-3b  retry   ok            1000/100  (Monday, W09: counts with its action in W08) = 0.0014
               3 actions, 3 completed, 5 calls, cost 0.0052, per completed 0.0052 / 3 = 0.001733333
  codegen      act-gen-1  gen-1   primary ok            2000/500  20000 + 20000 = 0.040
               act-gen-2  gen-2   primary ok, quality_passed false: not completed
                                                        1000/200  10000 + 8000  = 0.018
               2 actions, 1 completed, 2 calls, cost 0.058, per completed 0.058
week of Monday 2026-02-23 (W09)
  summarize    act-sum-1  sum-1   primary ok            2000/1000 2000 + 4000  = 0.006
               1 action, 1 completed, 1 call, cost 0.006, per completed 0.006
  support_faq  act-faq-4  faq-4   primary ok            3000/1000 3000 + 4000  = 0.007
               act-faq-5  faq-5   primary timeout       0/0                    = 0 (failed)
               2 actions, 1 completed, 2 calls, cost 0.007, per completed 0.007

The page sorts a week's routes by cost, highest first (in W09 that is not the
alphabetical order); the first chart sorts them by cost per completed action, lowest first.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pipelines.warehouse import Warehouse, open_snapshot
from tests.conftest import ACME_CATALOG, FIXTURES, ROOT, call, write_jsonl

TWO_WEEKS = FIXTURES / "app" / "routes_two_weeks.jsonl"
W08, W09, W10 = date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2)

# (route, actions, completed_actions, calls, cost_usd, cost_per_completed_action_usd), in page order
ROUTES_W09 = [
    ("support_faq", 2, 1, 2, Decimal("0.007"), Decimal("0.007")),
    ("summarize", 1, 1, 1, Decimal("0.006"), Decimal("0.006")),
]
ROUTES_W08 = [
    ("codegen", 2, 1, 2, Decimal("0.058"), Decimal("0.058")),
    ("support_faq", 3, 3, 5, Decimal("0.0052"), Decimal("0.001733333")),
]
TABLE_COLUMNS = ["route", "actions", "completed_actions", "calls", "cost_usd", "cost_per_completed_action_usd"]


@pytest.fixture
def published(warehouse, prices_yaml, db: Path, monkeypatch: pytest.MonkeyPatch):
    """The two-week fixture ingested, built and published; the app pointed at it."""
    con = warehouse([TWO_WEEKS], prices_yaml(ACME_CATALOG))
    monkeypatch.setenv("ROUTELEDGER_DB", str(db))
    return con


def open_page() -> AppTest:
    """The "Routes by week" page, as a user reaches it from the landing page (the Weekly review)."""
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    at.switch_page("pages/routes_by_week.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def table_rows(at: AppTest) -> list[tuple]:
    frame = at.dataframe[0].value
    return [tuple(row) for row in frame[TABLE_COLUMNS].itertuples(index=False, name=None)]


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def plotly_values(values: list | dict) -> list:
    """A trace's x or y: Plotly 6 sends numeric arrays base64-encoded with their dtype."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"])).tolist()
    return list(values)


def published_build(db: Path) -> tuple[str, object]:
    """The build id that published/CURRENT names, and its build time from the snapshot."""
    name = (db.parent / "published" / db.name / "CURRENT").read_text().strip()
    build_id = name.removeprefix("marts-").removesuffix(".duckdb")
    con = open_snapshot(Warehouse.at(db).current_snapshot())
    try:
        snapshot_build_id, built_at = con.execute("SELECT build_id, built_at FROM meta.build").fetchone()
    finally:
        con.close()
    assert snapshot_build_id == build_id
    return build_id, built_at


def test_page_shows_the_newest_week_of_the_published_snapshot(published, db):
    at = open_page()

    assert [title.value for title in at.title] == ["Routes by week"]
    build_id, built_at = published_build(db)
    assert [caption.value for caption in at.caption] == [f"data as of {built_at:%Y-%m-%d %H:%M} UTC · build {build_id}"]

    week = at.selectbox(key="week")
    assert week.options == ["2026-02-23 (W09)", "2026-02-16 (W08)"]
    assert week.value == W09
    assert table_rows(at) == ROUTES_W09


def test_choosing_the_older_week_shows_its_routes(published):
    at = open_page()

    at.selectbox(key="week").set_value(W08).run()

    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="week").value == W08
    assert table_rows(at) == ROUTES_W08
    by_route, _ = plotly_specs(at)
    (bars,) = by_route["data"]
    assert bars["y"] == ["support_faq", "codegen"]  # cheapest per completed action first
    assert plotly_values(bars["x"]) == pytest.approx([0.001733333, 0.058])


def test_two_charts_plot_the_week_and_the_trend(published):
    at = open_page()

    by_route, trend = plotly_specs(at)

    (bars,) = by_route["data"]
    assert bars["type"] == "bar"
    assert bars["y"] == ["summarize", "support_faq"]
    assert plotly_values(bars["x"]) == pytest.approx([0.006, 0.007])
    lines = {trace["name"]: (trace["x"], plotly_values(trace["y"])) for trace in trend["data"]}
    assert lines == {
        "codegen": (["2026-02-16"], pytest.approx([0.058])),
        "support_faq": (["2026-02-16", "2026-02-23"], pytest.approx([0.001733333, 0.007])),
        "summarize": (["2026-02-23"], pytest.approx([0.006])),
    }


def test_a_rerun_after_a_new_build_reads_the_new_snapshot(published, db, tmp_path, prices_yaml):
    """The app holds no connection: a build publishes while a session is open, and its next run follows CURRENT."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    at = open_page()
    old_build_id, _ = published_build(db)
    published.close()  # the fixture's read-only connection to the warehouse would block this process's writer

    # m-large after its 2026-03-04 price cut: (2000 · 5 + 100 · 20) / 1e6 = 0.012 (0.06 before it)
    week_10 = write_jsonl(
        tmp_path / "week10.jsonl",
        [call("faq-6", "act-faq-6", "2026-03-05T09:00:00Z", model="m-large", input_tokens=2000, output_tokens=100)],
    )
    run_ingest_logs(db, [str(week_10)])
    run_build(db, tmp_path / "catalog.yaml")
    new_build_id, built_at = published_build(db)
    assert new_build_id != old_build_id

    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert [caption.value for caption in at.caption] == [
        f"data as of {built_at:%Y-%m-%d %H:%M} UTC · build {new_build_id}"
    ]
    assert at.selectbox(key="week").options == ["2026-03-02 (W10)", "2026-02-23 (W09)", "2026-02-16 (W08)"]

    fresh = open_page()  # a new visitor lands on the newest week
    assert fresh.selectbox(key="week").value == W10
    assert table_rows(fresh) == [("support_faq", 1, 1, 1, Decimal("0.012"), Decimal("0.012"))]


def test_before_the_first_build_the_page_says_there_is_no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTELEDGER_DB", str(tmp_path / "empty" / "warehouse.duckdb"))

    at = open_page()

    assert [title.value for title in at.title] == ["Routes by week"]
    assert len(at.info) == 1
    assert at.info[0].value.startswith("No published data yet")
    assert len(at.caption) == 0
    assert len(at.selectbox) == 0
    assert len(at.dataframe) == 0
    assert len(at.get("plotly_chart")) == 0


def test_routes_with_unpriced_calls_are_flagged(warehouse, prices_yaml, db, tmp_path, monkeypatch):
    # one priced call and one of a model nobody prices, in the same route-week
    rows = [
        call("p1", "a1", "2026-03-02T10:00:00Z"),
        call("u1", "a2", "2026-03-02T11:00:00Z", model="m-mystery"),
    ]
    warehouse([write_jsonl(tmp_path / "calls.jsonl", rows)], prices_yaml(ACME_CATALOG))
    monkeypatch.setenv("ROUTELEDGER_DB", str(db))
    at = open_page()
    assert not at.exception
    [warning] = at.warning
    assert "support_faq (1 call)" in warning.value, warning.value
    assert "prices check" in warning.value
