"""Golden tests for the ways LLM cost tools get costs wrong (issue 11).

One test (or a small group) per pitfall of /work/shared/reference/user_asks_and_pitfalls.md
§10, named after it, each with a hand-computed exact Decimal through the real pipeline:
canonical logs -> `run_ingest_logs`, billing exports -> `routeledger ingest billing`,
`run_build` with CATALOG below, then the marts.

Pitfall 16 (a tokenizer migration at an unchanged rate card) needs two weeks, so it has a
small warehouse of its own.

Prices are USD per 1M tokens, so a token costs price / 1e6. 2026-11-02 is a Monday: every
call is in the ISO week of 2026-11-02. Each pitfall's calls sit on their own route
(`p1`, `p2`, ...) so that route's rollup holds them alone.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import FIXTURES, call, run_cli, write_jsonl

PITFALLS = FIXTURES / "pitfalls"
WEEK = date(2026, 11, 2)
WED_NOON = "2026-11-04T12:00:00Z"
TINY_CALLS = 1000

CATALOG = """
models:
  - provider: acme
    model: m-cache
    prices:
      - effective_from: 2026-01-01
        input: 1.00
        cached_input: 0.10
        cache_write: 1.25
        cache_write_1h: 2.00
        output: 4.00
        batch_multiplier: 0.5
        web_search_per_1k: 10.00
        service_tiers:
          flex: {input: 0.50, output: 2.00}
          priority: {input: 2.00, output: 8.00}
  - provider: acme
    model: m-nocache
    prices:
      - {effective_from: 2026-01-01, input: 3.00, output: 15.00}
  - provider: acme
    model: m-long
    prices:
      - effective_from: 2026-01-01
        input: 2.00
        cached_input: 0.20
        output: 8.00
        long_context: {threshold_input_tokens: 200000, input: 4.00, cached_input: 0.40, output: 12.00}
  - provider: acme
    model: m-peak
    prices:
      - effective_from: 2026-01-01
        input: 1.00
        output: 4.00
        windows:
          - {name: peak, weekdays: [mon, tue, wed, thu, fri], hours: ["01:00-04:00"], multiplier: 2}
  - provider: acme
    model: m-tiny
    prices:
      - {effective_from: 2026-01-01, input: 0.10, output: 0.30}
  - provider: openai
    model: gpt-4.1-mini
    aliases: [gpt-4.1-mini-2025-04-14, gpt-4.1-mini-2026-12-01]
    prices:
      - {effective_from: 2025-01-01, input: 1.00, cached_input: 0.10, output: 4.00}
  - provider: anthropic
    model: claude-opus-5
    prices:
      - {effective_from: 2026-01-01, input: 5.00, cached_input: 0.50, cache_write: 6.25, cache_write_1h: 10.00,
         output: 25.00}
regional_uplifts:
  - {provider: acme, models: m-cache, regions: [us], multiplier: 1.1, effective_from: 2026-01-01}
