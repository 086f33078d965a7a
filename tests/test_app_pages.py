"""Every page of the app under AppTest, on the two-week fixture of tests/test_app.py.

The fixture's calls and costs are worked out in test_app.py's docstring. The figures these
tests expect, from there:

  week of 2026-02-16 (W08): spend 0.058 + 0.0052 = 0.0632, 5 actions, 4 completed,
      cost per completed action 0.0632 / 4 = 0.0158, completion 4/5 = 80%
  week of 2026-02-23 (W09): spend 0.007 + 0.006 = 0.013, 3 actions, 2 completed,
      0.013 / 2 = 0.0065, completion 2/3 = 66.7%
      against W08: spend -0.0502, actions -2, per completed action -0.0093, completion -13.3 pp

By UTC day of the call (the spend cube): 02-16 support_faq 0.0014, 02-17 support_faq 0.0024,
02-18 codegen 0.04, 02-19 codegen 0.018, 02-22 support_faq 0 (rate limited), 02-23
support_faq 0.0014 (faq-3b, its action in W08), 02-24 summarize 0.006, 02-25 support_faq
0.007, 02-26 support_faq 0 (timeout): 10 calls, 8 actions, 0.0762 in all.

The latest build is "now", long after both weeks: the last complete week is W09.
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ACME_CATALOG, FIXTURES, ROOT, call, write_jsonl

TWO_WEEKS = FIXTURES / "app" / "routes_two_weeks.jsonl"
W08, W09 = date(2026, 2, 16), date(2026, 2, 23)
PAGES = [
    "weekly_review",
    "routes_by_week",
    "spend_explorer",
    "regression_debugger",
    "providers",
    "reconciliation",
    "data_health",
]


@pytest.fixture
def published(warehouse, prices_yaml, db: Path, monkeypatch: pytest.MonkeyPatch):
    con = warehouse([TWO_WEEKS], prices_yaml(ACME_CATALOG))
    monkeypatch.setenv("ROUTELEDGER_DB", str(db))
    return con


def open_app(page: str = "weekly_review", **query: str) -> AppTest:
    """The app as a visitor opens a link: `page` with the URL parameters `query`."""
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=60)
    at.query_params.update(query)
    if page != "weekly_review":
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {metric.label: (metric.value, metric.delta) for metric in at.metric}


def table_with(at: AppTest, name: str):
    """The first table on the page with a column `name`."""
    return next(table.value for table in at.dataframe if name in table.value.columns)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_and_says_what_data_it_shows(published, page):
    at = open_app(page)

    assert not at.error, [e.value for e in at.error]
    assert any(caption.value.startswith("data as of ") for caption in at.caption)


@pytest.mark.parametrize("page", PAGES)
def test_before_the_first_build_every_page_says_what_to_run(tmp_path, monkeypatch, page):
    monkeypatch.setenv("ROUTELEDGER_DB", str(tmp_path / "empty" / "warehouse.duckdb"))

    at = open_app(page)

    assert [info.value for info in at.info] == [
        "No published data yet. Run `routeledger ingest logs PATH` and `routeledger build`."
    ]
    assert len(at.dataframe) == 0


def test_the_review_lands_on_the_last_complete_week_with_its_changes(published):
    at = open_app()

    assert [title.value for title in at.title] == ["Weekly review"]
    assert at.selectbox(key="week").value == W09
    shown = metrics(at)
    assert shown["Spend"] == ("$0.0130", "-$0.0502")
    assert shown["Actions"] == ("3", "-2")
    assert shown["Cost per completed action"] == ("$0.0065", "-$0.0093")
    assert shown["Completion rate"] == ("66.7%", "-13.3 pp")
    # The waterfall is drawn in the page itself (an SVG in markdown, no image to fetch): W08's spend, then W09's.
    waterfall = next(m.value for m in at.markdown if m.value.startswith("<svg"))
    assert ">$0.06</text>" in waterfall and ">$0.01</text>" in waterfall and waterfall.count("<rect ") == 8
    # Route health: W09's routes, the costliest first, with the mart's own figures.
    health = table_with(at, "trend_8w")
    assert list(health["route"]) == ["support_faq", "summarize"]
    assert [Decimal(str(c)) for c in health["cost_usd"]] == [Decimal("0.007"), Decimal("0.006")]
    # support_faq ran both weeks: its sparkline is W08's 0.001733333 then W09's 0.007.
    assert list(health["trend_8w"][0]) == pytest.approx([0.001733333, 0.007])
    # Route health and the movers (the detail open by default) each download as CSV and Parquet.
    assert [button.proto.label for button in at.get("download_button")] == ["CSV", "Parquet"] * 2


def test_a_week_in_the_url_restores_that_review(published):
    at = open_app(week="2026-02-16 (W08)")

    assert at.selectbox(key="week").value == W08
    shown = metrics(at)
    assert shown["Spend"] == ("$0.0632", "")  # no week before W08: no change shown
    assert shown["Cost per completed action"] == ("$0.0158", "")


def test_choosing_another_week_changes_the_review(published):
    at = open_app()

    at.selectbox(key="week").set_value(W08).run()

    assert metrics(at)["Spend"] == ("$0.0632", "")
    # W08 is the first week with data: no movers (marts.spend_deltas starts with the second week).
    assert "No week before this one: nothing moved against it." in [info.value for info in at.info]


def test_top_movers_are_the_routes_spend_changes_largest_first(published):
    at = open_app(week="2026-02-23 (W09)")

    # codegen: 0.058 in W08, none in W09; support_faq 0.0052 → 0.007; summarize new at 0.006
    movers = table_with(at, "delta_usd")
    assert list(movers["route"]) == ["codegen", "summarize", "support_faq"]
    assert [Decimal(str(d)) for d in movers["delta_usd"]] == [Decimal("-0.058"), Decimal("0.006"), Decimal("0.0018")]


def test_the_review_says_what_to_load_when_there_are_no_bills(published):
    at = open_app(detail="Reconciliation")

    # Only the detail the URL names runs: the reconciliation's line, no movers table.
    assert not any("delta_usd" in table.value.columns for table in at.dataframe)
    assert "No bill covers this week yet: load the providers' exports with `routeledger ingest billing PATH`." in [
        info.value for info in at.info
    ]


def test_spend_explorer_totals_the_cube_and_compares_with_the_period_before(published):
    at = open_app("spend_explorer")

    assert at.date_input(key="days").value == (W08, date(2026, 2, 26))
    assert metrics(at)["Spend"] == ("$0.0762", "")
    assert metrics(at)["Calls"] == ("10", "")
    assert metrics(at)["Actions"] == ("8", "")

    at.selectbox(key="by").set_value("route").run()
    at.date_input(key="days").set_value((W09, date(2026, 2, 26))).run()

    # 02-23..02-26 against the four days before (02-19..02-22): codegen spent 0.018 then, nothing now.
    totals = at.dataframe[0].value
    assert list(totals["group"]) == ["support_faq", "summarize", "codegen"]
    assert [Decimal(str(c)) for c in totals["cost_usd"]] == [Decimal("0.0084"), Decimal("0.006"), Decimal("0")]
    assert [Decimal(str(c)) for c in totals["delta_usd"]] == [Decimal("0.0084"), Decimal("0.006"), Decimal("-0.018")]
    assert metrics(at)["Spend"] == ("$0.0144", "-$0.0036 vs previous period")  # 0.0144 - 0.018


def test_spend_explorer_restores_its_view_from_the_url(published):
    at = open_app("spend_explorer", by="Provider", days=["2026-02-18", "2026-02-19"])

    assert at.selectbox(key="by").value == "provider"
    assert at.date_input(key="days").value == (date(2026, 2, 18), date(2026, 2, 19))
    assert metrics(at)["Spend"] == ("$0.0580", "+$0.0542 vs previous period")  # 0.058 - (0.0014 + 0.0024)


def test_the_debugger_opens_on_the_route_and_week_of_a_link(published):
    at = open_app("regression_debugger", route="support_faq", week="2026-02-16 (W08)")

    assert at.selectbox(key="route").value == "support_faq"
    assert at.selectbox(key="week").value == W08
    # The sample: all three of the route-week's actions are among its 5 most expensive,
    # act-faq-2 (0.001 + 0.0014 = 0.0024) first, then act-faq-1 and act-faq-3 (0.0014 each) by id.
    assert list(table_with(at, "action_id")["action_id"]) == ["act-faq-2", "act-faq-1", "act-faq-3"]
    # The other sections, each opened from the URL (?section=...); only the open one runs.
    assert not any("model_chain" in table.value.columns for table in at.dataframe)
    at = open_app("regression_debugger", route="support_faq", week="2026-02-16 (W08)", section="Fallbacks and errors")
    statuses = table_with(at, "status")
    assert dict(zip(statuses["status"], statuses["calls"], strict=True)) == {"ok": 3, "error": 1, "rate_limited": 1}
    assert not any("action_id" in table.value.columns for table in at.dataframe)
    # Tier chains (m-small is low): faq-2 and faq-3 failed once and retried, faq-1 answered at once.
    at = open_app("regression_debugger", route="support_faq", week="2026-02-16 (W08)", section="Tier chains")
    chains = table_with(at, "model_chain")
    assert dict(zip(chains["model_chain"], chains["actions"], strict=True)) == {"low → low (retry)": 2, "low": 1}


def test_the_debugger_follows_a_route_change(published):
    at = open_app("regression_debugger", week="2026-02-23 (W09)")
    assert at.selectbox(key="route").value == "support_faq"  # the week's costliest route

    at.selectbox(key="route").set_value("summarize").run()

    assert list(table_with(at, "action_id")["action_id"]) == ["act-sum-1"]


def test_the_sample_filters_keep_the_actions_with_a_matching_call(published):
    at = open_app("regression_debugger", route="support_faq", week="2026-02-16 (W08)")

    # only act-faq-2 has a call that errored (faq-2a); all of its calls stay listed
    at.multiselect(key="status").set_value(["error"]).run()
    assert list(table_with(at, "action_id")["action_id"]) == ["act-faq-2"]
    assert list(table_with(at, "call_seq")["status"]) == ["error", "ok"]

    # retries: act-faq-2 (faq-2b) and act-faq-3 (faq-3b), and the status filter set aside
    at.multiselect(key="status").set_value([]).run()
    at.multiselect(key="role").set_value(["retry"]).run()
    assert list(table_with(at, "action_id")["action_id"]) == ["act-faq-2", "act-faq-3"]

    # three actions in the week: all among the 5 most expensive, none left for the random draw
    at.selectbox(key="sample").set_value("random").run()
    assert "No sampled action has a call matching these filters." in [info.value for info in at.info]


def test_the_sample_filters_are_restored_from_the_url(published):
    at = open_app("regression_debugger", route="support_faq", week="2026-02-16 (W08)", status="rate_limited")

    assert at.multiselect(key="status").value == ["rate_limited"]
    assert list(table_with(at, "action_id")["action_id"]) == ["act-faq-3"]


def test_the_debugger_marks_a_price_change_of_the_routes_models(published, db, tmp_path):
    """m-large (codegen's model) drops from $10 / $40 to $5 / $20 per 1M tokens on 2026-03-04, in W10."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    published.close()
    later = call("gen-3", "act-gen-3", "2026-03-05T09:00:00Z", route="codegen", model="m-large")
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "w10.jsonl", [later]))])
    run_build(db, tmp_path / "catalog.yaml")

    at = open_app("regression_debugger", route="codegen", week="2026-03-02 (W10)")

    prices = table_with(at, "effective_from")
    assert list(prices["model"]) == ["m-large"]
    assert [Decimal(str(v)) for v in prices["input_usd_per_mtok_before"]] == [Decimal("10")]
    assert [Decimal(str(v)) for v in prices["input_usd_per_mtok"]] == [Decimal("5")]
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [note["text"] for note in chart["layout"]["annotations"]] == ["price m-large"]
    assert chart["layout"]["shapes"][0]["x0"].startswith("2026-03-04")


