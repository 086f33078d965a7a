"""Log adapters: LiteLLM, OpenTelemetry and Langfuse exports load as they come, map exactly onto
the canonical log (same marts.call_costs call by call), and quarantine what cannot map with a
reason naming the source field, without keeping any prompt or response text."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import FIXTURES, rows

ADAPTERS = FIXTURES / "adapters"
SECRETS = ("SECRET-PROMPT", "SECRET-RESPONSE", "4111")

# List prices per 1M tokens, chosen so every cost below is exact by hand.
CATALOG = """
currency: USD
models:
  - provider: openai
    model: gpt-4.1
    aliases: [gpt-4.1-2025-04-14]
    tier: premium
    prices:
      - effective_from: 2026-01-01
        input: 2.00
        cached_input: 0.50
        output: 8.00
  - provider: anthropic
    model: claude-sonnet-4
    aliases: [claude-sonnet-4-20250514]
    tier: premium
    prices:
      - effective_from: 2026-01-01
        input: 3.00
        cached_input: 0.30
        cache_write: 3.75
        cache_write_1h: 6.00
        output: 15.00
"""

# The fixtures' calls, priced by hand (USD):
LITELLM_COSTS = {
    # 200 uncached × 2 + 1000 cached × 0.5 + 300 out × 8 = 3300 / 1e6
    "chatcmpl-A1": Decimal("0.0033"),
    # Anthropic-shaped usage: input 200 + read 3000 + write 500 = 3700 in all;
    # 200 × 3 + 3000 × 0.3 + 300 (5m) × 3.75 + 200 (1h) × 6 + 400 × 15 = 9825 / 1e6
    "msg_B1": Decimal("0.009825"),
    "C1-attempt-1": Decimal("0"),  # rate limited: no tokens
    "C1": Decimal("0.0045"),  # the fallback: 500 × 3 + 200 × 15 = 4500 / 1e6
    "chatcmpl-A1_cache_hit1762077900": Decimal("0"),  # the gateway's response cache
    "chatcmpl-D1": Decimal("0"),  # timed out
}


def call_costs(db: Path) -> list[tuple]:
    return rows(db, "SELECT * FROM marts.call_costs ORDER BY call_id")


def load_and_build(db: Path, catalog: Path, *files: Path, **options: str) -> list:
    from pipelines.build import run_build

    results, _ = run_ingest_logs(db, [str(f) for f in files], **options)
    run_build(db, catalog)
    return results


@pytest.fixture
def catalog(prices_yaml) -> Path:
    return prices_yaml(CATALOG)


# -- LiteLLM ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["litellm_spendlogs.csv", "litellm_spendlogs.jsonl", "litellm_spendlogs.parquet"])
def test_litellm_export_gives_the_same_call_costs_as_the_canonical_log(tmp_path, catalog, name):
    canonical = tmp_path / "canonical" / "warehouse.duckdb"
    load_and_build(canonical, catalog, ADAPTERS / "litellm_calls.jsonl")
    adapted = tmp_path / "adapted" / "warehouse.duckdb"
    [result] = load_and_build(adapted, catalog, ADAPTERS / name)

    assert (result.format, result.rows_read, result.rows_loaded) == (f"litellm.{name.split('.')[-1]}", 6, 6)
    assert call_costs(adapted) == call_costs(canonical)
    costs = dict(rows(adapted, "SELECT call_id, cost_usd FROM marts.call_costs"))
    assert costs == LITELLM_COSTS


def test_litellm_tokens_roles_and_status_map_as_documented(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    run_ingest_logs(db, [str(ADAPTERS / "litellm_spendlogs.csv")])
    got = {
        r[0]: r[1:]
        for r in rows(
            db,
            """SELECT call_id, action_id, route, call_role, status, input_tokens, cached_input_tokens,
                cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, service_tier, feature
            FROM raw.calls""",
        )
    }
    # OpenAI usage: prompt_tokens already holds the 1000 cached tokens.
    assert got["chatcmpl-A1"] == ("sess-1", "support-chat", "primary", "ok", 1200, 1000, 0, 0, 100, "default", "faq")
    # Anthropic usage: 200 + 3000 + 500 = 3700 in all; 200 of the 500 writes are 1-hour.
    assert got["msg_B1"] == ("sess-2", "codegen", "primary", "ok", 3700, 3000, 500, 200, 0, None, "autocomplete")
    # The failed attempt joins its request; the fallback keeps the route first asked for.
    assert got["C1-attempt-1"][:4] == ("C1", "support-chat", "primary", "rate_limited")
    assert got["C1"][:4] == ("C1", "support-chat", "fallback", "ok")
    assert got["chatcmpl-D1"][3] == "timeout" and got["chatcmpl-D1"][9] == "flex"


def test_litellm_route_from_a_metadata_key_or_a_request_tag(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    source = list(csv.DictReader((ADAPTERS / "litellm_spendlogs.csv").open()))[:2]
    metadata = json.loads(source[0]["metadata"])
    metadata["spend_logs_metadata"]["workflow"] = "refunds"
    source[0]["metadata"] = json.dumps(metadata)
    source[1]["request_tags"] = json.dumps(["workflow:triage", "feature:autocomplete"])
    path = write_csv(tmp_path / "spend.csv", source)

    [result] = run_ingest_logs(db, [str(path)], route_from="workflow")[0]
    assert result.rows_loaded == 2
    assert rows(db, "SELECT call_id, route FROM raw.calls ORDER BY call_id") == [
        ("chatcmpl-A1", "refunds"),
        ("msg_B1", "triage"),
    ]


def write_csv(path: Path, records: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path


def test_litellm_rows_that_cannot_map_are_rejected_naming_the_source_field(tmp_path):
    source = list(csv.DictReader((ADAPTERS / "litellm_spendlogs.csv").open()))
    openai = source[0]  # OpenAI-shaped usage
    bad = [
        ({"request_id": "no-model", "model": ""}, "model (from model): required, missing"),
        ({"request_id": "negative", "prompt_tokens": "-5"}, "input_tokens (from prompt_tokens): must be >= 0, got -5"),
        ({"request_id": "no-route", "model_group": ""}, "route (from model_group): required, missing"),
        ({"request_id": "bad-metadata", "metadata": "{SECRET-PROMPT"}, "metadata: must be a JSON object"),
        (
            {"request_id": "cache-over-input", "prompt_tokens": "900"},
            "cached_input_tokens + cache_write_tokens (from metadata.usage_object.cache_read_input_tokens; "
            "metadata.usage_object.cache_creation_input_tokens; prompt_tokens): must be <= input_tokens, "
            "got 1000 + 0 > 900",
        ),
        ({"request_id": "bad-status", "status": "weird"}, "status (from status): must be one of"),
    ]
    records = [openai] + [{**openai, **change} for change, _ in bad]
    path = write_csv(tmp_path / "spend.csv", records)
    db = tmp_path / "warehouse.duckdb"

    [result] = run_ingest_logs(db, [str(path)])[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 1, 6)
    rejects = rows(db, "SELECT source_row, reason, raw_record FROM raw.rejects ORDER BY source_row")
    assert [r[0] for r in rejects] == [3, 4, 5, 6, 7, 8]  # the header is line 1, the good row line 2
    for (_, expected), (_, reason, raw_record) in zip(bad, rejects, strict=True):
        assert reason.startswith(expected)
        assert not any(secret in raw_record for secret in SECRETS)
        assert json.loads(raw_record)["request_id"]  # the ids and counts are kept to find the row
    # Loading the same file again changes nothing.
    [again] = run_ingest_logs(db, [str(path)])[0]
    assert again.status == "already loaded"


def test_nothing_of_prompts_or_responses_reaches_the_warehouse(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    for name in ("litellm_spendlogs.csv", "litellm_spendlogs.jsonl", "litellm_spendlogs.parquet"):
        run_ingest_logs(db, [str(ADAPTERS / name)])
    text = " ".join(str(r) for r in rows(db, "SELECT * FROM raw.calls") + rows(db, "SELECT * FROM raw.rejects"))
    assert "sess-1" in text
    assert not any(secret in text for secret in SECRETS)


def test_a_forced_format_the_file_does_not_have_is_refused(tmp_path):
    canonical = ADAPTERS / "litellm_calls.jsonl"
    [result] = run_ingest_logs(tmp_path / "w.duckdb", [str(canonical)], log_format="litellm")[0]
    assert result.status == "failed"
    assert "not a LiteLLM SpendLogs export: no request_id, startTime columns" in result.error
    with pytest.raises(UserError, match="--format nope: unknown"):
        run_ingest_logs(tmp_path / "w.duckdb", [str(canonical)], log_format="nope")


def test_a_gzipped_litellm_jsonl_loads(tmp_path):
    import gzip

    path = tmp_path / "spend.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write((ADAPTERS / "litellm_spendlogs.jsonl").read_bytes())
    [result] = run_ingest_logs(tmp_path / "w.duckdb", [str(path)])[0]
    assert (result.format, result.rows_loaded) == ("litellm.jsonl.gz", 6)


# -- OpenTelemetry ----------------------------------------------------------------------

OTEL_COSTS = {
    # served by gpt-4.1-2025-04-14: 200 × 2 + 1000 cached × 0.5 + 300 × 8 = 3300 / 1e6
    "c000000000000001": Decimal("0.0033"),
    # input_tokens 3700 includes the 3000 read and 500 written (no TTL attribute: 5-minute):
    # 200 × 3 + 3000 × 0.3 + 500 × 3.75 + 400 × 15 = 9375 / 1e6
    "c000000000000002": Decimal("0.009375"),
    "c000000000000003": Decimal("0"),  # rate limited
    # the deprecated prompt_tokens / completion_tokens: 500 × 2 + 200 × 8 = 2600 / 1e6
    "c000000000000004": Decimal("0.0026"),
}


def otlp_lines(tmp_path: Path) -> Path:
    """The collector's file exporter: one OTLP document per line."""
    document = json.loads((ADAPTERS / "otel_traces.json").read_text())
    path = tmp_path / "traces.jsonl"
    path.write_text(json.dumps(document) + "\n")
    return path


