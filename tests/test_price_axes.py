"""Prices by time of day, by region and per request (DESIGN.md §3), end to end.

Every call below has 1,000 input and 100 output tokens unless it says otherwise, so at
USD per 1M tokens: old price (1.00 in / 3.00 out) 0.0013; off-peak (0.50 / 2.00) 0.0007;
peak (x 2) 0.0014. 2026-08-17 is a Monday, 2026-08-21 a Friday.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import duckdb
import pytest

from pipelines.errors import UserError
from pipelines.prices import build_price_book
from tests.conftest import call, run_cli, write_jsonl

CATALOG = """
models:
  - provider: acme
    model: m-peak
    prices:
      - {effective_from: 2026-08-01, input: 1.00, output: 3.00}
      - effective_from: 2026-08-17T16:00:00Z
        input: 0.50
        output: 2.00
        web_search_per_1k: 10.00
        windows:
          - name: peak
            weekdays: [mon, tue, wed, thu, fri]
            hours: ["01:00-04:00", "06:00-10:00"]
            multiplier: 2
  - provider: acme
    model: m-local
    prices:
      - effective_from: 2026-08-01
        input: 1.00
        output: 4.00
        windows:
          - {name: office, time_zone: Asia/Shanghai, weekdays: [mon, tue, wed, thu, fri], hours: ["09:00-12:00"],
             multiplier: 3}
regional_uplifts:
  - {provider: acme, models: "m-p*", regions: [US], multiplier: 1.1, effective_from: 2026-08-18}
  - {provider: acme, models: "*", regions: [us], multiplier: 1.5, effective_from: 2026-08-20}
  - {provider: acme, models: "m-peak", regions: [us], multiplier: 1.25, effective_from: 2026-08-20}
"""

# (call_id, ts, extra fields) -> (cost_usd, price_window, why)
CASES = [
    ("before_the_time", "2026-08-17T15:59:59Z", {}, "0.0013", None),  # the old price until 16:00 UTC
    ("at_the_time", "2026-08-17T16:00:00Z", {}, "0.0007", None),  # from 16:00 UTC, off-peak
    ("start_day_peak_hours", "2026-08-17T06:30:00Z", {}, "0.0013", None),  # peak hours, before the start
    ("before_window", "2026-08-18T00:59:59Z", {}, "0.0007", None),
    ("window_first_minute", "2026-08-18T01:00:00Z", {}, "0.0014", "peak"),
    ("window_last_minute", "2026-08-18T03:59:59Z", {}, "0.0014", "peak"),
    ("after_window", "2026-08-18T04:00:00Z", {}, "0.0007", None),
    ("second_range", "2026-08-18T06:00:00Z", {}, "0.0014", "peak"),
    ("friday_last_minute", "2026-08-21T09:59:00Z", {}, "0.0014", "peak"),
    ("friday_after", "2026-08-21T10:00:00Z", {}, "0.0007", None),
    ("saturday_peak_hours", "2026-08-22T01:30:00Z", {}, "0.0007", None),  # Friday -> Saturday: off-peak
    ("offset_in_the_log", "2026-08-18T03:30:00+02:00", {}, "0.0014", "peak"),  # 01:30 UTC
]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """One warehouse for the module's read-only tests: ingest and build once."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    tmp_path = tmp_path_factory.mktemp("axes")
    rows = [call(cid, cid, ts, model="m-peak", **extra) for cid, ts, extra, _, _ in CASES]
    rows += [
        # m-local: 1.00 / 4.00 -> 0.0014; in its Shanghai office hours (UTC+8) x 3 = 0.0042
        call("local_fri_9am", "l1", "2026-08-21T01:00:00Z", model="m-local"),  # Friday 09:00 local
        call("local_sat_0030", "l2", "2026-08-21T16:30:00Z", model="m-local"),  # Friday UTC, Saturday local
        call("local_mon_1159", "l3", "2026-08-24T03:59:00Z", model="m-local"),  # Monday 11:59 local
        call("local_mon_1200", "l4", "2026-08-24T04:00:00Z", model="m-local"),  # Monday 12:00 local
        # web searches: 10.00 per 1,000 = 0.01 a call, beside the tokens
        call("search_3", "w1", "2026-08-18T12:00:00Z", model="m-peak", web_search_calls=3),
        call("search_no_fee", "w2", "2026-08-10T12:00:00Z", model="m-peak", web_search_calls=2),
        call(
            "search_cached", "w3", "2026-08-18T12:00:00Z", model="m-peak", web_search_calls=2, response_cache_hit=True
        ),
        # regions
        call("us_before", "r1", "2026-08-17T20:00:00Z", model="m-peak", region="us"),
        call("us_uplift", "r2", "2026-08-19T12:00:00Z", model="m-peak", region=" US ", web_search_calls=1),
        call("eu_none", "r3", "2026-08-19T12:00:00Z", model="m-peak", region="eu"),
        call("us_newer", "r4", "2026-08-20T12:00:00Z", model="m-peak", region="us"),
        call("us_peak_newer", "r5", "2026-08-20T02:00:00Z", model="m-peak", region="us"),
        call("us_local", "r6", "2026-08-20T12:00:00Z", model="m-local", region="us"),
        # logged costs, Tuesday 2026-08-25 at noon (off-peak, 0.0007 each by our prices)
        call("logged_high", "d1", "2026-08-25T12:00:00Z", model="m-peak", logged_cost_usd=0.0008),
        call("logged_same", "d2", "2026-08-25T12:00:00Z", model="m-peak", logged_cost_usd=0.0007),
        call("logged_none", "d3", "2026-08-25T12:00:00Z", model="m-peak"),
    ]
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(CATALOG)
    db = tmp_path / "warehouse.duckdb"
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "calls.jsonl", rows))])
    run_build(db, catalog)
    connection = duckdb.connect(str(db), read_only=True)
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def costs(con) -> dict[str, tuple]:
    got = con.execute(
        """SELECT call_id, cost_usd, price_window, web_search_cost_usd, regional_multiplier,
                  regional_uplift_cost_usd, is_priced, price_effective_from
           FROM marts.call_costs"""
    ).fetchall()
    return {row[0]: row[1:] for row in got}