"""


def acme(call_id: str, route: str, ts: str = WED_NOON, action_id: str | None = None, **fields: object) -> dict:
    """A call of acme/m-cache (1,000 input and 100 output tokens: 0.0014 at the default tier) on a route."""
    return call(call_id, action_id or call_id, ts, route=route, **({"model": "m-cache"} | fields))


ROWS = [
    # 1: canonical input is inclusive: 300 uncached + 400 cached + 200 5m writes + 100 1h writes = 1000.
    acme("p1_inclusive", "p1", cached_input_tokens=400, cache_write_tokens=300, cache_write_1h_tokens=100),
    call("p1_anthropic", "p1_anthropic", "2026-11-02T15:00:00Z", route="p1", provider="anthropic",
         model="claude-opus-5", input_tokens=3200, cached_input_tokens=200, cache_write_tokens=1500,
         cache_write_1h_tokens=1000, output_tokens=500),
    # 2: cache writes at their own rates, 5m and 1h apart; a model without cache prices.
    acme("p2_5m", "p2", input_tokens=1000, cache_write_tokens=1000, output_tokens=0),
    acme("p2_1h", "p2", input_tokens=1000, cache_write_tokens=1000, cache_write_1h_tokens=1000, output_tokens=0),
    acme("p2_nocache", "p2", model="m-nocache", cached_input_tokens=400, cache_write_tokens=300,
         cache_write_1h_tokens=100),
    # 3: reasoning is inside output.
    acme("p3_reasoning", "p3", output_tokens=1000, reasoning_tokens=800),
    # 4: the long-context cliff at 200,000 input tokens, cache included.
    acme("p4_at_threshold", "p4", model="m-long", input_tokens=200_000, output_tokens=1000),
    acme("p4_above_with_cache", "p4", model="m-long", input_tokens=200_001, cached_input_tokens=150_000,
         output_tokens=1000),
    # 5: the served tier, as logged.
    acme("p5_flex", "p5", service_tier="flex"),
    acme("p5_priority", "p5", service_tier="priority"),
    acme("p5_unpriced_tier", "p5", service_tier="scale"),
    call("p5_published_priority", "p5_published_priority", WED_NOON, route="p5", provider="openai",
         model="gpt-4.1-nano", service_tier="priority", input_tokens=1_000_000, output_tokens=1_000_000),
    # 6: residency uplift.
    acme("p6_us", "p6", region="us"),
    acme("p6_eu", "p6", region="eu"),
    # 7: peak Mon-Fri 01:00-04:00 UTC, by the call's start in UTC.
    acme("p7_utc_peak", "p7", ts="2026-11-03T21:30:00-05:00", model="m-peak"),  # Wed 02:30 UTC
    acme("p7_local_peak", "p7", ts="2026-11-04T02:30:00+05:00", model="m-peak"),  # Tue 21:30 UTC
    acme("p7_saturday", "p7", ts="2026-11-07T02:30:00Z", model="m-peak"),
    # 8: UTC days; provider openai is billed for 2026-11-02 and 2026-11-03 (UTC buckets).
    call("p8_noon", "p8_noon", "2026-11-02T12:00:00Z", route="p8", provider="openai",
         model="gpt-4.1-mini-2025-04-14", input_tokens=2_000_000, output_tokens=0),
    call("p8_late_local", "p8_late_local", "2026-11-02T23:59:59-05:00", route="p8", provider="openai",
         model="gpt-4.1-mini", input_tokens=1_000_000, output_tokens=0),
    # 9: tiny costs, and token counts above int32.
    *[
        call(f"p9_tiny_{i:04d}", f"p9_tiny_{i:04d}", WED_NOON, route="p9", model="m-tiny", input_tokens=1,
             output_tokens=1)
        for i in range(TINY_CALLS)
    ],
    call("p9_huge", "p9_huge", WED_NOON, route="p9_huge", model="m-tiny", input_tokens=3_000_000_000,
         output_tokens=2_200_000_000),
    # 10: unknown models (on 2026-11-04, a day openai's bills do not cover).
    call("p10_future_snapshot", "p10_a", WED_NOON, route="p10", provider="openai", model="gpt-4.1-mini-2099"),
    acme("p10_prefix", "p10", model="m-cache-v2"),
    call("p10_alias", "p10_c", WED_NOON, route="p10", provider="openai", model="gpt-4.1-mini-2026-12-01"),
    call("p10_published_scale", "p10_d", WED_NOON, route="p10_published", provider="openai", model="gpt-4.1-nano",
         input_tokens=1_000_000, output_tokens=1_000_000),
    # 11: a call whose line is logged twice (see DUPLICATES).
    acme("p11_once", "p11"),
    # 12: a timeout with input tokens and its retry; a rate-limited call and its retry; an error
    # with input tokens and its fallback to another model.
    acme("p12_timeout", "p12", action_id="p12_a", status="timeout", output_tokens=0),
    acme("p12_timeout_retry", "p12", action_id="p12_a", call_role="retry"),
    acme("p12_429", "p12", action_id="p12_b", status="rate_limited", input_tokens=0, output_tokens=0),
    acme("p12_429_retry", "p12", action_id="p12_b", call_role="retry"),
    acme("p12_error", "p12", action_id="p12_c", status="error", output_tokens=0),
    acme("p12_fallback", "p12", action_id="p12_c", call_role="fallback", model="m-nocache"),
    # 13: batch.
    acme("p13_batch", "p13", batch=True, input_tokens=2000, output_tokens=500),
    # 14: web searches beside the tokens.
    acme("p14_search", "p14", web_search_calls=3),
    # 15: provider-reported costs (m-nocache, 1,000 in + 100 out = 0.0045 by our prices), on 2026-11-05.
    acme("p15_logged_high", "p15", ts="2026-11-05T12:00:00Z", model="m-nocache", logged_cost_usd=0.005),
    acme("p15_logged_same", "p15", ts="2026-11-05T12:00:00Z", model="m-nocache", logged_cost_usd=0.0045),
    acme("p15_not_logged", "p15", ts="2026-11-05T12:00:00Z", model="m-nocache"),
]  # fmt: skip

# The same p11 line again, in a file of its own and twice in it.
DUPLICATES = [acme("p11_once", "p11"), acme("p11_once", "p11")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One warehouse for the module: logs (one file loaded twice, one of duplicates), bills, a build."""
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs

    tmp = tmp_path_factory.mktemp("pitfalls")
    db = tmp / "warehouse.duckdb"
    logs = write_jsonl(tmp / "calls.jsonl", ROWS)
    run_ingest_logs(db, [str(logs)])
    run_ingest_logs(db, [str(logs), str(write_jsonl(tmp / "again.jsonl", DUPLICATES))])
    bills = [
        PITFALLS / "openai_costs_2026-11-02.json",
        PITFALLS / "anthropic_cost_report_2026-11-02.json",
        FIXTURES / "billing" / "anthropic_usage_report.json",
    ]
    run_cli("ingest", "billing", *map(str, bills), "--db", str(db), check=True)
    catalog = tmp / "catalog.yaml"
    catalog.write_text(CATALOG)
    run_build(db, catalog)
    return db


