"""The demo generator: canonical rows, the scenario's behaviour, the two stories, the files."""

from __future__ import annotations

import gzip
import json
from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from genai_prices.data_snapshot import get_snapshot

from pipelines.demo import scenario
from pipelines.demo.files import write_calls, write_demo
from pipelines.demo.generator import default_end, issue_counts, iter_weeks
from pipelines.ingest.fields import CALL_ROLES, FIELD_NAMES, FIELDS

N_CALLS = 20_000
END = date(2026, 11, 29)  # a Sunday: weeks from Monday 2026-09-07
MONDAYS = [date(2026, 9, 7) + timedelta(weeks=w) for w in range(12)]


@pytest.fixture(scope="module")
def weeks() -> list[tuple[date, pa.Table]]:
    return list(iter_weeks(N_CALLS, seed=7, end=END))


@pytest.fixture(scope="module")
def con(weeks) -> duckdb.DuckDBPyConnection:
    """All calls as `calls` with the `week` (1-based) of the table that held them; `actions`."""
    connection = duckdb.connect()
    tables = [t.append_column("week", pa.array([w] * t.num_rows, pa.int64())) for w, (_, t) in enumerate(weeks, 1)]
    connection.register("generated", pa.concat_tables(tables))
    connection.execute("CREATE TABLE calls AS SELECT * FROM generated")
    connection.execute(
        "CREATE TABLE actions AS SELECT action_id, count(DISTINCT route) AS n_routes, any_value(route) AS route,"
        " min(week) AS week, count(DISTINCT week) AS n_weeks, date_diff('second', min(ts), max(ts)) AS span_s,"
        " bool_or(call_role = 'fallback') AS fell_back,"
        " bool_or(call_role = 'fallback' AND fallback_reason = 'invalid_output') AS invalid_fallback"
        " FROM calls GROUP BY action_id"
    )
    return connection


def one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_default_end_is_the_last_sunday_strictly_before_today():
    assert default_end(date(2026, 11, 30)) == date(2026, 11, 29)  # a Monday
    assert default_end(date(2026, 11, 29)) == date(2026, 11, 22)  # a Sunday: the one before
    assert default_end(date(2026, 12, 2)) == date(2026, 11, 29)
    assert default_end().weekday() == 6


def test_twelve_iso_weeks_oldest_first_with_exactly_n_calls(weeks):
    assert [monday for monday, _ in weeks] == MONDAYS
    assert sum(table.num_rows for _, table in weeks) == N_CALLS
    sizes = [table.num_rows for _, table in weeks]
    assert sizes[-1] > sizes[0] * 1.15  # ~2% growth a week over 11 weeks


def test_columns_are_the_canonical_fields_in_order_with_their_types(weeks):
    arrow_type = {
        "text": pa.string(),
        "enum": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("ms", tz="UTC"),
    }
    for _, table in weeks:
        assert tuple(table.column_names) == FIELD_NAMES
        assert [table.schema.field(f.name).type for f in FIELDS] == [arrow_type[f.kind] for f in FIELDS]
        for f in FIELDS:
            if f.required or f.default:
                assert table[f.name].null_count == 0, f.name


def test_same_seed_same_data_other_seed_other_data(weeks):
    again = list(iter_weeks(N_CALLS, seed=7, end=END))
    assert all(a.equals(b) for (_, a), (_, b) in zip(weeks, again, strict=True))
    other = next(iter_weeks(N_CALLS, seed=8, end=END))[1]
    assert not other.equals(weeks[0][1])


def test_each_week_holds_the_actions_that_start_in_it(con):
    # An action straddling Sunday midnight stays whole in the week of its first call.
    assert one(con, "SELECT max(n_weeks) FROM actions") == 1
    outside = one(
        con,
        "SELECT count(*) FROM (SELECT week, min(ts) AS first FROM calls GROUP BY action_id, week)"
        " WHERE first < TIMESTAMPTZ '2026-09-07 00:00:00+00' + INTERVAL 7 DAY * (week - 1)"
        " OR first >= TIMESTAMPTZ '2026-09-07 00:00:00+00' + INTERVAL 7 DAY * week",
    )
    assert outside == 0


