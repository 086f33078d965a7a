"""Invariants over generated logs: costs are never negative and add up across the marts,
and neither the order of rows nor how they are split into files changes any mart."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.build import run_build
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import ACME_CATALOG, write_jsonl

START = datetime(2026, 2, 23, tzinfo=UTC)  # a Monday, before the m-large price change of March 4
MODELS = ("m-small", "m-small-2026-01-01", "m-large", "m-mystery")
OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)))


@st.composite
def calls(draw: st.DrawFn) -> dict:
    input_tokens = draw(st.integers(0, 300_000))
    cached = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cached))
    output = draw(st.integers(0, 5000))
    ts = START + timedelta(seconds=draw(st.integers(0, 21 * 86400)))
    stamp = draw(
        st.sampled_from(
            [
                lambda t: t.astimezone(draw(st.sampled_from(OFFSETS))).isoformat(),
                lambda t: int(t.timestamp() * 1000),
            ]
        )
    )(ts)
    return {
        "action_id": f"a{draw(st.integers(0, 15))}",
        "ts": stamp,
        "route": draw(st.sampled_from(["faq", "rag", "codegen"])),
        "call_role": draw(st.sampled_from(["primary", "retry", "fallback", "validation", "tool"])),
        "provider": "acme",
        "model": draw(st.sampled_from(MODELS)),
        "status": draw(st.sampled_from(["ok", "ok", "error", "timeout", "invalid_output"])),
        "quality_passed": draw(st.sampled_from([None, True, False])),
        "action_outcome": draw(st.sampled_from([None, None, None, "completed", "failed", "abandoned"])),
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": draw(st.integers(0, cache_write)),
        "output_tokens": output,
        "reasoning_tokens": draw(st.integers(0, output)),
        "latency_ms": draw(st.floats(0, 60_000, allow_nan=False)),
        "response_cache_hit": draw(st.booleans()),
        "batch": draw(st.booleans()),
    }


logs = st.lists(calls(), min_size=1, max_size=40).map(
    lambda rows: [row | {"call_id": f"c{i}"} for i, row in enumerate(rows)]
)

MARTS = {
    "marts.call_costs": "SELECT * EXCLUDE (load_id) FROM marts.call_costs ORDER BY call_id",
    "marts.action_costs": "SELECT * FROM marts.action_costs ORDER BY action_id",
    "marts.route_weekly": "SELECT * FROM marts.route_weekly ORDER BY week, route",
    "marts.route_weekly_status": "SELECT * FROM marts.route_weekly_status ORDER BY ALL",
    "marts.route_weekly_fallbacks": "SELECT * FROM marts.route_weekly_fallbacks ORDER BY ALL",
}


def build(directory, files_of_rows: list[list[dict]], catalog) -> dict[str, list[tuple]]:
    db = directory / "warehouse.duckdb"
    paths = [str(write_jsonl(directory / f"part-{i}.jsonl", part)) for i, part in enumerate(files_of_rows) if part]
    run_ingest_logs(db, paths)
    run_build(db, catalog)
    con = duckdb.connect(str(db), read_only=True)
    try:
        marts = {name: con.execute(sql).fetchall() for name, sql in MARTS.items()}
        marts["sums"] = con.execute(
            """SELECT (SELECT sum(cost_usd) FROM marts.call_costs),
                      (SELECT sum(cost_usd) FROM marts.action_costs),
                      (SELECT sum(cost_usd) FROM marts.route_weekly),
                      (SELECT count(*) FROM marts.call_costs WHERE cost_usd < 0
                          OR input_cost_usd < 0 OR cached_input_cost_usd < 0 OR cache_write_cost_usd < 0
                          OR output_cost_usd < 0 OR cache_savings_usd < 0),
                      (SELECT count(*) FROM marts.call_costs
                          WHERE cost_usd <> input_cost_usd + cached_input_cost_usd + cache_write_cost_usd
                                         + output_cost_usd),
                      (SELECT sum(calls) FROM marts.route_weekly),
                      (SELECT sum(actions) FROM marts.route_weekly)"""
        ).fetchall()
    finally:
        con.close()
    return marts


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=logs, seed=st.integers(0, 2**32 - 1), parts=st.integers(2, 4))
def test_costs_add_up_and_order_and_files_change_nothing(tmp_path_factory, rows, seed, parts):
    # One catalog file for both builds: its path is part of every price row's source.
    catalog = tmp_path_factory.getbasetemp() / "catalog.yaml"
    catalog.write_text(ACME_CATALOG)
    whole = build(tmp_path_factory.mktemp("whole"), [rows], catalog)
    total_call, total_action, total_route_week, negative, unbalanced, calls_counted, actions_counted = whole["sums"][0]
    assert negative == 0
    assert unbalanced == 0
    assert total_call == total_action == total_route_week
    assert calls_counted == len(rows)
    assert actions_counted == len({r["action_id"] for r in rows})

    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    split = [shuffled[i::parts] for i in range(parts)]
    assert build(tmp_path_factory.mktemp("split"), split, catalog) == whole
