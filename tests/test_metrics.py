"""Every metric of DESIGN.md §4 on a hand-built log, with the arithmetic done by hand.

The catalog is ACME_CATALOG (USD per 1M tokens):
  acme/m-small  from 2026-01-01: input 1.00, cached 0.10, cache write 1.25, 1h write 2.00,
                output 4.00, batch x0.5; alias m-small-2026-01-01; tier low
  acme/m-large  from 2026-01-01: input 10, output 40 (above 200k input: 20 / 60)
                from 2026-03-04 (a Wednesday): input 5, output 20 (above 200k: 10 / 30); premium
A call of m-small with 1000 input and 100 output tokens costs (1000*1 + 100*4)/1e6 = 0.0014.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.conftest import ACME_CATALOG, call, write_jsonl

WEEK = date(2026, 3, 2)  # Monday
NEXT_WEEK = date(2026, 3, 9)
EPOCH_MS_MAR_10_NOON = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)

ROWS = [
    # A1: every token class of m-small.
    call("c1", "a1", "2026-03-02T10:00:00Z", input_tokens=1000, cached_input_tokens=400,
         cache_write_tokens=200, cache_write_1h_tokens=50, output_tokens=100, reasoning_tokens=20),
    # A2: a dated alias, through the batch API, with a +02:00 offset (07:00 UTC).
    call("c2", "a2", "2026-03-03T09:00:00+02:00", model="m-small-2026-01-01", batch=True,
         input_tokens=2000, output_tokens=500),
    # A3: a timeout before midnight UTC at the old m-large price, its retry after midnight
    # UTC at the new one, though its local (-01:00) date is still March 3.
    call("c3a", "a3", "2026-03-03T23:50:00Z", route="rag", model="m-large", status="timeout",
         input_tokens=1000, output_tokens=0),
    call("c3b", "a3", "2026-03-03T23:30:00-01:00", route="rag", model="m-large", call_role="retry",
         input_tokens=1000, output_tokens=100),
    # A4: long context: 250k input tokens > the 200k threshold, so the whole call at 10 / 30.
    call("c5", "a4", "2026-03-05T08:00:00Z", route="rag", model="m-large", input_tokens=250_000,
         output_tokens=1000),
    # A5: served from the gateway's response cache: no provider charge.
    call("c6", "a5", "2026-03-05T09:00:00Z", response_cache_hit=True),
    # A6: starts Sunday 23:59:30 UTC, retried on Monday: the whole action is in WEEK.
    call("c7", "a6", "2026-03-08T23:59:30Z", status="rate_limited", input_tokens=0, output_tokens=0),
    call("c8", "a6", "2026-03-09T00:00:10Z", call_role="retry"),
    # A7: the router says abandoned although the call was fine: the router wins.
    call("c9", "a7", "2026-03-06T10:00:00Z", route="planning", action_outcome="abandoned"),
    # A8: a model with no price anywhere.
    call("c10", "a8", "2026-03-06T11:00:00Z", model="m-mystery"),
    # A9: the answer failed the quality check, a premium fallback completed it.
    call("c11", "a9", "2026-03-06T12:00:00Z", quality_passed=False),
    call("c12", "a9", "2026-03-06T12:00:05Z", call_role="fallback", model="m-large",
         fallback_reason="quality_check_failed"),
    # A10: every attempt failed.
    call("c13", "a10", "2026-03-06T13:00:00Z", status="error", input_tokens=0, output_tokens=0),
    call("c14", "a10", "2026-03-06T13:00:02Z", call_role="retry", status="timeout", input_tokens=0,
         output_tokens=0),
    # A11: a validation call that passes does not complete an action whose answer failed.
    call("c15", "a11", "2026-03-06T14:00:00Z", route="codegen", quality_passed=False),
    call("c16", "a11", "2026-03-06T14:00:03Z", route="codegen", call_role="validation"),
    # A12: next week, timestamp in epoch milliseconds.
    call("c17", "a12", EPOCH_MS_MAR_10_NOON),
]  # fmt: skip


@pytest.fixture
def con(tmp_path, warehouse, prices_yaml):
    return warehouse([write_jsonl(tmp_path / "calls.jsonl", ROWS)], prices_yaml(ACME_CATALOG))


def one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()


def call_cost(con, call_id: str):
    return one(con, "SELECT cost_usd FROM marts.call_costs WHERE call_id = ?", call_id)[0]


def test_cost_of_every_token_class(con):
    # uncached 1000-400-200 = 400 x 1.00 = 400; cached 400 x 0.10 = 40;
    # 5-minute writes (200-50) x 1.25 = 187.5; 1-hour writes 50 x 2.00 = 100; output 100 x 4 = 400
    row = one(
        con,
        "SELECT input_cost_usd, cached_input_cost_usd, cache_write_cost_usd, output_cost_usd, "
        "reasoning_cost_usd, cost_usd, cache_savings_usd FROM marts.call_costs WHERE call_id = 'c1'",
    )
    assert row == (
        Decimal("0.000400"),
        Decimal("0.000040"),
        Decimal("0.0002875"),
        Decimal("0.000400"),
        Decimal("0.000080"),  # reasoning 20 x 4.00, part of the output cost
        Decimal("0.0011275"),  # 400 + 40 + 287.5 + 400
        Decimal("0.000360"),  # savings: 400 cached x (1.00 - 0.10)
    )


def test_alias_and_batch(con):
    # (2000 x 1.00 + 500 x 4.00) / 1e6 x 0.5 = 0.002
    assert call_cost(con, "c2") == Decimal("0.002")
    assert one(con, "SELECT price_model, is_batch FROM marts.call_costs WHERE call_id = 'c2'") == ("m-small", True)


def test_price_change_takes_the_utc_date(con):
    # c3a: 1000 x 10 = 0.01 at the old price; c3b is 00:30 UTC on March 4: 1000 x 5 + 100 x 20 = 0.007
    assert call_cost(con, "c3a") == Decimal("0.01")
    assert call_cost(con, "c3b") == Decimal("0.007")
    assert one(con, "SELECT price_effective_from FROM marts.call_costs WHERE call_id = 'c3b'")[0] == datetime(
        2026, 3, 4, tzinfo=UTC
    )


def test_long_context_prices_the_whole_call(con):
    # 250,000 x 10 + 1,000 x 30 = 2,530,000 / 1e6
    assert call_cost(con, "c5") == Decimal("2.53")
    assert one(con, "SELECT is_long_context FROM marts.call_costs WHERE call_id = 'c5'")[0] is True


def test_response_cache_hit_costs_nothing(con):
    assert call_cost(con, "c6") == 0


def test_unpriced_model_is_null_and_counted(con):
    assert call_cost(con, "c10") is None
    assert one(con, "SELECT is_priced FROM marts.call_costs WHERE call_id = 'c10'")[0] is False
    health = one(
        con, "SELECT n_rows FROM marts.data_health WHERE check_name = 'unpriced calls' AND subject = 'acme/m-mystery'"
    )
    assert health == (1,)


def test_timestamps_are_stored_in_utc(con):
    assert one(con, "SELECT ts FROM raw.calls WHERE call_id = 'c2'")[0] == datetime(2026, 3, 3, 7, tzinfo=UTC)
    assert one(con, "SELECT ts FROM raw.calls WHERE call_id = 'c17'")[0] == datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_action_crossing_the_week_boundary_stays_in_its_first_week(con):
    assert one(con, "SELECT week, calls, cost_usd FROM marts.action_costs WHERE action_id = 'a6'") == (
        WEEK,
        2,
        Decimal("0.0014"),
    )
    assert one(con, "SELECT week FROM marts.call_costs WHERE call_id = 'c8'")[0] == WEEK
    # the next week holds A12 only: 1 action, 1 call
    assert one(
        con, "SELECT actions, calls FROM marts.route_weekly WHERE week = ? AND route = 'support_faq'", NEXT_WEEK
    ) == (
        1,
        1,
    )


def test_explicit_outcome_wins(con):
    assert one(
        con, "SELECT outcome, completed, is_outcome_from_router FROM marts.action_costs WHERE action_id = 'a7'"
    ) == (
        "abandoned",
        False,
        True,
    )
    # planning has no completed action: its cost per completed action is NULL, not 0 or infinite
    assert one(
        con, "SELECT cost_usd, cost_per_completed_action_usd FROM marts.route_weekly WHERE route = 'planning'"
    ) == (
        Decimal("0.0014"),
        None,
    )


def test_completion_rules(con):
    completed = dict(con.execute("SELECT action_id, completed FROM marts.action_costs").fetchall())
    assert completed["a9"] is True  # the fallback answered
    assert completed["a10"] is False  # every attempt failed
    assert completed["a11"] is False  # a passing validation call answers nothing
    assert completed["a5"] is True  # a response-cache hit answers


def test_action_chain(con):
    row = one(
        con, "SELECT calls, retries, fallbacks, model_chain, cost_usd FROM marts.action_costs WHERE action_id = 'a9'"
    )
    # 0.0014 for the failed m-small answer + m-large at the March 4 price: 1000 x 5 + 100 x 20 = 0.007
    assert row == (2, 0, 1, "m-small > m-large", Decimal("0.0084"))


def test_route_weekly_support_faq(con):
    row = one(
        con,
        """SELECT actions, completed_actions, calls, cost_usd, cost_per_completed_action_usd,
                  fallback_rate, retry_rate, prompt_cache_hit_rate, cached_token_share,
                  response_cache_hit_rate, cache_savings_usd, premium_share, error_rate, unpriced_calls
           FROM marts.route_weekly WHERE week = ? AND route = 'support_faq'""",
        WEEK,
    )
    # actions a1 a2 a5 a6 a8 a9 a10 (7); all but a10 completed (6)
    # calls c1 c2 c6 c7 c8 c10 c11 c12 c13 c14 (10)
    # cost 0.0011275 + 0.002 + 0 + 0.0014 + NULL + 0.0084 + 0 = 0.0129275; / 6 = 0.002154583(33)
    # prompt cache: calls with input > 0, response-cache hit c6 excluded: c1 c2 c8 c10 c11 c12 (6),
    #   with cached tokens: c1 (1); cached 400 / input 1000+2000+1000+1000+1000+1000 = 7000
    # errors: c7 rate_limited, c13 error, c14 timeout; premium: c12
    assert row == (
        7,
        6,
        10,
        Decimal("0.0129275"),
        Decimal("0.002154583"),
        pytest.approx(1 / 7),
        pytest.approx(2 / 7),
        pytest.approx(1 / 6),
        pytest.approx(400 / 7000),
        pytest.approx(1 / 10),
        Decimal("0.00036"),
        pytest.approx(1 / 10),
        pytest.approx(3 / 10),
        1,
    )


def test_a_route_week_with_unpriced_calls_says_its_cost_is_incomplete(con):
    flags = dict(
        con.execute("SELECT route, is_cost_complete FROM marts.route_weekly WHERE week = ?", [WEEK]).fetchall()
    )
    assert flags == {"support_faq": False, "rag": True, "planning": True, "codegen": True}  # c10 is unpriced


def test_route_weekly_rag(con):
    row = one(
        con,
        "SELECT actions, completed_actions, cost_usd, cost_per_completed_action_usd, retry_rate, premium_share "
        "FROM marts.route_weekly WHERE week = ? AND route = 'rag'",
        WEEK,
    )
    # a3: 0.01 + 0.007, a4: 2.53; 2.547 / 2 completed
    assert row == (2, 2, Decimal("2.547"), Decimal("1.2735"), 0.5, 1.0)


def test_breakdowns_by_status_and_fallback_reason(con):
    statuses = dict(
        con.execute(
            "SELECT status, calls FROM marts.route_weekly_status WHERE week = ? AND route = 'support_faq'", [WEEK]
        ).fetchall()
    )
    assert statuses == {"ok": 7, "rate_limited": 1, "error": 1, "timeout": 1}
    assert con.execute(
        "SELECT fallback_reason, fallback_calls, actions, cost_usd FROM marts.route_weekly_fallbacks WHERE week = ?",
        [WEEK],
    ).fetchall() == [("quality_check_failed", 1, 1, Decimal("0.007"))]


def test_money_is_decimal(con):
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND column_name LIKE '%usd' AND column_name <> 'logged_cost_usd'"
        ).fetchall()
    )
    assert types and all(t.startswith("DECIMAL") for t in types.values()), types