def test_token_invariants_hold_on_every_row(con):
    broken = one(
        con,
        "SELECT count(*) FROM calls WHERE cached_input_tokens + cache_write_tokens > input_tokens"
        " OR cache_write_1h_tokens > cache_write_tokens OR reasoning_tokens > output_tokens"
        " OR least(input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens,"
        " output_tokens, reasoning_tokens, tool_calls) < 0 OR latency_ms < 0",
    )
    assert broken == 0
    # Calls the provider did not process report no tokens.
    assert (
        one(
            con,
            "SELECT count(*) FROM calls WHERE status IN ('rate_limited', 'error', 'timeout')"
            " AND input_tokens + output_tokens > 0",
        )
        == 0
    )


def test_call_ids_are_unique_and_actions_are_coherent(con):
    assert one(con, "SELECT count(*) - count(DISTINCT call_id) FROM calls") == 0
    assert one(con, "SELECT max(n_routes) FROM actions") == 1
    assert one(con, "SELECT max(span_s) FROM actions WHERE route <> 'batch_enrichment'") < 15 * 60
    assert one(con, "SELECT max(span_s) FROM actions") < 60 * 60
    assert one(con, "SELECT avg(span_s) FROM actions") < 30


def test_weekends_carry_about_forty_percent_of_a_weekday(con):
    per_day = con.execute(
        "SELECT avg(n) FILTER (WHERE isodow(day) >= 6) / avg(n) FILTER (WHERE isodow(day) < 6) FROM"
        " (SELECT (ts AT TIME ZONE 'UTC')::DATE AS day, count(*) AS n FROM calls"
        "  WHERE ts < TIMESTAMPTZ '2026-11-30 00:00:00+00' GROUP BY 1)"
    ).fetchone()[0]
    assert 0.3 < per_day < 0.5


def test_story_1_classification_falls_back_from_week_6(con):
    rows = con.execute(
        "SELECT week, avg(fell_back::INT), avg(invalid_fallback::INT) FROM actions"
        " WHERE route = 'classification' GROUP BY week ORDER BY week"
    ).fetchall()
    for week, fallback_share, invalid_share in rows:
        if week < 6:
            assert fallback_share < 0.1, week
        else:
            assert 0.3 <= fallback_share <= 0.5, week
            assert invalid_share > 0.9 * fallback_share, week
    policies = dict(
        con.execute(
            "SELECT week, string_agg(DISTINCT policy_version, ',' ORDER BY policy_version) FROM calls"
            " WHERE route = 'classification' GROUP BY 1"
        ).fetchall()
    )
    assert policies[4] == "cls-v2" and policies[5] == "cls-v2,cls-v3"  # week 5: the canary beside its control
    assert policies[6] == "cls-v3" and policies[12] == "cls-v3"
    # Falling back goes to the premium model.
    assert (
        one(con, "SELECT count(DISTINCT model) FROM calls WHERE route = 'classification' AND call_role = 'fallback'")
        == 1
    )
    assert (
        one(con, "SELECT any_value(model) FROM calls WHERE route = 'classification' AND call_role = 'fallback'")
        == "gpt-5.4"
    )


def test_week_5_runs_cls_v3_as_a_10_percent_canary_that_falls_back_as_it_will(con):
    rows = dict(
        (version, (actions, fallback_share))
        for version, actions, fallback_share in con.execute(
            "SELECT policy_version, count(*), avg(fell_back::INT) FROM actions"
            " JOIN (SELECT action_id, any_value(policy_version) AS policy_version FROM calls GROUP BY 1)"
            " USING (action_id)"
            " WHERE route = 'classification' AND week = 5 GROUP BY 1"
        ).fetchall()
    )
    canary, control = rows["cls-v3"], rows["cls-v2"]
    assert 0.07 <= canary[0] / (canary[0] + control[0]) <= 0.13
    assert 0.25 <= canary[1] <= 0.55 and control[1] < 0.1