@pytest.fixture(scope="module")
def con(built: Path):
    connection = duckdb.connect(str(built), read_only=True)
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def cost(con, call_id: str, *columns: str) -> tuple:
    """cost_usd and the named columns of one call in marts.call_costs."""
    names = ", ".join(("cost_usd", *columns))
    return con.execute(f"SELECT {names} FROM marts.call_costs WHERE call_id = ?", [call_id]).fetchone()


def route_week(con, route: str, *columns: str) -> tuple:
    """The named columns of one route's row of marts.route_weekly, in WEEK."""
    names = ", ".join(columns)
    return con.execute(f"SELECT {names} FROM marts.route_weekly WHERE week = ? AND route = ?", [WEEK, route]).fetchone()


# -- 1 ------------------------------------------------------------------------------------


def test_p01_inclusive_vs_exclusive_input(con):
    """Pitfall 1: cached and cache-write tokens are inside input_tokens and charged once.

    Evidence: https://github.com/BerriAI/litellm/issues/14849
    """
    # 300 uncached x 1.00 + 400 cached x 0.10 + 200 5m writes x 1.25 + 100 1h writes x 2.00 + 100 out x 4.00
    # = 300 + 40 + 250 + 200 + 400 = 1190 / 1e6. Charging input_tokens whole beside the cache
    # buckets would give 1000 + 40 + 250 + 200 + 400 = 1890.
    assert cost(con, "p1_inclusive", "uncached_input_tokens", "input_cost_usd") == (
        Decimal("0.00119"),
        300,
        Decimal("0.0003"),
    )
    # every call: the disjoint buckets add up to the input tokens the provider reported
    assert con.execute(
        """SELECT count(*) FROM marts.call_costs
           WHERE uncached_input_tokens + cached_input_tokens + cache_write_tokens <> input_tokens"""
    ).fetchone() == (0,)


def test_p01_anthropic_disjoint_buckets_meet_the_inclusive_log(con):
    """Pitfall 1, billing side: Anthropic's uncached, read, 5m and 1h write buckets are disjoint
    and add up to the canonical (inclusive) input of the logged call.

    Evidence: https://github.com/Aider-AI/aider/issues/5516
    """
    # logged: 3200 input = 1500 uncached + 200 read + 500 5m writes + 1000 1h writes; 500 output.
    # 1500 x 5 + 200 x 0.5 + 500 x 6.25 + 1000 x 10 + 500 x 25 = 7500 + 100 + 3125 + 10000 + 12500 = 33225
    assert cost(con, "p1_anthropic") == (Decimal("0.033225"),)
    row = con.execute(
        """SELECT status, estimated_cost_usd, billed_cost_usd, token_gap_usd, price_gap_usd, residual_usd,
                  logged_input_tokens, logged_cached_input_tokens, logged_cache_write_tokens,
                  logged_cache_write_1h_tokens, logged_output_tokens,
                  billed_input_tokens, billed_cached_input_tokens, billed_cache_write_tokens,
                  billed_cache_write_1h_tokens, billed_output_tokens
           FROM marts.reconciliation_daily WHERE provider = 'anthropic' AND day = DATE '2026-11-02'"""
    ).fetchall()
    # the cost report bills 0.75 + 0.01 + 0.3125 + 1 + 1.25 = 3.3225 cents
    assert row == [
        ("ok", Decimal("0.033225"), Decimal("0.033225"), 0, 0, 0, 1500, 200, 500, 1000, 500, 1500, 200, 500, 1000, 500)
    ]
    assert sum(row[0][11:15]) == 3200