def test_providers_shows_each_providers_share(published):
    at = open_app("providers")

    # W09 by call day (02-23..03-01): 4 calls, 0.0014 + 0.006 + 0.007 + 0 = 0.0144, all acme.
    shares = at.dataframe[0].value
    assert list(shares["provider"]) == ["acme"]
    assert list(shares["calls"]) == [4]
    assert list(shares["error_rate"]) == [0.25]  # faq-5 timed out: 1 of 4
    assert [Decimal(str(c)) for c in shares["cost_usd"]] == [Decimal("0.0144")]
    assert metrics(at)["Largest provider's share of spend"][0] == "100.0%"


def test_data_health_lists_the_load(published):
    at = open_app("data_health")

    loads = at.dataframe[-1].value
    assert list(loads["check_name"]) == ["load"]
    assert list(loads["n_rows"]) == [10]
    assert [success.value for success in at.success][:2] == ["No row was rejected.", "Every call has a price."]


def test_a_week_a_later_build_changed_says_it_was_restated_and_by_how_much(published, db, tmp_path):
    """A late log for W08 arrives after the first build: the next build's review of W08 says so; W09's does not."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    published.close()  # the fixture's read-only connection would block this process's writer
    first = run_build(db, tmp_path / "catalog.yaml")
    # m-small, 1000 in / 100 out: (1000 · 1 + 100 · 4) / 1e6 = 0.0014, on Wednesday of W08
    late = write_jsonl(tmp_path / "late.jsonl", [call("late-1", "act-late-1", "2026-02-18T12:00:00Z")])
    run_ingest_logs(db, [str(late)])
    second = run_build(db, tmp_path / "catalog.yaml")

    at = open_app(week="2026-02-16 (W08)")

    assert [warning.value for warning in at.warning] == [
        f"This week was restated by build {second.build_id}: spend $0.0632 → $0.0646 (+$0.0014), actions 5 → 6 (+1), "
        f"against build {first.build_id} ({first.built_at:%Y-%m-%d %H:%M} UTC). "
        "Late logs, a restated bill or a price correction do this."
    ]
    assert metrics(at)["Spend"] == ("$0.0646", "")

    at.selectbox(key="week").set_value(W09).run()
    assert [warning.value for warning in at.warning] == []


def test_the_reviews_waterfall_is_drawn_without_plotly():
    """W09 against W08 (test_app.py's fixture): 0.0632 → 0.013; parts made up to add up: -0.04 volume, -0.0102 mix."""
    from app import charts

    parts = {column: Decimal("0") for column in charts.WATERFALL_PARTS}
    parts.update(spend_prev_usd=Decimal("0.0632"), volume_usd=Decimal("-0.04"), mix_usd=Decimal("-0.0102"))
    parts["spend_curr_usd"] = Decimal("0.013")

    svg = charts.spend_waterfall_svg(parts)

    texts = [text.split(">")[1].removesuffix("</text") for text in svg.split("<text ")[1:]]
    assert texts[::2] == ["$0.06", "-$0.04", "+$0.00", "-$0.01", "+$0.00", "+$0.00", "+$0.00", "$0.01"]
    assert texts[1::2] == ["Last week", "Volume", "Attempts", "Model mix", "Tokens", "Cache", "Price", "This week"]
    assert svg.count("<rect ") == 8


def test_a_tables_parquet_download_keeps_money_exact():
    from app import frame

    table = pl.DataFrame({"cost_usd": [Decimal("0.0014")]}, schema={"cost_usd": pl.Decimal(18, 9)})

    back = pl.read_parquet(io.BytesIO(frame._parquet(table)))

    assert back.schema["cost_usd"] == pl.Decimal(18, 9)
    assert back["cost_usd"].to_list() == [Decimal("0.0014")]