def test_story_2_rag_premium_calls_cross_200k_tokens_from_week_9(con):
    long_share = dict(
        con.execute(
            "SELECT week >= 9, avg((input_tokens > 200000)::INT) FROM calls"
            " WHERE route = 'rag_answer' AND model = 'gemini-3.1-pro-preview' GROUP BY 1"
        ).fetchall()
    )
    assert long_share[False] < 0.01
    assert 0.25 <= long_share[True] <= 0.45
    assert one(con, "SELECT any_value(policy_version) FROM calls WHERE route = 'rag_answer' AND week = 9") == "rag-v5"


def test_routes_behave_as_the_scenario_says(con):
    def routes_where(condition: str) -> set[str]:
        return {r for (r,) in con.execute(f"SELECT DISTINCT route FROM calls WHERE {condition}").fetchall()}

    assert routes_where("call_role = 'classifier'") == {"support_faq", "rag_answer"}
    assert routes_where("call_role = 'validation'") == {"codegen"}
    assert routes_where("call_role = 'tool'") == {"rag_answer"}
    assert routes_where("action_outcome IS NOT NULL") == {"planning"}
    assert routes_where("quality_passed IS NOT NULL") == {"extraction", "codegen"}
    assert routes_where("batch") == {"batch_enrichment"}
    assert routes_where("NOT batch") == {r.name for r in scenario.ROUTES} - {"batch_enrichment"}
    assert routes_where("response_cache_hit") == {"support_faq"}
    assert routes_where("reasoning_tokens > 0") == {"planning", "codegen"}
    assert routes_where("tool_calls > 0") == {"planning", "rag_answer"}
    assert routes_where("model = 'acme-faq-ft-v2'") == {"support_faq"}
    assert one(con, "SELECT count(*) FROM calls WHERE logged_cost_usd IS NOT NULL") == 0
    assert one(con, "SELECT count(*) FROM calls WHERE (provider = 'openai') <> (service_tier IS NOT NULL)") == 0
    assert one(con, "SELECT max(latency_ms) FROM calls WHERE response_cache_hit") <= 20
    assert one(con, "SELECT min(latency_ms) FROM calls WHERE batch AND status = 'ok'") > 10_000
    # About 22% of support_faq's first answers come from the gateway's response cache.
    hit_share = one(
        con, "SELECT avg(response_cache_hit::INT) FROM calls WHERE route = 'support_faq' AND call_role = 'primary'"
    )
    assert 0.17 < hit_share < 0.27
    # Some actions fail entirely: every answering attempt errored.
    failed_entirely = one(
        con,
        "SELECT count(*) FROM (SELECT action_id FROM calls WHERE call_role IN ('primary', 'retry', 'fallback')"
        " GROUP BY 1 HAVING bool_and(status <> 'ok'))",
    )
    assert failed_entirely > 0


def test_every_public_model_resolves_in_genai_prices_and_the_reranker_does_not(con):
    snapshot = get_snapshot()
    pairs = con.execute("SELECT DISTINCT provider, model FROM calls").fetchall()
    for provider, model in pairs:
        if model.startswith("acme-"):
            continue
        snapshot.find_provider_model(model, None, provider, None)  # raises LookupError when unpriced
    with pytest.raises(LookupError):
        snapshot.find_provider_model("acme-rerank-v1", None, "mistral", None)
    models = {model for _, model in pairs}
    assert {"gpt-5.4-mini", "gpt-5.4-mini-2026-03-17", "claude-haiku-4-5-20251001", "acme-rerank-v1"} <= models


def test_injected_issues_sit_in_the_fourth_week_only(weeks):
    injected = list(iter_weeks(N_CALLS, seed=7, end=END, inject_issues=True))
    for week, ((_, clean), (_, dirty)) in enumerate(zip(weeks, injected, strict=True), start=1):
        if week != scenario.ISSUE_WEEK:
            assert dirty.equals(clean)
            continue
        gateway_rows = clean.num_rows - clean["route"].to_pylist().count("batch_enrichment")
        per_kind, duplicates = issue_counts(gateway_rows)
        assert dirty.num_rows == clean.num_rows + duplicates
        assert dirty["ts"].null_count == per_kind
        assert dirty["call_role"].to_pylist().count(scenario.UNKNOWN_CALL_ROLE) == per_kind
        assert "batch_enrichment" not in dirty.filter(pc.is_null(dirty["ts"]))["route"].to_pylist()


