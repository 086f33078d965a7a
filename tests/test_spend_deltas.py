"""marts.spend_deltas: why spend moved between two weeks, taken apart into six parts.

One warehouse, built by the real ingest and build, where each route tells one story
between the week of 2026-03-02 (W0) and that of 2026-03-09 (W1). The catalog below
(USD per 1M tokens): m-small 1.00 input, 0.10 cached input, 4.00 output; m-large 10.00
input, 40.00 output, above 200k input tokens 20.00 and 60.00 for the whole call; m-deal
2.00 input and 8.00 output until 2026-03-08, then (a negotiated price) 1.00 and 4.00.
A "small call" is 1000 input and 100 output tokens on m-small: 0.001 + 0.0004 = 0.0014.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.build import run_build
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import call, write_jsonl

CATALOG = """
currency: USD
models:
  - provider: acme
    model: m-small
    tier: low
    prices:
      - effective_from: 2026-01-01
        input: 1.00
        cached_input: 0.10
        output: 4.00
  - provider: acme
    model: m-large
    tier: premium
    prices:
      - effective_from: 2026-01-01
        input: 10.00
        output: 40.00
        long_context:
          threshold_input_tokens: 200000
          input: 20.00
          output: 60.00
  - provider: acme
    model: m-deal
    tier: balanced
    prices:
      - effective_from: 2026-01-01
        input: 2.00
        output: 8.00
      - effective_from: 2026-03-08
        input: 1.00
        output: 4.00
"""

W0, W1 = "2026-03-03T10:00:00Z", "2026-03-10T10:00:00Z"
PARTS = ("volume_usd", "attempts_usd", "mix_usd", "tokens_usd", "cache_usd", "price_usd")


def small(call_id: str, action_id: str, ts: str, route: str, **fields: object) -> dict:
    return call(call_id, action_id, ts, route=route, **fields)


STORIES = [
    # price: the same call each week; m-deal's rates halve: 0.0028 -> 0.0014
    small("p0", "pa0", W0, "price", model="m-deal"),
    small("p1", "pa1", W1, "price", model="m-deal"),
    # volume: 2 actions, then 3, each one small call: 0.0028 -> 0.0042
    *[small(f"v0{i}", f"va0{i}", W0, "volume") for i in range(2)],
    *[small(f"v1{i}", f"va1{i}", W1, "volume") for i in range(3)],
    # mix: 2 actions on m-small (0.0028), then one of them on m-large (10·1000 + 40·100 per 1M = 0.014)
    *[small(f"m0{i}", f"ma0{i}", W0, "mix") for i in range(2)],
    small("m10", "ma10", W1, "mix"),
    small("m11", "ma11", W1, "mix", model="m-large"),
    # retries: 2 actions of 1 call (0.0028), then one action needs a retry: 3 calls, 0.0042
    *[small(f"r0{i}", f"ra0{i}", W0, "retries") for i in range(2)],
    small("r10", "ra10", W1, "retries", status="timeout"),
    small("r11", "ra10", W1, "retries", call_role="retry"),
    small("r12", "ra11", W1, "retries"),
    # tokens: one m-large call of 100k input tokens (1.0 + 0.004 = 1.004), then 300k, over the
    # long-context threshold: 300000·20 + 100·60 per 1M = 6.006
    small("t0", "ta0", W0, "tokens", model="m-large", input_tokens=100_000),
    small("t1", "ta1", W1, "tokens", model="m-large", input_tokens=300_000),
    # cache: a small call, then the same with 500 of its 1000 input tokens cached:
    # 500·1.00 + 500·0.10 + 100·4.00 per 1M = 0.00095
    small("k0", "ka0", W0, "cache"),
    small("k1", "ka1", W1, "cache", cached_input_tokens=500),
    # a route that appears in W1 and one that disappears after W0: one small call each
    small("n1", "na1", W1, "appears"),
    small("g0", "ga0", W0, "disappears"),
]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    directory = tmp_path_factory.mktemp("spend_deltas")
    catalog = directory / "catalog.yaml"
    catalog.write_text(CATALOG)
    db = directory / "warehouse.duckdb"
    run_ingest_logs(db, [str(write_jsonl(directory / "calls.jsonl", STORIES))])
    run_build(db, catalog)
    connection = duckdb.connect(str(db), read_only=True)
    yield connection
    connection.close()


def parts(con, grain: str, route: str | None = None, model: str | None = None) -> dict[str, Decimal]:
    """The row's delta and its non-zero parts."""
    columns = ", ".join(("spend_prev_usd", "spend_curr_usd", "delta_usd", *PARTS))
    row = con.execute(
        f"SELECT {columns} FROM marts.spend_deltas WHERE week = DATE '2026-03-09' AND grain = ? "
        "AND route IS NOT DISTINCT FROM ? AND model IS NOT DISTINCT FROM ?",
        [grain, route, model],
    ).fetchone()
    assert row is not None, (grain, route, model)
    prev, curr, delta, *values = row
    assert delta == curr - prev
    assert sum(values) == delta
    return {"delta": delta} | {name: value for name, value in zip(PARTS, values, strict=True) if value != 0}


def test_only_prices_changed_is_all_price(con):
    assert parts(con, "route", "price") == {"delta": Decimal("-0.0014"), "price_usd": Decimal("-0.0014")}


def test_only_the_number_of_actions_changed_is_all_volume(con):
    # 0.0028 x 3/2 - 0.0028
    assert parts(con, "route", "volume") == {"delta": Decimal("0.0014"), "volume_usd": Decimal("0.0014")}


