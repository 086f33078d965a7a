"""The demo's two planted stories, found from the Weekly review in a few clicks.

On the session's small demo (`demo_db`: 20,000 calls over 12 weeks, the last one the
review's landing week): week 5 (the week of 2026-10-05 here, W41) runs classification's
`cls-v3` as a canary beside `cls-v2`; and Anthropic billed more than was logged for Claude
Sonnet on two consecutive days, out of tolerance. The review lists the weeks with findings
(marts.review_findings); each finding links to the page that explains it.

Under AppTest (no browser: a link is checked for its target and URL parameters, then that
URL is opened) and in Chromium, where the links are clicked as a person does.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from bench.browser import VIEWPORT, launch, served, wait_settled
from tests.conftest import rows
from tests.test_app_pages import open_app as open_page
from tests.test_browser import ARTIFACTS, chromium  # noqa: F401 (a fixture)


def published_weeks(db: Path) -> list[date]:
    """The demo's 12 weeks, oldest first, as the snapshot holds them."""
    pointer = db.parent / "published" / db.name / "CURRENT"
    snapshot = pointer.parent / pointer.read_text().strip()
    return [week for (week,) in rows(snapshot, "SELECT DISTINCT week FROM marts.route_weekly ORDER BY week")]


def label(week: date) -> str:
    return f"{week:%Y-%m-%d} (W{week:%V})"


@pytest.fixture(scope="module")
def stories(demo_db: Path) -> dict:
    """The demo's weeks and where its two stories are, from the demo's own marts."""
    weeks = published_weeks(demo_db)
    pointer = demo_db.parent / "published" / demo_db.name / "CURRENT"
    snapshot = pointer.parent / pointer.read_text().strip()
    ((day,),) = rows(snapshot, "SELECT min(day) FROM marts.reconciliation_daily WHERE NOT is_within_tolerance")
    return {
        "db": demo_db,
        "canary_week": weeks[4],  # week 5 of 12
        "bill_week": day - timedelta(days=day.weekday()),
        "bill_day": day,
    }


def open_app(db: Path, monkeypatch: pytest.MonkeyPatch, page: str = "weekly_review", **query: str) -> AppTest:
    """The app on the demo warehouse `db`, as a visitor opens a link (test_app_pages.open_app)."""
    monkeypatch.setenv("ROUTELEDGER_DB", str(db))
    return open_page(page, **query)


def links(at: AppTest) -> dict[str, tuple[str, str]]:
    """Each page link on the page: label -> (target page's URL path, its query string)."""
    return {link.proto.label: (link.proto.page, link.proto.query_string) for link in at.get("page_link")}


def test_the_review_points_at_the_canary_and_the_debugger_explains_it(stories, monkeypatch):
    week = stories["canary_week"]
    landing = open_app(stories["db"], monkeypatch)

    # From the landing week, the canary's week is one link away.
    to_week = links(landing)[f"{label(week)}: canary classification"]
    assert to_week == ("", f"week={label(week).replace(' ', '+').replace('(', '%28').replace(')', '%29')}")

    review = open_app(stories["db"], monkeypatch, week=label(week))
    assert review.selectbox(key="week").value == week
    canary = next(text for text in links(review) if text.startswith("Canary: classification"))
    assert canary == "Canary: classification, cls-v3 beside the control cls-v2 →"
    assert links(review)[canary][0] == "regression_debugger"
    assert "route=classification" in links(review)[canary][1]

    debugger = open_app(stories["db"], monkeypatch, "regression_debugger", route="classification", week=label(week))
    assert debugger.selectbox(key="route").value == "classification"
    assert debugger.selectbox(key="week").value == week
    versions = next(t.value for t in debugger.dataframe if "is_control" in t.value.columns)
    assert list(versions["policy_version"]) == ["cls-v2", "cls-v3"]
    # The canary falls back far more often than its control: the story the numbers tell.
    control, canary_row = versions.to_dict("records")
    assert canary_row["fallback_rate"] > 5 * control["fallback_rate"]


def test_the_review_points_at_the_bill_out_of_tolerance(stories, monkeypatch):
    week = stories["bill_week"]
    landing = open_app(stories["db"], monkeypatch)
    assert f"{label(week)}: bill out of tolerance anthropic" in links(landing)

    review = open_app(stories["db"], monkeypatch, week=label(week))
    finding = next(text for text in links(review) if text.startswith("Bill out of tolerance: anthropic"))
    assert links(review)[finding] == ("reconciliation", "")
    assert re.fullmatch(r".*, 2 model-days out of tolerance, billed - estimated \d+\.\d\d USD →", finding)

    reconciliation = open_app(stories["db"], monkeypatch, "reconciliation")
    daily = next(t.value for t in reconciliation.dataframe if {"day", "model"} <= set(t.value.columns))
    first = daily.to_dict("records")[0]
    assert (first["provider"], first["model"], first["is_within_tolerance"]) == (
        "anthropic",
        "claude-sonnet-4-6",
        False,
    )
    assert pd.Timestamp(first["day"]).date() in (stories["bill_day"], stories["bill_day"] + timedelta(days=1))


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")  # skips without Chromium on a dev box, fails in CI
def test_both_stories_in_a_few_clicks_in_chromium(stories, tmp_path: Path):
    """Landing on the review, a person clicks: the canary's week, its finding (the debugger), back; the bill's
    week, its finding (reconciliation). Screenshots of each step are saved as test artifacts."""
    from playwright.sync_api import expect, sync_playwright

    canary_week, bill_week = label(stories["canary_week"]), label(stories["bill_week"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with served(stories["db"], tmp_path / "app.log") as server, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            week = page.get_by_role("combobox", name="Week (Monday, UTC)")

            page.goto(server.url)
            wait_settled(page)
            page.get_by_role("link", name=f"{canary_week}: canary classification").click()
            expect(week).to_have_value(canary_week)
            wait_settled(page)
            page.get_by_role(
                "link", name=re.compile(r"^Canary: classification, cls-v3 beside the control cls-v2")
            ).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Regression debugger")
            expect(page.get_by_role("combobox", name="Route")).to_have_value("classification")
            expect(week).to_have_value(canary_week)
            expect(page.get_by_role("heading", name="Policy versions this week")).to_be_visible()
            wait_settled(page)
            page.screenshot(path=str(ARTIFACTS / "story-canary-debugger.png"))

            page.get_by_role("link", name="Weekly review").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Weekly review")
            wait_settled(page)
            page.get_by_role("link", name=f"{bill_week}: bill out of tolerance anthropic").click()
            expect(week).to_have_value(bill_week)
            wait_settled(page)
            page.get_by_role("link", name=re.compile(r"^Bill out of tolerance: anthropic")).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Reconciliation")
            wait_settled(page)
            expect(page.get_by_text("provider-model-days are out of tolerance; they are listed first.")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "story-bill-reconciliation.png"))
        finally:
            browser.close()