def read_lines(path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().splitlines()


def test_write_demo_lays_out_one_period_with_issues_in_the_fourth_gateway_file(tmp_path, weeks):
    paths = write_demo(tmp_path / "demo", N_CALLS, seed=7, end=END)
    gateway = sorted((tmp_path / "demo" / "gateway").iterdir())
    batch = sorted((tmp_path / "demo" / "batch").iterdir())
    assert [p.name for p in gateway] == [f"gateway-{m.isoformat()}.jsonl.gz" for m in MONDAYS]
    assert [p.name for p in batch] == [f"batch-worker-{m.isoformat()}.parquet" for m in MONDAYS]
    assert sorted(paths) == sorted(gateway + batch)

    connection = duckdb.connect()
    for path in batch:
        routes = connection.execute(f"SELECT DISTINCT route FROM read_parquet('{path}')").fetchall()
        assert routes == [("batch_enrichment",)]
    for week, path in enumerate(gateway, start=1):
        lines = read_lines(path)
        ignore = ", ignore_errors = true" if week == scenario.ISSUE_WEEK else ""
        assert one(connection, f"SELECT count(*) FROM read_json('{path}', format = 'newline_delimited'{ignore})") > 0
        if week != scenario.ISSUE_WEEK:
            rows = [json.loads(line) for line in lines]
            assert len(set(lines)) == len(lines)
            assert {r["route"] for r in rows} == {r.name for r in scenario.ROUTES} - {"batch_enrichment"}
    # Gateway timestamps: Berlin local time with its offset in eu-west-1, UTC elsewhere.
    sample = [json.loads(line) for line in read_lines(gateway[6])]
    offsets = {r["ts"][-6:] for r in sample if r["region"] == "eu-west-1"}
    assert offsets <= {"+01:00", "+02:00"} and offsets
    assert all(r["ts"].endswith("Z") for r in sample if r["region"] != "eu-west-1")

    # The 4th file: each kind of bad line, and re-emitted exact duplicates.
    fourth = weeks[scenario.ISSUE_WEEK - 1][1]
    gateway_rows = fourth.num_rows - one(connection, f"SELECT count(*) FROM read_parquet('{batch[3]}')")
    per_kind, duplicates = issue_counts(gateway_rows)
    lines = read_lines(gateway[scenario.ISSUE_WEEK - 1])
    seen: set[str] = set()
    found = dict.fromkeys(scenario.BAD_LINE_KINDS, 0) | {"duplicate": 0}
    for line in lines:
        found["duplicate"] += line in seen
        seen.add(line)
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            found["truncated_json"] += 1
            continue
        found["missing_ts"] += "ts" not in row
        found["unknown_call_role"] += row["call_role"] not in CALL_ROLES
        found["negative_output_tokens"] += row["output_tokens"] < 0
        found["cached_exceeds_input"] += row["cached_input_tokens"] > row["input_tokens"]
    assert found == dict.fromkeys(scenario.BAD_LINE_KINDS, per_kind) | {"duplicate": duplicates}
    assert len(lines) == gateway_rows + duplicates


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_write_calls_writes_one_clean_file_duckdb_reads(tmp_path, fmt):
    path = write_calls(tmp_path / f"calls.{fmt}", 3_000, seed=3, fmt=fmt, end=END)
    reader = {"parquet": "read_parquet", "jsonl": "read_json", "csv": "read_csv"}[fmt]
    with duckdb.connect() as con:  # its own connection: the module's default one is shared by every test
        count, distinct, first = con.execute(
            f"SELECT count(*), count(DISTINCT call_id), min(ts::TIMESTAMPTZ) FROM {reader}('{path}')"
        ).fetchone()
    assert count == distinct == 3_000
    assert first.date() >= MONDAYS[0] - timedelta(days=1)


def test_write_calls_refuses_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        write_calls(tmp_path / "calls.xml", 10, fmt="xml")