def gzipped(tmp_path: Path) -> Path:
    import gzip

    path = tmp_path / "traces.json.gz"
    path.write_bytes(gzip.compress((ADAPTERS / "otel_traces.json").read_bytes()))
    return path


@pytest.mark.parametrize(
    "export",
    [
        lambda tmp: ADAPTERS / "otel_traces.json",
        lambda tmp: ADAPTERS / "otel_spans.jsonl",
        otlp_lines,
        gzipped,
    ],
    ids=["otlp-json", "flat-jsonl", "otlp-jsonl", "otlp-json-gz"],
)
def test_otel_export_gives_the_same_call_costs_as_the_canonical_log(tmp_path, catalog, export):
    canonical = tmp_path / "canonical" / "warehouse.duckdb"
    load_and_build(canonical, catalog, ADAPTERS / "otel_calls.jsonl")
    adapted = tmp_path / "adapted" / "warehouse.duckdb"
    [result] = load_and_build(adapted, catalog, export(tmp_path))

    # 7 spans: the agent span and the two tool spans are not calls.
    assert (result.format.split(".")[0], result.rows_read, result.rows_loaded) == ("otel", 4, 4)
    assert call_costs(adapted) == call_costs(canonical)
    assert dict(rows(adapted, "SELECT call_id, cost_usd FROM marts.call_costs")) == OTEL_COSTS
    # The two execute_tool spans under the first chat span are its tool calls.
    assert rows(adapted, "SELECT call_id, tool_calls FROM raw.calls WHERE tool_calls > 0") == [("c000000000000001", 2)]
    text = " ".join(str(r) for r in rows(adapted, "SELECT * FROM raw.calls"))
    assert not any(secret in text for secret in SECRETS)