def test_a_shift_between_models_is_all_mix(con):
    # m-small loses half its calls (-0.0014); m-large is new to the route: all its 0.014 is mix
    assert parts(con, "route", "mix") == {"delta": Decimal("0.0126"), "mix_usd": Decimal("0.0126")}
    assert parts(con, "route_model", "mix", "m-small") == {"delta": Decimal("-0.0014"), "mix_usd": Decimal("-0.0014")}
    assert parts(con, "route_model", "mix", "m-large") == {"delta": Decimal("0.014"), "mix_usd": Decimal("0.014")}


def test_a_retry_is_all_attempts(con):
    # 2 actions, 2 calls -> 3 calls: 0.0028 x 3/2 - 0.0028
    assert parts(con, "route", "retries") == {"delta": Decimal("0.0014"), "attempts_usd": Decimal("0.0014")}


def test_more_tokens_over_the_long_context_threshold_is_all_tokens(con):
    assert parts(con, "route", "tokens") == {"delta": Decimal("5.002"), "tokens_usd": Decimal("5.002")}


def test_a_higher_cached_share_is_all_cache(con):
    # 0.00095 - 0.0014
    assert parts(con, "route", "cache") == {"delta": Decimal("-0.00045"), "cache_usd": Decimal("-0.00045")}


def test_a_route_that_appears_or_disappears_is_all_volume(con):
    assert parts(con, "route", "appears") == {"delta": Decimal("0.0014"), "volume_usd": Decimal("0.0014")}
    assert parts(con, "route", "disappears") == {"delta": Decimal("-0.0014"), "volume_usd": Decimal("-0.0014")}


def test_the_total_is_the_sum_of_the_routes(con):
    assert parts(con, "total") == {
        "delta": Decimal("5.01555"),  # -0.0014 + 0.0014 + 0.0126 + 0.0014 + 5.002 - 0.00045 + 0.0014 - 0.0014
        "volume_usd": Decimal("0.0014"),
        "attempts_usd": Decimal("0.0014"),
        "mix_usd": Decimal("0.0126"),
        "tokens_usd": Decimal("5.002"),
        "cache_usd": Decimal("-0.00045"),
        "price_usd": Decimal("-0.0014"),
    }


def test_the_first_week_has_no_previous_week_to_compare(con):
    assert con.execute("SELECT DISTINCT week FROM marts.spend_deltas").fetchall() == [(datetime(2026, 3, 9).date(),)]


# Random logs over three weeks that span m-deal's price change: the six parts add up to
# the delta on every row, routes add up to the total, and the spend is route_weekly's.
START = datetime(2026, 2, 23, tzinfo=UTC)


@st.composite
def random_call(draw: st.DrawFn) -> dict:
    input_tokens = draw(st.integers(0, 300_000))
    cached = draw(st.integers(0, input_tokens))
    output = draw(st.integers(0, 5000))
    return {
        "action_id": f"a{draw(st.integers(0, 12))}",
        "ts": (START + timedelta(seconds=draw(st.integers(0, 21 * 86400 - 1)))).isoformat(),
        "route": draw(st.sampled_from(["faq", "rag", "codegen"])),
        "call_role": draw(st.sampled_from(["primary", "retry", "fallback", "validation"])),
        "provider": "acme",
        "model": draw(st.sampled_from(["m-small", "m-large", "m-deal", "m-mystery"])),
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "output_tokens": output,
        "response_cache_hit": draw(st.booleans()),
        "batch": draw(st.booleans()),
    }


random_logs = st.lists(random_call(), min_size=1, max_size=30).map(
    lambda rows: [row | {"call_id": f"c{i}"} for i, row in enumerate(rows)]
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=random_logs)
def test_the_parts_always_add_up(tmp_path_factory, rows):
    directory = tmp_path_factory.mktemp("random")
    catalog = directory / "catalog.yaml"
    catalog.write_text(CATALOG)
    db = directory / "warehouse.duckdb"
    run_ingest_logs(db, [str(write_jsonl(directory / "calls.jsonl", rows))])
    run_build(db, catalog)
    connection = duckdb.connect(str(db), read_only=True)
    try:
        unbalanced = connection.execute(
            "SELECT count(*) FROM marts.spend_deltas WHERE delta_usd <> spend_curr_usd - spend_prev_usd "
            "OR delta_usd <> volume_usd + attempts_usd + mix_usd + tokens_usd + cache_usd + price_usd"
        ).fetchone()
        not_summed = connection.execute(
            """SELECT count(*) FROM marts.spend_deltas AS up
               WHERE up.grain <> 'route_model' AND (up.delta_usd, up.price_usd, up.mix_usd) IS DISTINCT FROM (
                   SELECT (coalesce(sum(down.delta_usd), 0), coalesce(sum(down.price_usd), 0),
                           coalesce(sum(down.mix_usd), 0))
                   FROM marts.spend_deltas AS down
                   WHERE down.week = up.week
                     AND down.grain = if(up.grain = 'total', 'route', 'route_model')
                     AND (up.grain = 'total' OR down.route = up.route))"""
        ).fetchone()
        not_route_weekly = connection.execute(
            """SELECT count(*) FROM marts.spend_deltas AS d
               LEFT JOIN marts.route_weekly AS w ON w.week = d.week AND w.route = d.route
               WHERE d.grain = 'route' AND d.spend_curr_usd <> coalesce(w.cost_usd, 0)"""
        ).fetchone()
    finally:
        connection.close()
    assert unbalanced == (0,)
    assert not_summed == (0,)
    assert not_route_weekly == (0,)