# -- 2 ------------------------------------------------------------------------------------


def test_p02_cache_reads_and_writes_at_their_own_rates(con):
    """Pitfall 2: cache writes at the write rate, 1-hour writes apart from 5-minute ones; a model
    with no cache prices charges its cache tokens at the input price, never 0.

    Evidence: https://github.com/Piebald-AI/splitrail-cloud/pull/33
    """
    assert cost(con, "p2_5m", "cache_write_cost_usd") == (Decimal("0.00125"), Decimal("0.00125"))  # 1000 x 1.25
    assert cost(con, "p2_1h", "cache_write_cost_usd") == (Decimal("0.002"), Decimal("0.002"))  # 1000 x 2.00
    # m-nocache: 1000 input x 3.00 (300 uncached + 400 read + 300 writes) + 100 x 15 = 4500
    assert cost(con, "p2_nocache", "input_cost_usd", "cached_input_cost_usd", "cache_write_cost_usd") == (
        Decimal("0.0045"),
        Decimal("0.0009"),
        Decimal("0.0012"),
        Decimal("0.0009"),
    )


# -- 3 ------------------------------------------------------------------------------------


def test_p03_reasoning_tokens_are_not_added_twice(con):
    """Pitfall 3: reasoning tokens are part of output_tokens and are charged once, as output.

    Evidence: https://github.com/langfuse/langfuse/issues/16508
    """
    # 1000 x 1.00 + 1000 output x 4.00 = 5000; the 800 reasoning tokens (0.0032) are shown, not added
    assert cost(con, "p3_reasoning", "output_cost_usd", "reasoning_cost_usd") == (
        Decimal("0.005"),
        Decimal("0.004"),
        Decimal("0.0032"),
    )


# -- 4 ------------------------------------------------------------------------------------


def test_p04_long_context_cliff(con):
    """Pitfall 4: above the threshold (cache included) the whole call, output too, is at the
    long-context rates; exactly at the threshold it is not.

    Evidence: https://github.com/pydantic/genai-prices/issues/241
    """
    # at 200,000: 200,000 x 2 + 1000 x 8 = 408,000
    assert cost(con, "p4_at_threshold", "is_long_context") == (Decimal("0.408"), False)
    # 200,001 with 150,000 cached (50,001 uncached alone is below the threshold):
    # 50,001 x 4 + 150,000 x 0.40 + 1000 x 12 = 200,004 + 60,000 + 12,000 = 272,004
    assert cost(con, "p4_above_with_cache", "is_long_context", "output_cost_usd") == (
        Decimal("0.272004"),
        True,
        Decimal("0.012"),
    )


# -- 5 ------------------------------------------------------------------------------------


def test_p05_served_service_tier(con):
    """Pitfall 5: a call is priced at the tier the log says served it; a tier without prices
    is priced at the default tier and says so.

    Evidence: https://github.com/BerriAI/litellm/issues/31837
    """
    assert cost(con, "p5_flex", "priced_service_tier") == (Decimal("0.0007"), "flex")  # 1000 x 0.5 + 100 x 2
    assert cost(con, "p5_priority", "priced_service_tier") == (Decimal("0.0028"), "priority")  # 1000 x 2 + 100 x 8
    assert cost(con, "p5_unpriced_tier", "service_tier", "priced_service_tier") == (
        Decimal("0.0014"),
        "scale",
        "default",
    )
    # a published price's tiers too: genai-prices' gpt-4.1-nano priority tier is 0.20 in / 0.80 out
    usd, tier, source = cost(con, "p5_published_priority", "priced_service_tier", "price_source")
    assert (usd, tier, source.split()[0]) == (Decimal("1"), "priority", "genai-prices")


