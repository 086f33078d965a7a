"""`routeledger app` served for real and driven in headless Chromium.

The server is what a user starts: `routeledger app --db X --port P`, in its own process
group (the CLI runs `streamlit run` as a child). The page is the two-week fixture of
test_app.py; its expected routes and costs are computed there.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, VIEWPORT, Server, health, launch, served, wait_settled
from tests.conftest import ACME_CATALOG, FIXTURES, ROOT

TWO_WEEKS = FIXTURES / "app" / "routes_two_weeks.jsonl"
# Screenshots a person (or CI) can look at after the run: $TEST_ARTIFACTS, else test-artifacts/ in the checkout.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"

# Every page, by its URL path, with one value it must show on the two-week fixture (test_app.py's docstring):
# W09 is the last complete week, spending 0.007 + 0.006 = $0.0130; the spend cube's 10 calls cost $0.0762; the
# debugger opens on W09's costliest route, support_faq; W09's calls (by call day) are all acme's.
PAGES = {
    "": ("Weekly review", "$0.0130"),
    "routes_by_week": ("Routes by week", "support_faq"),
    "spend_explorer": ("Spend explorer", "$0.0762"),
    "regression_debugger": ("Regression debugger", "act-faq-4"),
    "providers": ("Providers", "100.0%"),
    "reconciliation": ("Reconciliation", "ingest billing"),
    "data_health": ("Data health", "No row was rejected."),
}


@contextlib.contextmanager
def serve(db: Path, log: Path) -> Iterator[Server]:
    """`routeledger app` on `db`, as bench.browser serves it; a start-up failure fails the test."""
    try:
        with served(db, log) as server:
            yield server
    except RuntimeError as exc:
        raise AssertionError(str(exc)) from exc


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One app server on a published two-week warehouse for the module's tests."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "data" / "warehouse.duckdb"
    catalog = tmp / "catalog.yaml"
    catalog.write_text(ACME_CATALOG)
    run_ingest_logs(db, [str(TWO_WEEKS)])
    run_build(db, catalog)
    with serve(db, tmp / "app.log") as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Path:
    """The Debian Chromium (never a downloaded one): a skip on a dev box without it, a failure in CI."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must install it (scripts/install-browser.sh)")
    pytest.skip("Chromium not installed: run scripts/install-browser.sh as root (apt-get install chromium)")


def wait_for_app_run(page) -> None:
    """Until Streamlit has settled: connected, the script finished, no skeleton, title and charts drawn."""
    wait_settled(page, timeout_ms=30_000)


def grid_rows(page) -> list[dict[str, str]]:
    """The rendered dataframe as glide-data-grid's accessible table exposes it: header -> cell text."""
    grid = page.locator("[data-testid='stDataFrame'] table[role='grid']")
    headers = grid.locator("[role='columnheader']").all_text_contents()
    return [
        dict(zip(headers, row.locator("[role='gridcell']").all_text_contents(), strict=True))
        for row in grid.locator("tbody [role='row']").all()
    ]