@pytest.mark.parametrize(("call_id", "ts", "extra", "cost", "window"), CASES, ids=[c[0] for c in CASES])
def test_time_windows_at_their_edges(con, call_id, ts, extra, cost, window):
    got = costs(con)[call_id]
    assert (got[0], got[1]) == (Decimal(cost), window)


def test_an_effective_time_is_an_instant(con):
    got = costs(con)
    assert got["before_the_time"][6] == datetime(2026, 8, 1, tzinfo=UTC)
    assert got["at_the_time"][6] == datetime(2026, 8, 17, 16, tzinfo=UTC)


def test_window_hours_and_weekdays_are_local(con):
    got = costs(con)
    assert {
        k: (got[k][0], got[k][1]) for k in ("local_fri_9am", "local_sat_0030", "local_mon_1159", "local_mon_1200")
    } == {
        "local_fri_9am": (Decimal("0.0042"), "office"),
        "local_sat_0030": (Decimal("0.0014"), None),
        "local_mon_1159": (Decimal("0.0042"), "office"),
        "local_mon_1200": (Decimal("0.0014"), None),
    }


def test_web_search_fees(con):
    got = costs(con)
    # 0.0007 tokens (Tuesday noon, off-peak) + 3 x 0.01
    assert got["search_3"][:3] == (Decimal("0.0307"), None, Decimal("0.03"))
    # the August 1 price has no fee: the call's cost is unknown, not its tokens only
    assert got["search_no_fee"][0] is None and got["search_no_fee"][2] is None and got["search_no_fee"][5] is False
    # a response-cache hit costs nothing, searches included
    assert got["search_cached"][:3] == (Decimal("0"), None, Decimal("0"))


