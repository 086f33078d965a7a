"""Each app page's queries, timed through app/data.py on a warehouse's published snapshot; and each page
loaded in headless Chromium until Streamlit has settled.

    .venv/bin/python -m bench.app_pages --db PATH [--repeat K] [--no-browser] [--screenshots DIR]

A page's time is all of its queries run one after another, each opening the snapshot
read-only as the app does, with the app's cache cleared first (what a visitor waits for
on a new build). The page's p95 over K runs (default 20) against the 100 ms target. The
queries per page are the ones the page file runs on its default view; a section whose mart
is not in the snapshot is left out, as the page leaves it out. Also reports the snapshot's
size and the drill-down marts' row counts.

`settle_times(db)` serves the app (`routeledger app`, as a user starts it, through
bench/browser.py as tests/test_browser.py does) on the snapshot and loads every page in the
Debian Chromium: the time from navigation to a settled page (bench.browser.SETTLED: connected,
script finished, no skeleton left, the title and every Plotly chart drawn, every image loaded, checked
on every animation frame), on the first visit after the server started (cold caches: what the first
visitor after a build waits for) and on a second visit (warm), each a full page load (a new
session, Streamlit's frontend started again); then, the page reached from the sidebar of
another page (Data health, or Reconciliation for Data health itself) as a visitor moves
through the app: from the click until the page has settled, the median of three. The 1 s
target is judged on that move.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

TARGET_MS = 100.0
SETTLED_TARGET_MS = 1000.0
ROOT = Path(__file__).resolve().parent.parent
# The app's pages by URL path (app/main.py's navigation), the landing page first.
PAGE_PATHS = {
    "Weekly review": "",
    "Routes by week": "routes_by_week",
    "Spend explorer": "spend_explorer",
    "Regression debugger": "regression_debugger",
    "Providers": "providers",
    "Reconciliation": "reconciliation",
    "Data health": "data_health",
}
# The marts the pages drill into, whose size grows with the calls.
DRILL_DOWN_MARTS = (
    "marts.spend_daily",
    "marts.route_week_sample_calls",
    "marts.route_week_model_chains",
    "marts.route_weekly",
    "marts.route_segment_weekly",
    "marts.review_weekly",
    "marts.price_changes",
    "marts.provider_fallback_pairs",
    "marts.route_health_weekly",
    "marts.provider_weekly",
    "marts.reconciliation_weekly",
)


def page_queries(data, snapshot) -> dict[str, list[tuple[str, tuple]]]:
    """page -> the (query, parameters) it runs on its default view: the last complete week, its costliest route."""
    weeks = data.weeks(snapshot)
    complete = [w for w in weeks if w + timedelta(days=7) <= snapshot.built_at.date()] or weeks
    week: date = complete[0]
    routes = data.values(snapshot, data.ROUTES, week)
    route = routes[0] if routes else ""
    first_day, last_day = (
        data.row(snapshot, data.SPEND_DAYS) if data.has(snapshot, "marts.spend_daily") else (None,) * 2
    )

    def present(*pairs: tuple[str, str, tuple]) -> list[tuple[str, tuple]]:
        return [(sql, params) for table, sql, params in pairs if data.has(snapshot, table)]

    # The review's default view: its details' first tab (Top movers, read with the waterfall) open, the others
    # not run.
    review = present(
        ("marts.route_weekly", data.WEEKS, ()),
        ("marts.review_weekly", data.WEEK_KPIS, (week, week)),
        ("marts.week_restatements", data.RESTATEMENT, (week,)),
        ("marts.review_findings", data.FINDINGS, ()),
        ("marts.spend_deltas", data.SPEND_CHANGE, (week,)),
        ("marts.route_health_weekly", data.ROUTE_HEALTH, (week,)),
    )
    pages = {"Weekly review": review}
    if first_day is not None:
        start = max(first_day, last_day - timedelta(days=27))
        pages["Spend explorer"] = [
            (data.SPEND_DAYS, ()),
            (data.SPEND_TOTALS["team"], (start, last_day)),
            (data.SPEND_OVER_TIME["team"], (start, last_day)),
        ]
        pages["Providers"] = [
            (data.WEEKS, ()),
            *present(
                ("marts.provider_weekly", data.PROVIDER_SHARES, (week,)),
                ("marts.provider_fallback_pairs", data.FALLBACK_PAIRS, (week,)),
                ("marts.provider_weekly", data.PROVIDER_WEEKS, ()),
            ),
        ]
    # The debugger's default view: its first section (the sample actions) open, the others not run.
    pages["Regression debugger"] = [
        (data.WEEKS, ()),
        (data.ROUTES, (week,)),
        *present(
            ("marts.spend_deltas", data.ROUTE_WEEKS, (route,)),
            ("marts.price_changes", data.ROUTE_PRICE_CHANGES, (route, complete[-1], week)),
            ("marts.policy_compare", data.ROUTE_POLICY_COMPARE, (week, route)),
            ("marts.route_week_sample_calls", data.SAMPLE_CALLS, (week, route)),
        ),
    ]
    pages["Reconciliation"] = present(
        ("marts.reconciliation_daily", data.RECONCILIATION_DAILY, ()),
        ("marts.reconciliation_monthly", data.RECONCILIATION_MONTHLY, ()),
        ("marts.billing_other_charges", data.OTHER_CHARGES, ()),
    )
    pages["Data health"] = [
        (data.DATA_HEALTH, (check,)) for check in ("rejected rows", "unpriced calls", "unmapped billing names", "load")
    ]
    return pages


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(db: Path, repeat: int = 20) -> list[str]:
    """Markdown lines: each page's p95 and median over `repeat` cold-cache runs, the snapshot's size, row counts."""
    os.environ["ROUTELEDGER_DB"] = str(db)
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # bare mode: no "missing ScriptRunContext" per call
    logging.getLogger("streamlit.runtime.caching.cache_data_api").disabled = True  # nor "No runtime found"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app import data

    snapshot = data.current_snapshot()
    if snapshot is None:
        return [f"No published snapshot for {db}: run `routeledger build` first."]
    pages = page_queries(data, snapshot)
    lines = [
        f"Snapshot {Path(snapshot.path).name}: {Path(snapshot.path).stat().st_size / 1e6:,.1f} MB.",
        "",
        "| page | queries | p95 ms | median ms | target |",
        "|---|---:|---:|---:|---|",
    ]
    for page, queries in pages.items():
        times = [_cold(lambda q=queries: _run_all(data, snapshot, q), data) for _ in range(repeat)]
        times.sort()
        verdict = "ok" if p95(times) <= TARGET_MS else f"over {TARGET_MS:.0f} ms"
        lines.append(f"| {page} | {len(queries)} | {p95(times):.1f} | {times[len(times) // 2]:.1f} | {verdict} |")
    lines.append("")
    for table in DRILL_DOWN_MARTS:
        if data.has(snapshot, table):
            (count,) = data.row(snapshot, f"SELECT count(*) FROM {table}")  # a constant per table, not user text
            lines.append(f"- {table}: {count:,} rows")
    return lines


def settle_times(db: Path, screenshots: Path | None = None) -> list[tuple[str, float, float, float]]:
    """(page, first visit ms, second visit ms, from the sidebar ms): each page in headless Chromium until settled.

    Serves the app on `db`'s published snapshot on a free loopback port, for the duration of the call.
    """
    from playwright.sync_api import sync_playwright

    from bench.browser import VIEWPORT, launch, served, wait_settled

    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="routeledger-app-") as tmp, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            with served(db, Path(tmp) / "app.log") as server:
                page = browser.new_page(viewport=VIEWPORT)

                def load(path: str) -> float:
                    started = time.perf_counter()
                    page.goto(server.url + path, wait_until="commit")
                    wait_settled(page)
                    return (time.perf_counter() - started) * 1000

                for visit in range(2):
                    for name, path in PAGE_PATHS.items():
                        times.setdefault(name, []).append(load(path))
                        if visit == 0 and screenshots is not None:
                            screenshots.mkdir(parents=True, exist_ok=True)
                            page.screenshot(path=str(screenshots / f"{path or 'weekly_review'}.png"), full_page=True)
                for name, path in PAGE_PATHS.items():
                    moves = []
                    for _ in range(3):
                        load("reconciliation" if path == "data_health" else "data_health")
                        moves.append(_from_sidebar(page, path, wait_settled))
                    times[name].append(statistics.median(moves))
        finally:
            browser.close()
    return [(name, first, second, move) for name, (first, second, move) in times.items()]


def _from_sidebar(page: Any, path: str, wait_settled: Callable[[Any], None]) -> float:
    """Milliseconds from a click on the page's sidebar link until the new page has settled."""
    link = page.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").first
    started = time.perf_counter()
    link.click()
    # The URL names the new page once its script has started: then wait for that run to settle.
    page.wait_for_function(f"() => location.pathname.endsWith('/{path}')", polling="raf")
    wait_settled(page)
    return (time.perf_counter() - started) * 1000