# -- 6 ------------------------------------------------------------------------------------


def test_p06_regional_uplift(con):
    """Pitfall 6: a call logged in an uplifted region costs the uplift more.

    Evidence: https://github.com/anthropics/claude-code/issues/60641
    """
    # 0.0014 x 1.1
    assert cost(con, "p6_us", "regional_multiplier", "regional_uplift_cost_usd") == (
        Decimal("0.00154"),
        Decimal("1.1"),
        Decimal("0.00014"),
    )
    assert cost(con, "p6_eu", "regional_uplift_cost_usd") == (Decimal("0.0014"), 0)


# -- 7 ------------------------------------------------------------------------------------


def test_p07_time_of_day_by_call_start_in_utc(con):
    """Pitfall 7: the peak window applies by the call's start in UTC, on its weekdays only.

    Evidence: https://github.com/anomalyco/opencode/issues/48642
    """
    # 21:30 at -05:00 is Wednesday 02:30 UTC: peak, (1000 x 1 + 100 x 4) x 2
    assert cost(con, "p7_utc_peak", "price_window") == (Decimal("0.0028"), "peak")
    # 02:30 at +05:00 is Tuesday 21:30 UTC: off-peak
    assert cost(con, "p7_local_peak", "price_window") == (Decimal("0.0014"), None)
    # Saturday 02:30 UTC: the window is Mon-Fri
    assert cost(con, "p7_saturday", "price_window") == (Decimal("0.0014"), None)


# -- 8 ------------------------------------------------------------------------------------


def test_p08_utc_day_boundaries(con):
    """Pitfall 8: a call at 23:59:59-05:00 is on the next UTC day, where the provider bills it.

    Evidence: https://github.com/BerriAI/litellm/issues/29568
    """
    assert cost(con, "p8_late_local", "call_date") == (Decimal("1"), date(2026, 11, 3))
    # by local date 2026-11-02 would hold 3.00 against 2.00 billed, and 2026-11-03 nothing
    assert con.execute(
        """SELECT day, model, calls, estimated_cost_usd, billed_cost_usd, status
           FROM marts.reconciliation_daily WHERE provider = 'openai' ORDER BY day"""
    ).fetchall() == [
        (date(2026, 11, 2), "gpt-4.1-mini", 1, Decimal("2"), Decimal("2"), "ok"),
        (date(2026, 11, 3), "gpt-4.1-mini", 1, Decimal("1"), Decimal("1"), "ok"),
    ]


# -- 9 ------------------------------------------------------------------------------------


def test_p09_money_is_exact(con):
    """Pitfall 9: 1,000 costs of 0.0000004 add up to 0.0004 exactly (a float sum gives
    0.00040000000000000636); a call's cost is never rounded to 0.

    Evidence: https://github.com/mozilla-ai/otari/issues/691
    """
    # 1 x 0.10 + 1 x 0.30 = 0.4 / 1e6 each
    assert cost(con, "p9_tiny_0000") == (Decimal("0.0000004"),)
    assert route_week(con, "p9", "calls", "cost_usd") == (TINY_CALLS, Decimal("0.0004"))
    assert con.execute("SELECT sum(cost_usd) FROM marts.call_costs WHERE route = 'p9'").fetchone() == (
        Decimal("0.0004"),
    )


def test_p09_token_counts_above_int32(con):
    """Pitfall 9: token counts above 2^31 are stored and priced whole.

    Evidence: https://github.com/BerriAI/litellm/issues/10379
    """
    # 3,000,000,000 x 0.10 + 2,200,000,000 x 0.30 = 300 + 660
    assert cost(con, "p9_huge", "input_tokens", "output_tokens") == (Decimal("960"), 3_000_000_000, 2_200_000_000)
    assert route_week(con, "p9_huge", "cost_usd") == (Decimal("960"),)


# -- 10 -----------------------------------------------------------------------------------