def test_regional_uplifts(con):
    got = costs(con)
    # before the first uplift (2026-08-18): none
    assert got["us_before"][0] == Decimal("0.0007") and got["us_before"][3] == Decimal("1")
    # 1.1 on the tokens only, region matched trimmed and lower-cased: 0.0007 x 0.1 = 0.00007;
    # + 0.01 web search: 0.0007 + 0.01 + 0.00007 = 0.01077
    assert got["us_uplift"][:5] == (Decimal("0.01077"), None, Decimal("0.01"), Decimal("1.1"), Decimal("0.00007"))
    assert got["eu_none"][0] == Decimal("0.0007") and got["eu_none"][4] == Decimal("0")
    # from 2026-08-20 the newer uplifts; of the two starting then, the one listed last (1.25)
    assert got["us_newer"][:5] == (Decimal("0.000875"), None, Decimal("0"), Decimal("1.25"), Decimal("0.000175"))
    # peak and uplift together: 0.0014 x 1.25 = 0.00175
    assert got["us_peak_newer"][:2] == (Decimal("0.00175"), "peak")
    # m-local matches "*" only: 0.0014 x 1.5 = 0.0021
    assert got["us_local"][0] == Decimal("0.0021") and got["us_local"][3] == Decimal("1.5")


def test_components_add_up(con):
    bad = con.execute(
        """SELECT count(*) FROM marts.call_costs WHERE cost_usd <> input_cost_usd + cached_input_cost_usd
           + cache_write_cost_usd + output_cost_usd + web_search_cost_usd + regional_uplift_cost_usd"""
    ).fetchone()
    assert bad == (0,)


def test_logged_cost_drift(con):
    # 3 calls, 2 with a logged cost: logged 0.0008 + 0.0007 = 0.0015, estimated 2 x 0.0007 =
    # 0.0014, drift 0.0001 = 1/15 of the logged cost
    got = con.execute(
        """SELECT calls, calls_with_logged_cost, compared_calls, logged_cost_usd, estimated_cost_usd, drift_usd,
                  drift_pct
           FROM marts.logged_cost_drift WHERE day = DATE '2026-08-25' AND provider = 'acme' AND model = 'm-peak'"""
    ).fetchall()
    assert got == [(3, 2, 2, Decimal("0.0015"), Decimal("0.0014"), Decimal("0.0001"), pytest.approx(1 / 15))]
    # days whose calls log no cost have no row
    assert con.execute("SELECT count(*) FROM marts.logged_cost_drift").fetchone() == (1,)