def settle_lines(db: Path, screenshots: Path | None = None) -> list[str]:
    """Markdown lines: each page's time to settled in Chromium (loaded, and reached from the sidebar) against 1 s."""
    try:
        times = settle_times(db, screenshots)
    except (FileNotFoundError, ImportError) as exc:
        return [f"Pages in Chromium: not measured ({exc})."]
    lines = [
        "| page | full load, first visit ms | full load, second visit ms | from the sidebar ms | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name, first, second, move in times:
        verdict = "ok" if move <= SETTLED_TARGET_MS else f"over {SETTLED_TARGET_MS:.0f} ms"
        lines.append(f"| {name} | {first:,.0f} | {second:,.0f} | {move:,.0f} | {verdict} |")
    return lines


def _run_all(data, snapshot, queries: list[tuple[str, tuple]]) -> None:
    for sql, params in queries:
        data.frame(snapshot, sql, *params)


def _cold(run: Callable[[], None], data) -> float:
    data._frame.clear()
    data._rows.clear()
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.app_pages")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true", help="skip the pages' time to settled in Chromium")
    parser.add_argument("--screenshots", type=Path, help="save each page's first visit as DIR/<page>.png")
    args = parser.parse_args(argv)
    lines = measure(args.db, args.repeat)
    if not args.no_browser:
        lines += ["", *settle_lines(args.db, args.screenshots)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