@pytest.mark.browser
def test_the_page_renders_the_published_routes_in_chromium(chromium: Path, server: Server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(server.url + "routes_by_week", wait_until="domcontentloaded")
            wait_for_app_run(page)

            expect(page.get_by_role("heading", level=1)).to_have_text("Routes by week")
            build_id = server.current_build_id()
            expect(page.get_by_test_id("stCaptionContainer")).to_have_text(
                re.compile(rf"^data as of \d{{4}}-\d\d-\d\d \d\d:\d\d UTC · build {build_id}$")
            )
            week = page.get_by_role("combobox", name="Week (Monday, UTC)")
            expect(week).to_have_value("2026-02-23 (W09)")
            routes = page.locator("[data-testid='stDataFrame'] [role='gridcell'][aria-colindex='1']")
            expect(routes).to_have_text(["support_faq", "summarize"])
            rows = grid_rows(page)
            assert [(r["Route"], Decimal(r["Cost"]), Decimal(r["Cost per completed action"])) for r in rows] == [
                ("support_faq", Decimal("0.007"), Decimal("0.007")),
                ("summarize", Decimal("0.006"), Decimal("0.006")),
            ]
            expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            screenshot = ARTIFACTS / "routes_by_week_chosen.png"
            page.screenshot(path=str(screenshot), full_page=True)
            assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert screenshot.stat().st_size > 10_000

            # The older week, chosen as a user does: the table and the shareable URL follow.
            week.click()
            page.get_by_role("option", name="2026-02-16 (W08)").click()
            wait_for_app_run(page)
            expect(week).to_have_value("2026-02-16 (W08)")
            expect(routes).to_have_text(["codegen", "support_faq"])
            assert [(r["Route"], Decimal(r["Cost"])) for r in grid_rows(page)] == [
                ("codegen", Decimal("0.058")),
                ("support_faq", Decimal("0.0052")),
            ]
            expect(page).to_have_url(re.compile(r"[?&]week=2026-02-16\b"))
        finally:
            browser.close()


@pytest.mark.browser
def test_every_page_renders_without_error_and_fetches_nothing_from_outside(chromium: Path, server: Server):
    """Each page settles, shows no error, shows its known value, and every request the browser makes is local."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.on("request", lambda request: requested.append(request.url))
            page = context.new_page()
            for path, (title, known) in PAGES.items():
                page.goto(server.url + path, wait_until="load")
                wait_for_app_run(page)
                expect(page.get_by_role("heading", level=1)).to_have_text(title)
                expect(page.get_by_test_id("stException")).to_have_count(0)
                expect(
                    page.get_by_text(known, exact=False).first
                ).to_be_attached()  # grid cells are in a hidden accessible table
                page.screenshot(path=str(ARTIFACTS / f"{path or 'weekly_review'}.png"), full_page=True)
        finally:
            browser.close()

    local = (f"http://127.0.0.1:{server.port}/", f"ws://127.0.0.1:{server.port}/", "data:", "blob:", "about:")
    outside = sorted({url for url in requested if not url.startswith(local)})
    assert not outside, f"the app made the browser fetch from outside 127.0.0.1: {outside}"
    assert len(requested) > len(PAGES)  # the listener saw the pages' own requests


@pytest.mark.browser
def test_every_page_reached_from_the_sidebar_settles_with_its_own_content(chromium: Path, server: Server):
    """The bench's move between pages (bench.app_pages._from_sidebar) ends on the new page, settled."""
    from playwright.sync_api import expect, sync_playwright

    from bench.app_pages import _from_sidebar

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(server.url + "data_health", wait_until="commit")
            wait_settled(page)
            for path, (title, known) in PAGES.items():
                if not path:
                    continue  # the landing page's link is the app's root
                assert _from_sidebar(page, path, wait_settled) > 0
                expect(page.get_by_role("heading", level=1)).to_have_text(title, timeout=1)
                expect(page.get_by_text(known, exact=False).first).to_be_attached()  # grid cells draw after
        finally:
            browser.close()


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port`, from /proc/net/tcp{,6} (hex, as the kernel writes them)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def non_loopback_ipv4() -> str | None:
    """An address of this machine that is not loopback, if it has one (a UDP connect sends nothing)."""
    candidates = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
        sock.connect(("203.0.113.1", 9))  # TEST-NET-3: picks the default route's source address
        candidates.append(sock.getsockname()[0])
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    return next((a for a in candidates if not a.startswith("127.") and a != "0.0.0.0"), None)


def test_the_app_listens_on_loopback_only(server: Server):
    assert listening_addresses(server.port) == {"0100007F"}  # 127.0.0.1, and nothing on 0.0.0.0 or ::

    address = non_loopback_ipv4()
    if address is not None:
        with pytest.raises(OSError), socket.create_connection((address, server.port), timeout=2):
            pass


def test_terminating_routeledger_app_stops_the_server(tmp_path: Path):
    with serve(tmp_path / "data" / "warehouse.duckdb", tmp_path / "app.log") as running:
        running.process.terminate()  # SIGTERM to the CLI's pid only, as `kill PID` does
        running.process.wait(timeout=10)
        deadline = time.monotonic() + 3  # streamlit stops in well under a second on SIGTERM
        while health(running.port) == "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert health(running.port) is None, "streamlit still serves after `routeledger app` was terminated"