def test_prices_list_shows_windows_fees_and_uplifts(tmp_path, prices_yaml):
    path = prices_yaml(CATALOG)
    result = run_cli("prices", "list", "--prices", str(path), "--db", str(tmp_path / "none.duckdb"), check=True)
    table = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line]
    m_peak = [row[4:13] for row in table if row[1] == "m-peak" and len(row) > 5]
    # from, window, input, cached, cache write, 1h write, output, batch x, web search /1k
    assert m_peak == [
        ["2026-08-01", "", "1", "1", "1", "1", "3", "1", ""],
        ["2026-08-17T16:00Z", "", "0.5", "0.5", "0.5", "0.5", "2", "1", "10"],
        ["2026-08-17T16:00Z", "peak: mon-fri 01:00-04:00 UTC", "1", "1", "1", "1", "4", "1", "10"],
        ["2026-08-17T16:00Z", "peak: mon-fri 06:00-10:00 UTC", "1", "1", "1", "1", "4", "1", "10"],
    ]
    assert ["2026-08-01", "office: mon-fri 09:00-12:00 Asia/Shanghai"] in [row[4:6] for row in table]
    assert ["acme", "m-p*", "us", "2026-08-18", "1.1"] in table


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "{provider: acme, model: m, prices: [{effective_from: '2026-08-16 16:00:00', input: 1, output: 1}]}",
            "models[0] (acme/m): prices.0.effective_from: Value error, 2026-08-16T16:00:00 has no UTC offset",
        ),
        (
            "{provider: acme, model: m, prices: [{effective_from: 2026-08-16, input: 1, output: 1, windows: "
            "[{name: a, hours: ['01:00-04:00']}, {name: b, weekdays: [fri], hours: ['03:00-05:00']}]}]}",
            "models[0] (acme/m): prices.0.windows: Value error, windows 'a' and 'b' overlap on fri",
        ),
        (
            "{provider: acme, model: m, prices: [{effective_from: 2026-08-16, input: 1, output: 1, windows: "
            "[{name: a, hours: ['10:00-09:00']}]}]}",
            "models[0] (acme/m): prices.0.windows.0.hours: Value error, hours '10:00-09:00': the end must follow",
        ),
        (
            "{provider: acme, model: m, prices: [{effective_from: 2026-08-16, input: 1, output: 1, windows: "
            "[{name: a, time_zone: Mars/Olympus, hours: ['01:00-02:00']}]}]}",
            "models[0] (acme/m): prices.0.windows.0.time_zone: Value error, 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            "{provider: acme, model: m, prices: [{effective_from: 2026-08-16, input: 1, output: 1, windows: "
            "[{name: a, hours: ['01:00-02:00'], weekdays: [friday]}]}]}",
            "models[0] (acme/m): prices.0.windows.0.weekdays.0: Input should be 'mon', 'tue'",
        ),
    ],
)
def test_catalog_errors_name_the_entry_and_field(prices_yaml, entry, message):
    with pytest.raises(UserError) as raised:
        build_price_book(prices_yaml(f"models:\n  - {entry}\n"))
    assert message in str(raised.value)


def test_an_uplift_that_would_not_be_exact_is_refused(prices_yaml):
    path = prices_yaml(
        """
models:
  - {provider: acme, model: m, prices: [{effective_from: 2026-01-01, input: 1.123456789, output: 1,
                                         batch_multiplier: 0.333333}]}
regional_uplifts:
  - {provider: acme, models: m, regions: [us], multiplier: 1.0001, effective_from: 2026-01-01}
"""
    )
    with pytest.raises(UserError) as raised:
        build_price_book(path)
    assert "regional_uplifts[0] (acme/m): m's price 1.123456789 x 1.0001 is not exact" in str(raised.value)


def test_uplift_errors_name_the_entry(prices_yaml):
    path = prices_yaml("regional_uplifts:\n  - {provider: acme, models: 'm*', regions: [us], multiplier: 0.9,"
                       " effective_from: 2026-01-01}\n")  # fmt: skip
    with pytest.raises(UserError) as raised:
        build_price_book(path)
    assert "regional_uplifts[0] (acme/m*): multiplier: Input should be greater than or equal to 1" in str(raised.value)


def test_a_warehouse_from_before_web_search_calls_takes_new_logs(tmp_path, prices_yaml):
    """raw.calls created without the column gains it (0 for its rows); ingest inserts by name."""
    from pipelines.build import run_build
    from pipelines.ingest.fields import calls_ddl
    from pipelines.ingest.logs import run_ingest_logs

    db = tmp_path / "old.duckdb"
    old_ddl = "\n".join(line for line in calls_ddl().splitlines() if "web_search_calls" not in line)
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.execute(old_ddl)
    con.close()
    rows = [call("old1", "a1", "2026-08-18T12:00:00Z", model="m-peak", web_search_calls=1)]
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "calls.jsonl", rows))])
    run_build(db, prices_yaml(CATALOG))
    con = duckdb.connect(str(db), read_only=True)
    try:
        # 0.0007 tokens + 1 web search at 0.01
        assert con.execute("SELECT cost_usd FROM marts.call_costs").fetchall() == [(Decimal("0.0107"),)]
    finally:
        con.close()


def test_published_windows_never_overlap():
    """A call meets one window row at most: genai-prices' time-of-day prices, as converted."""
    from pipelines.prices.published import published_models

    windowed = 0
    for entry in published_models():
        slots: dict[tuple, list[tuple[int, int]]] = {}
        for row in entry.rows:
            if row.window is not None:
                key = (row.service_tier, row.effective_from)
                slots.setdefault(key, []).append((row.window_start_minute, row.window_end_minute))
        for ranges in slots.values():
            windowed += 1
            ranges.sort()
            assert all(end <= start for (_, end), (start, _) in pairwise(ranges)), entry.model
    assert windowed >= 4  # deepseek-chat, deepseek-reasoner, deepseek-flash, deepseek-v4-*