def test_otel_route_from_an_attribute(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    [result] = run_ingest_logs(db, [str(ADAPTERS / "otel_spans.jsonl")], route_from="service.name")[0]
    # service.name is a resource attribute, not a span's: no span carries it, every call is rejected.
    assert (result.rows_loaded, result.rows_rejected) == (0, 4)
    assert rows(db, "SELECT DISTINCT reason FROM raw.rejects") == [("route (from service.name): required, missing",)]
    db2 = tmp_path / "w2.duckdb"
    [result] = run_ingest_logs(db2, [str(ADAPTERS / "otel_spans.jsonl")], route_from="gen_ai.provider.name")[0]
    # The agent span's attribute routes its children; the old gen_ai.system spans have none.
    assert rows(db2, "SELECT call_id, route FROM raw.calls ORDER BY call_id") == [
        ("c000000000000001", "openai"),
        ("c000000000000002", "anthropic"),
    ]


def test_otel_spans_that_cannot_map_are_rejected_naming_the_source_field(tmp_path):
    spans = [json.loads(line) for line in (ADAPTERS / "otel_spans.jsonl").read_text().splitlines()]
    chat = spans[1]  # a chat span whose attributes hold the prompt and the answer

    def changed(span_id: str, **change) -> dict:
        span = json.loads(json.dumps(chat))
        span["span_id"] = span_id
        for key, value in change.items():
            if key == "attributes":
                span["attributes"].update(value)
            else:
                span[key] = value
        return span

    bad = [
        (changed("no-trace", trace_id=None), "action_id (from traceId): required, missing"),
        (
            changed("no-model", attributes={"gen_ai.request.model": None, "gen_ai.response.model": None}),
            "model (from gen_ai.response.model or gen_ai.request.model): required, missing",
        ),
        (
            changed(
                "negative", attributes={"gen_ai.usage.output_tokens": -3, "gen_ai.usage.reasoning.output_tokens": 0}
            ),
            "output_tokens (from gen_ai.usage.output_tokens): must be >= 0, got -3",
        ),
        (
            changed("bad-time", start_time_unix_nano="yesterday"),
            "startTimeUnixNano: must be nanoseconds since 1970, got yesterday",
        ),
    ]
    path = tmp_path / "spans.jsonl"
    path.write_text("".join(json.dumps(span) + "\n" for span in [chat, *(b for b, _ in bad)]) + "{SECRET-PROMPT\n")
    db = tmp_path / "warehouse.duckdb"

    [result] = run_ingest_logs(db, [str(path)])[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 1, 5)
    rejects = rows(db, "SELECT source_row, reason, raw_record FROM raw.rejects ORDER BY source_row")
    assert [r[1] for r in rejects[:4]] == [reason for _, reason in bad]
    assert rejects[4][:2] == (6, "not valid JSON")
    assert not any(secret in str(rejects) for secret in SECRETS)


# -- Langfuse ---------------------------------------------------------------------------

LANGFUSE_COSTS = {
    # buckets input 200 + input_cached_tokens 1000 = 1200 in; output 200 + reasoning 100 = 300 out:
    # 200 × 2 + 1000 × 0.5 + 300 × 8 = 3300 / 1e6
    "gen-1": Decimal("0.0033"),
    # 200 + read 3000 + write 300 (5m) + write 200 (1h) = 3700 in:
    # 200 × 3 + 3000 × 0.3 + 300 × 3.75 + 200 × 6 + 400 × 15 = 9825 / 1e6
    "gen-2": Decimal("0.009825"),
    "gen-3": Decimal("0"),  # rate limited
}


@pytest.mark.parametrize("name", ["langfuse_observations.jsonl", "langfuse_observations.csv"])
def test_langfuse_export_gives_the_same_call_costs_as_the_canonical_log(tmp_path, catalog, name):
    canonical = tmp_path / "canonical" / "warehouse.duckdb"
    load_and_build(canonical, catalog, ADAPTERS / "langfuse_calls.jsonl")
    adapted = tmp_path / "adapted" / "warehouse.duckdb"
    [result] = load_and_build(adapted, catalog, ADAPTERS / name)

    # 6 observations: the span, the tool and the event are not calls.
    assert (result.rows_read, result.rows_loaded) == (3, 3)
    assert call_costs(adapted) == call_costs(canonical)
    assert dict(rows(adapted, "SELECT call_id, cost_usd FROM marts.call_costs")) == LANGFUSE_COSTS
    text = " ".join(str(r) for r in rows(adapted, "SELECT * FROM raw.calls"))
    assert not any(secret in text for secret in SECRETS)


def test_langfuse_buckets_that_cannot_map_are_rejected_naming_the_source_field(tmp_path):
    generation = json.loads((ADAPTERS / "langfuse_observations.jsonl").read_text().splitlines()[1])
    bad = [
        ({"id": "negative", "usageDetails": {"input": -5, "output": 1}}, "usageDetails.input: must be an integer >= 0"),
        (
            {"id": "no-model", "providedModelName": None, "model": None, "metadata": {"provider": "openai"}},
            "model (from providedModelName): required, missing",
        ),
        ({"id": "no-trace", "traceId": None}, "action_id (from traceId): required, missing"),
        ({"id": "unknown-provider", "providedModelName": "house-model-7"}, "provider (from metadata.provider"),
    ]
    path = tmp_path / "observations.jsonl"
    path.write_text("".join(json.dumps({**generation, **change}) + "\n" for change, _ in bad))
    db = tmp_path / "warehouse.duckdb"

    [result] = run_ingest_logs(db, [str(path)])[0]
    assert (result.rows_read, result.rows_rejected) == (4, 4)
    rejects = rows(db, "SELECT reason, raw_record FROM raw.rejects ORDER BY source_row")
    for (_, expected), (reason, raw_record) in zip(bad, rejects, strict=True):
        assert reason.startswith(expected), reason
        assert not any(secret in raw_record for secret in SECRETS)


# -- token conventions ------------------------------------------------------------------


def test_token_convention_matrix(tmp_path, catalog):
    """One Anthropic call written four ways: 200 uncached input tokens, 3000 read from the cache,
    300 written with a 5-minute and 200 with a 1-hour TTL, 400 output of which 100 reasoning.

    Canonical: input 3700 (= 200 + 3000 + 300 + 200), cached 3000, cache writes 500 (1h: 200),
    output 400, reasoning 100. Cost: 200 × 3 + 3000 × 0.3 + 300 × 3.75 + 200 × 6 + 400 × 15
    = 600 + 900 + 1125 + 1200 + 6000 = 9825 per 1e6 → $0.009825. OpenTelemetry has no TTL
    attribute, so its 500 writes are all 5-minute: 600 + 900 + 1875 + 6000 = 9375 → $0.009375.
    """
    litellm = list(csv.DictReader((ADAPTERS / "litellm_spendlogs.csv").open()))[1]
    usage_inclusive = {  # OpenAI-shaped usage: prompt_tokens holds the cache
        "prompt_tokens": 3700,
        "completion_tokens": 400,
        "prompt_tokens_details": {"cached_tokens": 3000},
        "cache_creation_input_tokens": 500,
        "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 200},
        "completion_tokens_details": {"reasoning_tokens": 100},
    }
    usage_exclusive = {  # Anthropic-shaped usage: input_tokens beside the cache
        "input_tokens": 200,
        "output_tokens": 400,
        "cache_read_input_tokens": 3000,
        "cache_creation_input_tokens": 500,
        "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 200},
        "completion_tokens_details": {"reasoning_tokens": 100},
    }
    records = []
    for call_id, usage, prompt_tokens in (("inclusive", usage_inclusive, "3700"), ("exclusive", usage_exclusive, "")):
        metadata = {**json.loads(litellm["metadata"]), "usage_object": usage}
        records.append(
            {**litellm, "request_id": call_id, "prompt_tokens": prompt_tokens, "metadata": json.dumps(metadata)}
        )
    litellm_path = write_csv(tmp_path / "litellm.csv", records)

    observation = json.loads((ADAPTERS / "langfuse_observations.jsonl").read_text().splitlines()[4])
    observation.update(
        id="bucketed",
        usageDetails={
            "input": 200,
            "cache_read_input_tokens": 3000,
            "input_cache_creation_5m": 300,
            "input_cache_creation_1h": 200,
            "output": 300,
            "output_reasoning_tokens": 100,
            "total": 4100,
        },
    )
    langfuse_path = tmp_path / "langfuse.jsonl"
    langfuse_path.write_text(json.dumps(observation) + "\n")

    span = json.loads((ADAPTERS / "otel_spans.jsonl").read_text().splitlines()[4])  # the Anthropic chat span
    span["span_id"] = "otel-inclusive"
    span["attributes"]["gen_ai.usage.reasoning.output_tokens"] = 100
    otel_path = tmp_path / "otel.jsonl"
    otel_path.write_text(json.dumps(span) + "\n")

    db = tmp_path / "warehouse.duckdb"
    load_and_build(db, catalog, litellm_path, langfuse_path, otel_path)
    got = rows(
        db,
        """SELECT call_id, input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens,
            output_tokens, reasoning_tokens, cost_usd FROM marts.call_costs ORDER BY call_id""",
    )
    assert got == [
        ("bucketed", 3700, 3000, 500, 200, 400, 100, Decimal("0.009825")),
        ("exclusive", 3700, 3000, 500, 200, 400, 100, Decimal("0.009825")),
        ("inclusive", 3700, 3000, 500, 200, 400, 100, Decimal("0.009825")),
        ("otel-inclusive", 3700, 3000, 500, 0, 400, 100, Decimal("0.009375")),
    ]


# -- the demo ---------------------------------------------------------------------------


def test_the_demo_written_partly_as_litellm_and_otel_logs_gives_the_same_marts(tmp_path):
    """One gateway's calls as LiteLLM SpendLogs, one route's as OTLP spans: the same costs and metrics."""
    from datetime import date

    from pipelines.demo.files import write_demo

    end = date(2026, 11, 29)
    catalog = Path(__file__).resolve().parent.parent / "pricing" / "catalog.yaml"
    plain = write_demo(tmp_path / "plain", 12_000, seed=3, end=end, weeks=6)
    mixed = write_demo(tmp_path / "mixed", 12_000, seed=3, end=end, weeks=6, adapter_logs=True)
    # every week but the one with the data-quality issues
    assert sum(p.parent.name == "litellm" for p in mixed) == sum(p.parent.name == "otel" for p in mixed) == 5

    results = {}
    for name, files in (("plain", plain), ("mixed", mixed)):
        db = tmp_path / name / "warehouse.duckdb"
        results[name] = load_and_build(db, catalog, *files)
    litellm_loads = [r for r in results["mixed"] if r.format == "litellm.csv"]
    assert sum(r.rows_loaded for r in litellm_loads) > 1000 and not any(r.rows_rejected for r in litellm_loads)
    otel_loads = [r for r in results["mixed"] if r.format == "otel.json"]
    assert sum(r.rows_loaded for r in otel_loads) > 100 and not any(r.rows_rejected for r in otel_loads)
    # Calls not traced keep their ids: every one of them is the same call, cost and action.
    not_traced = "route <> 'summarization'"
    for table in ("marts.call_costs", "marts.action_costs"):
        # Which load a call came from differs, by design; nothing else may.
        columns = "* EXCLUDE (load_id)" if table == "marts.call_costs" else "*"
        query = f"SELECT {columns} FROM {table} WHERE {not_traced}"
        first = sorted(map(str, rows(tmp_path / "plain" / "warehouse.duckdb", query)))
        assert first == sorted(map(str, rows(tmp_path / "mixed" / "warehouse.duckdb", query))), table
    # Traced calls become spans (new ids, no team or feature): the route's weekly metrics stay.
    query = "SELECT * FROM marts.route_weekly"
    first = sorted(map(str, rows(tmp_path / "plain" / "warehouse.duckdb", query)))
    assert first == sorted(map(str, rows(tmp_path / "mixed" / "warehouse.duckdb", query)))


def test_the_cli_takes_format_and_route_from(tmp_path):
    from tests.conftest import run_cli

    db = tmp_path / "warehouse.duckdb"
    spans = str(ADAPTERS / "otel_spans.jsonl")
    result = run_cli("ingest", "logs", spans, "--format", "otel", "--route-from", "gen_ai.agent.name", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "otel.jsonl" in result.stdout
    refused = run_cli("ingest", "logs", spans, "--format", "helicone", "--db", str(db))
    assert refused.returncode == 2
    assert "--format helicone: unknown (expected one of canonical, litellm, otel, langfuse)" in refused.stderr


def test_routeledger_demo_ingests_the_adapters_files(demo_db):
    db, tmp_path = demo_db, demo_db.parent
    formats = dict(rows(db, "SELECT format, sum(rows_loaded) FROM raw.loads WHERE kind = 'logs' GROUP BY format"))
    assert set(formats) == {"jsonl.gz", "parquet", "litellm.csv", "otel.json"}
    assert formats["litellm.csv"] > 0 and formats["otel.json"] > 0
    files = [p for folder in ("litellm", "otel") for p in (tmp_path / "demo" / folder).iterdir()]
    assert len(files) == 22  # 11 weeks each: every week but the one with the data-quality issues
