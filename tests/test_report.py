"""`routeledger report`: the Weekly review as a file, on the two-week fixture of tests/test_app.py.

W09 (the last complete week): spend 0.007 + 0.006 = 0.013 against W08's 0.0632, a change of
-0.0502; 3 actions (W08: 5), cost per completed action 0.013 / 2 = 0.0065 (W08: 0.0632 / 4 =
0.0158), completion 2/3 = 66.7% (W08: 80.0%).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, launch
from tests.conftest import ACME_CATALOG, FIXTURES, call, run_cli, write_jsonl

TWO_WEEKS = FIXTURES / "app" / "routes_two_weeks.jsonl"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The fixture ingested and built once for the module: the warehouse and its build id."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    tmp = tmp_path_factory.mktemp("report")
    db = tmp / "data" / "warehouse.duckdb"
    (tmp / "catalog.yaml").write_text(ACME_CATALOG)
    run_ingest_logs(db, [str(TWO_WEEKS)])
    return db, run_build(db, tmp / "catalog.yaml").build_id


def test_markdown_holds_the_weeks_figures_and_names_its_build(built, tmp_path):
    db, build_id = built
    out = tmp_path / "review.md"

    result = run_cli("report", "--db", str(db), "--format", "md", "-o", str(out))

    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith("# Weekly FinOps review, week of 2026-02-23 (2026-W09)\n")
    assert f"From build {build_id}, data as of " in text
    assert "| Spend | $0.0130 | $0.0632 | -$0.0502 |" in text
    assert "| Actions | 3 | 5 | -2 |" in text
    assert "| Cost per completed action | $0.0065 | $0.0158 | -$0.0093 |" in text
    assert "| Completion rate | 66.7% | 80.0% | -13.3 pp |" in text
    assert "| codegen | $0.0580 | $0.0000 | -$0.0580 |" in text  # a mover's change carries its sign
    assert "| support_faq | $0.0052 | $0.0070 | +$0.0018 |" in text


def test_html_is_self_contained(built, tmp_path):
    db, build_id = built
    out = tmp_path / "review.html"

    result = run_cli("report", "--db", str(db), "--week", "2026-W08", "-o", str(out))

    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "week of 2026-02-16 (2026-W08)" in text
    assert build_id in text
    assert "<td>Spend</td><td>$0.0632</td><td>—</td><td>—</td>" in text  # no W07 to compare with
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", text)  # every script and style inline
    assert text.count("Plotly.newPlot") == 1  # the one chart without decomposition: cost per completed action


def test_a_week_without_data_is_refused_with_the_weeks_that_have_some(built, tmp_path):
    db, _ = built

    result = run_cli("report", "--db", str(db), "--week", "2026-W20", "-o", str(tmp_path / "r.html"))

    assert result.returncode == 2
    assert "no data for the week of 2026-05-11 (2026-W20); weeks with data: 2026-W09, 2026-W08" in result.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.browser
def test_the_html_report_draws_its_chart_with_the_network_off(built, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    db, _ = built
    out = tmp_path / "review.html"
    assert run_cli("report", "--db", str(db), "-o", str(out)).returncode == 0
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(offline=True)
            context.on("request", lambda request: requested.append(request.url))
            page = context.new_page()
            page.goto(out.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            assert page.locator("h1").inner_text() == "Weekly FinOps review, week of 2026-02-23 (2026-W09)"
        finally:
            browser.close()
    assert [url for url in requested if not url.startswith(("file:", "data:", "blob:"))] == []


def test_a_week_a_later_build_restated_says_so_and_by_how_much(tmp_path):
    """A late log for W08 after the first build: the second build's report of W08 says the week was restated."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    db = tmp_path / "data" / "warehouse.duckdb"
    (tmp_path / "catalog.yaml").write_text(ACME_CATALOG)
    run_ingest_logs(db, [str(TWO_WEEKS)])
    first = run_build(db, tmp_path / "catalog.yaml")
    # m-small, 1000 in / 100 out: (1000 · 1 + 100 · 4) / 1e6 = 0.0014, on Wednesday of W08
    late = write_jsonl(tmp_path / "late.jsonl", [call("late-1", "act-late-1", "2026-02-18T12:00:00Z")])
    run_ingest_logs(db, [str(late)])
    second = run_build(db, tmp_path / "catalog.yaml")
    out = tmp_path / "review.md"

    result = run_cli("report", "--db", str(db), "--week", "2026-W08", "--format", "md", "-o", str(out))

    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert f"From build {second.build_id}, data as of " in text
    assert (
        f"> **Restated.** This week was restated by build {second.build_id}: spend $0.0632 → $0.0646 (+$0.0014), "
        f"actions 5 → 6 (+1), against build {first.build_id} ({first.built_at:%Y-%m-%d %H:%M} UTC)."
    ) in text
    # W09 is as the first build had it: no note
    run_cli("report", "--db", str(db), "--week", "2026-W09", "--format", "md", "-o", str(out))
    assert "Restated" not in out.read_text()