def test_p10_unknown_model_is_unpriced(con):
    """Pitfall 10: a model no price names is unpriced (NULL, counted), never $0 and never the
    price of the closest prefix; an alias in the catalog prices it.

    Evidence: https://github.com/writetoaniketparihar-collab/claude-spend/pull/25
    """
    assert cost(con, "p10_future_snapshot", "is_priced", "price_model") == (None, False, None)
    assert cost(con, "p10_prefix", "is_priced", "price_model") == (None, False, None)
    assert cost(con, "p10_alias", "is_priced", "price_model") == (Decimal("0.0014"), True, "gpt-4.1-mini")
    assert route_week(con, "p10", "calls", "unpriced_calls", "cost_usd", "is_cost_complete") == (
        3,
        2,
        Decimal("0.0014"),
        False,
    )
    # a published price converted at its scale (USD per 1M tokens), not x1000 or /1000:
    # genai-prices' gpt-4.1-nano list price, 0.10 in / 0.40 out, for 1M tokens each
    assert cost(con, "p10_published_scale", "price_model") == (Decimal("0.5"), "gpt-4.1-nano")
    unpriced = con.execute(
        "SELECT subject, n_rows FROM marts.data_health WHERE check_name = 'unpriced calls' ORDER BY subject"
    ).fetchall()
    assert unpriced == [("acme/m-cache-v2", 1), ("openai/gpt-4.1-mini-2099", 1)]


# -- 11 -----------------------------------------------------------------------------------


def test_p11_rollups_reconcile_to_the_fact_table(con):
    """Pitfall 11: the weekly and per-action rollups add up to the calls, to the last digit.

    Evidence: https://github.com/BerriAI/litellm/issues/32581
    """
    calls, facts = con.execute("SELECT count(*), sum(cost_usd) FROM marts.call_costs").fetchone()
    assert calls == len(ROWS)
    assert con.execute("SELECT sum(calls), sum(cost_usd) FROM marts.route_weekly").fetchone() == (calls, facts)
    assert con.execute("SELECT sum(calls), sum(cost_usd) FROM marts.action_costs").fetchone() == (calls, facts)


def test_p11_duplicate_log_lines_count_once(con):
    """Pitfall 11: a call logged twice (the same file again, a line repeated) counts once.

    Evidence: https://github.com/BerriAI/litellm/issues/15740
    """
    assert route_week(con, "p11", "calls", "cost_usd") == (1, Decimal("0.0014"))
    # calls.jsonl once (loading the same file again changes nothing), then again.jsonl: 2 duplicates
    assert con.execute(
        "SELECT rows_read, rows_loaded, rows_duplicate FROM raw.loads WHERE kind = 'logs' ORDER BY load_id"
    ).fetchall() == [(len(ROWS), len(ROWS), 0), (2, 0, 2)]


# -- 12 -----------------------------------------------------------------------------------


def test_p12_failed_timed_out_and_retried_calls(con):
    """Pitfall 12: a timeout costs the input it reports; a rate-limited call costs 0 but is a
    call; a fallback is priced at its own model; the retries' and failures' cost is carried
    by the completed actions.

    Evidence: https://github.com/aiosbrain/aios-team-brain/pull/450
    """
    assert cost(con, "p12_timeout") == (Decimal("0.001"),)  # 1000 input x 1.00, no output
    assert cost(con, "p12_429") == (Decimal("0"),)
    assert cost(con, "p12_fallback", "price_model") == (Decimal("0.0045"), "m-nocache")  # 1000 x 3 + 100 x 15
    # (0.001 + 0.0014) + (0 + 0.0014) + (0.001 + 0.0045) = 0.0093 over 3 completed actions;
    # 3 of the 6 calls failed
    assert route_week(
        con, "p12", "actions", "completed_actions", "calls", "cost_usd", "cost_per_completed_action_usd", "error_rate"
    ) == (3, 3, 6, Decimal("0.0093"), Decimal("0.0031"), 0.5)


# -- 13 -----------------------------------------------------------------------------------


def test_p13_batch_discount(con):
    """Pitfall 13: a batch call costs the batch multiplier of its list price.

    Evidence (§9, Batch): https://github.com/truefoundry/models/pull/765
    """
    # (2000 x 1.00 + 500 x 4.00) x 0.5
    assert cost(con, "p13_batch", "is_batch") == (Decimal("0.002"), True)


# -- 14 -----------------------------------------------------------------------------------


def test_p14_web_search_is_priced_per_1000(con):
    """Pitfall 14: web searches cost their fee beside the tokens.

    Evidence: https://github.com/BerriAI/litellm/pull/39441
    """
    # 0.0014 + 3 x 10.00 / 1000
    assert cost(con, "p14_search", "web_search_cost_usd") == (Decimal("0.0314"), Decimal("0.03"))


def test_p14_billed_web_search_is_kept_apart(con):
    """Pitfall 14: a billed web-search line is another charge, kept, not a model's tokens.

    Evidence: https://github.com/Embassy-of-the-Free-Mind/sourcelibrary-v2/issues/4599
    """
    assert con.execute(
        "SELECT day, provider, charge_kind, billed_cost_usd FROM marts.billing_other_charges"
    ).fetchall() == [(date(2026, 11, 3), "openai", "web_search", Decimal("0.25"))]
    # the month: 2.00 + 1.00 of tokens against the estimate, 0.25 beside it
    assert con.execute(
        """SELECT billed_cost_usd, other_charges_usd, total_billed_usd FROM marts.reconciliation_monthly
           WHERE provider = 'openai'"""
    ).fetchall() == [(Decimal("3"), Decimal("0.25"), Decimal("3.25"))]


# -- 15 -----------------------------------------------------------------------------------


def test_p15_provider_reported_cost_is_compared(con):
    """Pitfall 15: the cost the provider reported beside the call is compared to ours.

    Evidence: https://github.com/NousResearch/hermes-agent/issues/108936
    """
    # logged 0.005 + 0.0045 = 0.0095 against 2 x 0.0045 = 0.009: drift 0.0005, 1/19 of the logged cost
    assert con.execute(
        """SELECT day, model, calls, calls_with_logged_cost, compared_calls, logged_cost_usd,
                  estimated_cost_usd, drift_usd, drift_pct
           FROM marts.logged_cost_drift"""
    ).fetchall() == [
        (
            date(2026, 11, 5),
            "m-nocache",
            3,
            2,
            2,
            Decimal("0.0095"),
            Decimal("0.009"),
            Decimal("0.0005"),
            pytest.approx(1 / 19),
        )
    ]


def test_p16_a_tokenizer_change_at_the_same_rate_card_is_tokens_not_volume(tmp_path, prices_yaml):
    """Pitfall 16: a new tokenizer counts more tokens for the same text, at unchanged prices
    (the reference's case is Claude Opus 4.7; §10 gives no link for it).

    m-nocache: 3.00 input, 15.00 output per 1M. Week of 2026-11-02: 4 actions, one call each,
    1000 input and 100 output = 0.003 + 0.0015 = 0.0045 each, 0.018 in all. Week of 2026-11-09:
    the same 4 actions' worth of work, but the tokenizer counts 30% more: 1300 and 130 =
    0.0039 + 0.00195 = 0.00585 each, 0.0234 in all. Delta 0.0054, all of it tokens: no more
    actions (volume), no more calls per action, no other model, no cache, no price change.
    """
    from pipelines.build import run_build
    from pipelines.ingest.logs import run_ingest_logs
    from tests.conftest import rows

    calls = [
        acme(f"a{i}", "p16", ts="2026-11-04T12:00:00Z", model="m-nocache", input_tokens=1000, output_tokens=100)
        for i in range(4)
    ] + [
        acme(f"b{i}", "p16", ts="2026-11-11T12:00:00Z", model="m-nocache", input_tokens=1300, output_tokens=130)
        for i in range(4)
    ]
    db = tmp_path / "warehouse.duckdb"
    run_ingest_logs(db, [str(write_jsonl(tmp_path / "calls.jsonl", calls))])
    run_build(db, prices_yaml(CATALOG))
    [row] = rows(
        db,
        """SELECT spend_prev_usd, spend_curr_usd, delta_usd, volume_usd, attempts_usd, mix_usd, tokens_usd,
            cache_usd, price_usd FROM marts.spend_deltas
        WHERE week = DATE '2026-11-09' AND grain = 'route' AND route = 'p16'""",
    )
    zero = Decimal(0)
    assert row == (
        Decimal("0.018"),
        Decimal("0.0234"),
        Decimal("0.0054"),
        zero,
        zero,
        zero,
        Decimal("0.0054"),
        zero,
        zero,
    )
