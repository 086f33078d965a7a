"""`routeledger ingest billing`: each format from small hand-written files with hand-computed totals."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.billing.labels import openai_line_item
from pipelines.ingest.billing.run import run_ingest_billing
from tests.conftest import FIXTURES, rows, run_cli

BILLING = FIXTURES / "billing"


def load(db: Path, *names: str, fmt: str | None = None) -> list:
    results, _ = run_ingest_billing(db, [str(BILLING / n) if not Path(n).is_absolute() else n for n in names], fmt)
    return results


# -- OpenAI Costs API ------------------------------------------------------------------


def test_openai_costs_load_in_dollars_exactly(db):
    (result,) = load(db, "openai_costs.json")
    assert (result.format, result.status, result.rows_read, result.rows_loaded) == ("openai_costs", "loaded", 6, 6)
    # 0.123456789012 + 0.01 + 1.6 + 0.25 + 0.8958740000000000 + 2.000000000001 = 4.879330789013 (no float residue)
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("4.879330789013"),)]
    assert rows(
        db,
        """SELECT x_ModelIdRaw, x_TokenDirection, x_TokenCacheAction, x_TokenCount, BillingCurrency, SubAccountId,
            strftime(ChargePeriodStart, '%Y-%m-%d %H:%M'), strftime(ChargePeriodEnd, '%Y-%m-%d')
        FROM raw.billing_lines WHERE source_row IN (1, 2, 4, 5) ORDER BY source_row""",
    ) == [
        ("gpt-4.1-mini-2025-04-14", "Input", "Uncached", 307641, "USD", "proj_a", "2026-11-02 00:00", "2026-11-03"),
        # quantity 100 in 1000_tokens
        ("gpt-4.1-mini-2025-04-14", "Input", "Read", 100_000, "USD", "proj_a", "2026-11-02 00:00", "2026-11-03"),
        # web search tool calls: no model, no token class, kept
        (None, None, None, None, "USD", "proj_a", "2026-11-02 00:00", "2026-11-03"),
        # no project: the organisation
        ("gpt-4.1-2025-04-14", "Output", None, None, "USD", "org", "2026-11-03 00:00", "2026-11-04"),
    ]
    assert rows(db, "SELECT x_AmountRaw, x_AmountScale FROM raw.billing_lines WHERE source_row = 5") == [
        ("0.895874", "major")
    ]


LINE_ITEMS = [
    # line_item, (model, direction, cache action, service tier, context tier)
    ("gpt-4o-mini-2024-07-18, input", ("gpt-4o-mini-2024-07-18", "Input", "Uncached", None, None)),
    ("gpt-4o-mini-2024-07-18, cached input", ("gpt-4o-mini-2024-07-18", "Input", "Read", None, None)),
    ("gpt-4.1-2025-04-14, output", ("gpt-4.1-2025-04-14", "Output", None, None, None)),
    ("gpt-4o-2024-08-06, Input", ("gpt-4o-2024-08-06", "Input", "Uncached", None, None)),
    ("gpt-4o-2024-08-06, Output", ("gpt-4o-2024-08-06", "Output", None, None, None)),
    ("ft-gpt-4o-2024-08-06, input", ("ft-gpt-4o-2024-08-06", "Input", "Uncached", None, None)),
    ("priority | gpt-5.6-sol, output, long context", ("gpt-5.6-sol", "Output", None, "priority", "long_context")),
    ("gpt-audio-mini-2025-12-15 audio, input", ("gpt-audio-mini-2025-12-15", "Input", "Uncached", None, None)),
    # not a token line: the model is kept, the class is not guessed
    ("whisper-1, audio", ("whisper-1", None, None, None, None)),
    ("web search tool calls", (None, None, None, None, None)),
    ("Vector storage", (None, None, None, None, None)),
    ("gpt-4o, input tokens maybe", ("gpt-4o", None, None, None, None)),
]


@pytest.mark.parametrize(("line_item", "expected"), LINE_ITEMS)
def test_openai_line_item_parse(line_item, expected):
    con = duckdb.connect()
    parsed = con.execute(f"SELECT {openai_line_item('x')} FROM (SELECT ?::VARCHAR AS x)", [line_item]).fetchone()[0]
    got = tuple(parsed[k] for k in ("model", "direction", "cache_action", "service_tier", "context_tier"))
    assert got == expected


CLOUD_LABELS = [
    # parser, label, (model as billed, direction, cache action, TTL, service tier)
    ("bedrock", "USE1-Claude4.6Sonnet-input-tokens", ("Claude4.6Sonnet", "Input", "Uncached", None, "standard")),
    ("bedrock", "USE1-Claude4.6Opus-output-tokens-batch", ("Claude4.6Opus", "Output", None, None, "batch")),
    ("bedrock", "USE1-Nova2.0Lite-cache-read-input-token-count", ("Nova2.0Lite", "Input", "Read", None, "standard")),
    (
        "bedrock",
        "USW2-Claude4.6Sonnet-cache-write-input-token-count-1h-cross-region-global",
        ("Claude4.6Sonnet", "Input", "Write", "1h", "standard"),
    ),
    (
        "bedrock",
        "USE1-openai.gpt-oss-120b-mantle-input-tokens-standard",
        ("openai.gpt-oss-120b", "Input", "Uncached", None, "standard"),
    ),
    ("bedrock", "USE1-MP:USE1_InputTokenCount-Units", (None, None, None, None, None)),  # no model in it: kept
    ("bedrock", "USE1-NovaCanvas-T2I-1024-Premium", (None, None, None, None, None)),  # images, not tokens
    ("azure", "gpt 4o 0513 Input global Tokens", ("gpt 4o 0513", "Input", "Uncached", None, "standard")),
    ("azure", "gpt-4o-mini-0718-Inp-glbl Tokens", ("gpt-4o-mini-0718", "Input", "Uncached", None, "standard")),
    ("azure", "gpt 4o 1120 cached Inp glbl", ("gpt 4o 1120", "Input", "Read", None, "standard")),
    ("azure", "gpt-4o-mini-0718-Outp-glbl Tokens", ("gpt-4o-mini-0718", "Output", None, None, "standard")),
    ("azure", "o3 Inpt DZone 1M Tokens", ("o3", "Input", "Uncached", None, "standard")),
    ("azure", "GPT 4.1 nano Global Input", ("GPT 4.1 nano", "Input", "Uncached", None, "standard")),
    ("azure", "gpt-4-8K-Batch-Inp-glbl Tokens", ("gpt-4-8K", "Input", "Uncached", None, "batch")),
    ("azure", "Provisioned Managed Unit", (None, None, None, None, None)),  # capacity, not tokens
    ("vertex", "Gemini 2.5 Flash GA Text Input - Predictions", ("Gemini 2.5 Flash", "Input", "Uncached", None, None)),
    (
        "vertex",
        "Gemini 2.5 Flash GA Thinking Text Output - Predictions",
        ("Gemini 2.5 Flash", "Output", None, None, None),
    ),
    ("vertex", "Gemini 2.5 Flash GA Input Text Caching", ("Gemini 2.5 Flash", "Input", "Read", None, None)),
    ("vertex", "Gemini 3 Flash Text Input Caching Storage", ("Gemini 3 Flash", None, "Other", None, None)),  # hours
    (
        "vertex",
        "Gemini 3.7 Flash Global Text Input - Predictions",
        ("Gemini 3.7 Flash", "Input", "Uncached", None, None),
    ),
    ("vertex", "Vertex AI: Provisioned Throughput 1 month", (None, None, None, None, None)),
]


@pytest.mark.parametrize(("parser", "label", "expected"), CLOUD_LABELS)
def test_cloud_label_parse(parser, label, expected):
    from pipelines.ingest.billing import labels

    parse = {"bedrock": labels.bedrock_usage_type, "azure": labels.azure_meter, "vertex": labels.vertex_sku}[parser]
    con = duckdb.connect()
    parsed = con.execute(f"SELECT {parse('x')} FROM (SELECT ?::VARCHAR AS x)", [label]).fetchone()[0]
    assert tuple(parsed[k] for k in ("model", "direction", "cache_action", "cache_ttl", "service_tier")) == expected


# -- Anthropic cost report -------------------------------------------------------------


def test_anthropic_cost_report_is_cents_and_a_bad_amount_is_one_reject(db):
    (result,) = load(db, "anthropic_cost_report.json")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 5, 1)
    # cents: 123.78912 + 0.5 + 250 + 1000 + 0.00001 = 1374.28913 -> $13.7428913 (not $1374.28913)
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("13.7428913"),)]
    assert rows(
        db,
        """SELECT source_row, x_TokenDirection, x_TokenCacheAction, x_CacheTtl, SkuMeter, SubAccountId, x_AmountScale
        FROM raw.billing_lines ORDER BY source_row""",
    ) == [
        (1, "Input", "Uncached", None, "Input Tokens", "wrkspc_01", "minor_cents"),
        (2, "Input", "Read", None, "Cache Read Input Tokens", "wrkspc_01", "minor_cents"),
        (3, "Output", None, None, "Output Tokens", "default", "minor_cents"),  # null workspace: the default one
        (4, None, None, None, "Web Search Requests", "wrkspc_01", "minor_cents"),
        (5, "Input", "Write", "1h", "Cache Write Input Tokens", "wrkspc_01", "minor_cents"),
    ]
    ((source_row, reason, record),) = rows(db, "SELECT source_row, reason, raw_record FROM raw.rejects")
    assert (source_row, reason) == (6, "amount: not a decimal number: 12,5")
    assert json.loads(record)["token_type"] == "cache_creation.ephemeral_5m_input_tokens"
    assert rows(db, "SELECT kind, format, rows_read, rows_loaded, rows_rejected FROM raw.loads") == [
        ("billing", "anthropic_cost_report", 6, 5, 1)
    ]


# -- the promises every ingest keeps -----------------------------------------------------


def test_the_same_file_again_changes_nothing(db):
    load(db, "openai_costs.json")
    (again,) = load(db, "openai_costs.json")
    assert again.status == "already loaded"
    assert rows(db, "SELECT count(*), sum(BilledCost) FROM raw.billing_lines") == [(6, Decimal("4.879330789013"))]
    assert rows(db, "SELECT count(*) FROM raw.loads") == [(1,)]


def test_an_unknown_file_exits_2_naming_it(tmp_path, db):
    stray = tmp_path / "notes.json"
    stray.write_text('{"hello": [1, 2]}\n')
    result = run_cli("ingest", "billing", str(stray), "--db", str(db))
    assert result.returncode == 2
    assert f"{stray}: not a billing export" in result.stderr


def test_the_cli_loads_a_directory_and_prints_the_summary(tmp_path, db):
    folder = tmp_path / "bills"
    folder.mkdir()
    shutil.copy(BILLING / "openai_costs.json", folder)
    shutil.copy(BILLING / "anthropic_cost_report.json", folder)
    result = run_cli("ingest", "billing", str(folder), "--db", str(db), check=True)
    assert "openai_costs" in result.stdout and "anthropic_cost_report" in result.stdout
    assert rows(db, "SELECT count(*) FROM raw.billing_lines") == [(11,)]


# -- FOCUS -------------------------------------------------------------------------------


def test_the_focus_sample_loads_with_its_quirks(db):
    """The real FOCUS 1.0 sample: literal NULLs and T-less timestamps load; shifted Microsoft rows are rejected."""
    (result,) = load(db, "focus_sample_1.0_1000rows.csv")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1000, 949, 51)
    # the 51 Microsoft rows hold a unit price in AvailabilityZone: their columns slid
    assert rows(
        db,
        "SELECT count(*) FROM raw.rejects "
        "WHERE reason LIKE 'AvailabilityZone: holds a number (%): the row''s columns are shifted'",
    ) == [(51,)]
    assert rows(db, "SELECT count(*) FROM raw.billing_lines WHERE ServiceProviderName = 'Microsoft'") == [(0,)]
    assert rows(db, "SELECT ChargeCategory, count(*) FROM raw.billing_lines GROUP BY ALL ORDER BY ALL") == [
        ("Adjustment", 2),
        ("Credit", 1),
        ("Usage", 946),
    ]
    # 'NULL' is NULL, and '2024-09-18 22:00:00' is UTC
    assert rows(
        db,
        """SELECT ChargeClass, strftime(ChargePeriodStart, '%Y-%m-%d %H:%M %z'), BilledCost
        FROM raw.billing_lines WHERE source_row = 2""",
    ) == [(None, "2024-09-18 22:00 +00", Decimal("0.0000008"))]
    # no LLM rows in it: nothing guessed as a model
    assert rows(db, "SELECT count(x_ModelIdRaw), count(x_TokenDirection) FROM raw.billing_lines") == [(0, 0)]


FOCUS_AI = [
    # source_row, provider, model as billed, direction, cache action, tokens, billed
    (2, "anthropic", "Claude4.6Sonnet", "Input", "Uncached", 23_000, "0.069"),  # Bedrock, 23 x 1K tokens
    (3, "anthropic", "Claude4.6Sonnet", "Output", None, 23_000, "0.345"),
    (4, "openai", "gpt-4o-mini-0718", "Input", "Uncached", 13_823, "0.00207345"),  # Azure 1K meter, 13.823 units
    (5, "openai", "o3", "Input", "Uncached", 500_000, "1.1"),  # Azure 1M meter, 0.5 units
    (6, "google", "Gemini 2.5 Flash", "Input", "Uncached", 1_065_040, "0.319512"),  # Vertex AI SKU
    (7, "mistral", "mistral-large-2411", "Input", "Uncached", 8_400_000, "42"),  # FOCUS 1.5 SkuPriceDetails
    (8, None, None, None, None, None, "3.5"),  # tax (written 'tax')
    (12, None, None, None, None, None, "-1.25"),  # credit dated 11/02/2026
]


def _focus_ai_lines(db: Path) -> list[tuple]:
    return rows(
        db,
        """SELECT source_row, x_Provider, x_ModelIdRaw, x_TokenDirection, x_TokenCacheAction, x_TokenCount,
            BilledCost FROM raw.billing_lines ORDER BY source_row""",
    )


def test_focus_ai_rows_get_model_and_token_class_and_bad_rows_their_reason(db):
    (result,) = load(db, "focus_ai.csv")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (12, 8, 4)
    assert _focus_ai_lines(db) == [(*r[:6], Decimal(r[6])) for r in FOCUS_AI]
    # 0.069 + 0.345 + 0.00207345 + 1.10 + 0.319512 + 42 + 3.50 - 1.25 = 46.08558545
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("46.08558545"),)]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == [
        (9, "BilledCost: not a decimal number: abc"),
        (10, "more columns than the 22 of the header"),
        (11, "ChargePeriodStart: missing"),
        (13, "ChargeCategory: not one of Usage, Purchase, Tax, Credit, Adjustment: Refund"),
    ]
    # FOCUS 1.2's ProviderName is 1.3's ServiceProviderName
    assert rows(db, "SELECT ServiceProviderName FROM raw.billing_lines WHERE source_row = 6") == [("Google Cloud",)]


def test_focus_parquet_loads_like_csv(tmp_path, db):
    parquet = tmp_path / "focus_ai.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * FROM read_csv('{BILLING / "focus_ai.csv"}', all_varchar=true, ignore_errors=true,
            nullstr=['NULL', '']) WHERE BilledCost <> 'abc' AND ChargePeriodStart IS NOT NULL
            AND ChargeCategory <> 'Refund') TO '{parquet}' (FORMAT parquet)"""
    )
    (result,) = load(db, str(parquet))
    assert (result.format, result.rows_read, result.rows_loaded) == ("focus", 8, 8)
    assert rows(db, "SELECT sum(BilledCost), sum(x_TokenCount) FROM raw.billing_lines") == [
        (Decimal("46.08558545"), 23_000 * 2 + 13_823 + 500_000 + 1_065_040 + 8_400_000)
    ]


def test_focus_1_5_draft_cached_tokens(db):
    """The draft's own example: cache read and write rows, model and class from SkuPriceDetails."""
    load(db, "focus_1.5_draft_cached_tokens.csv")
    assert rows(
        db,
        """SELECT x_ModelIdRaw, x_TokenDirection, x_TokenCacheAction, x_TokenCount, BilledCost
        FROM raw.billing_lines ORDER BY source_row""",
    ) == [
        ("solora-neptune-5.0", "Input", "Read", 50_000_000, Decimal("10")),
        ("solora-neptune-5.0", "Input", "Write", 15_000_000, Decimal("37.5")),
    ]


# -- usage reports (tokens, no money) ------------------------------------------------------

USAGE_SQL = """SELECT source_row, x_ModelIdRaw, x_TokenDirection, x_TokenCacheAction, x_CacheTtl, x_TokenCount,
    x_RequestCount, x_IsBatch, SubAccountId FROM raw.billing_usage ORDER BY source_row, x_TokenDirection,
    x_TokenCacheAction NULLS FIRST, x_CacheTtl"""


def test_openai_usage_splits_cached_out_of_input(db):
    (result,) = load(db, "openai_usage.json")
    assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == ("openai_usage", 3, 2, 1)
    mini, full = "gpt-4.1-mini-2025-04-14", "gpt-4.1-2025-04-14"
    assert rows(db, USAGE_SQL) == [
        # 5000 input = 1800 cached + 200 cache writes + 3000 uncached; requests on the uncached row only
        (1, mini, "Input", "Read", None, 1800, None, False, "proj_a"),
        (1, mini, "Input", "Uncached", None, 3000, 5, False, "proj_a"),
        (1, mini, "Input", "Write", None, 200, None, False, "proj_a"),
        (1, mini, "Output", None, None, 1000, None, False, "proj_a"),
        # 100 input = 20 cached + 80 uncached
        (2, full, "Input", "Read", None, 20, None, True, "org"),
        (2, full, "Input", "Uncached", None, 80, 1, True, "org"),
        (2, full, "Input", "Write", None, 0, None, True, "org"),
        (2, full, "Output", None, None, 50, None, True, "org"),
    ]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects") == [
        (3, "input_cached_tokens + input_cache_write_tokens: more than input_tokens")
    ]


def test_anthropic_usage_report_classes_are_disjoint(db):
    (result,) = load(db, "anthropic_usage_report.json")
    assert (result.format, result.rows_read, result.rows_loaded) == ("anthropic_usage_report", 2, 2)
    # 1500 uncached + 200 read + 500 5m writes + 1000 1h writes = 3200 input tokens, output 500
    assert rows(
        db,
        """SELECT x_TokenDirection, x_TokenCacheAction, x_CacheTtl, x_TokenCount FROM raw.billing_usage
        WHERE source_row = 1 ORDER BY ALL""",
    ) == [
        ("Input", "Read", None, 200),
        ("Input", "Uncached", None, 1500),
        ("Input", "Write", "1h", 1000),
        ("Input", "Write", "5m", 500),
        ("Output", None, None, 500),
    ]
    assert rows(
        db, "SELECT DISTINCT SubAccountId, x_IsBatch, x_InferenceRegion FROM raw.billing_usage WHERE source_row = 2"
    ) == [("default", True, "us")]


# -- restated exports ----------------------------------------------------------------------


def _costs_page(start: int, results: list[tuple[str, str, str | None]]) -> str:
    items = ", ".join(
        f'{{"object": "organization.costs.result", "amount": {{"value": {value}, "currency": "usd"}}, '
        f'"line_item": "{item}", "project_id": {json.dumps(project)}}}'
        for value, item, project in results
    )
    return (
        f'{{"object": "page", "data": [{{"object": "bucket", "start_time": {start}, "end_time": {start + 86400}, '
        f'"results": [{items}]}}], "has_more": false, "next_page": null}}'
    )


def test_a_restated_export_replaces_the_lines_of_its_period(tmp_path, db):
    (first,) = load(db, "openai_costs.json")
    restated = tmp_path / "openai_costs_2026-11-03.json"
    # 2026-11-03 again, with new amounts for the organisation's and proj_b's lines
    restated.write_text(
        _costs_page(
            1793664000,
            [
                ("0.9", "gpt-4.1-2025-04-14, output", None),
                ("2.5", "priority | gpt-5.6-sol, output, long context", "proj_b"),
            ],
        )
    )
    (second,) = load(db, str(restated))
    assert (second.status, second.rows_loaded, second.rows_replaced) == ("loaded", 2, 2)
    # 4.879330789013 - 0.895874 - 2.000000000001 + 0.9 + 2.5 = 5.383456789012: replaced, not added
    assert rows(db, "SELECT sum(BilledCost), count(*) FROM raw.billing_lines") == [(Decimal("5.383456789012"), 6)]
    # proj_a's lines of 2026-11-02 are not in the restated period: untouched
    assert rows(db, "SELECT count(*) FROM raw.billing_lines WHERE load_id = ?", first.load_id) == [(4,)]
    assert rows(db, "SELECT rows_replaced, replaced_load_ids FROM raw.loads WHERE load_id = ?", second.load_id) == [
        (2, str(first.load_id))
    ]
    # the earlier file again is already loaded: it does not undo the restatement
    (again,) = load(db, "openai_costs.json")
    assert again.status == "already loaded"
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("5.383456789012"),)]


def test_another_account_is_not_a_restatement(tmp_path, db):
    load(db, "openai_costs.json")
    other = tmp_path / "other_project.json"
    other.write_text(_costs_page(1793664000, [("1", "gpt-4.1-2025-04-14, input", "proj_c")]))
    (result,) = load(db, str(other))
    assert result.rows_replaced == 0
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("5.879330789013"),)]


# -- model identity of billed names ------------------------------------------------------------

EMPTY_CATALOG = "currency: USD\nmodels: []\n"


@pytest.mark.parametrize(
    ("provider", "billed", "priced"),
    [
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),  # a dated id
        ("anthropic", "Claude4.6Sonnet", "claude-sonnet-4-6"),  # a Bedrock billing name
        ("anthropic", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),  # a Bedrock model id
        ("openai", "gpt-4o-mini-0718", "gpt-4o-mini"),  # an Azure meter fragment
        ("openai", "GPT 4.1 nano", "gpt-4.1-nano"),
        ("openai", "5 mini", "gpt-5-mini"),
        ("google", "Gemini 2.5 Flash", "gemini-2.5-flash"),  # a Vertex AI SKU name
        ("openai", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ],
)
def test_billed_names_resolve_like_logged_models(prices_yaml, provider, billed, priced):
    from pipelines.prices import build_price_book
    from pipelines.prices.billed import resolve_billed

    (found,) = resolve_billed(build_price_book(prices_yaml(EMPTY_CATALOG)), [(provider, billed)])
    assert (found.provider, found.model, found.price_provider, found.price_model) == (
        provider,
        billed,
        provider,
        priced,
    )


def test_a_catalog_alias_names_a_billed_model(prices_yaml):
    from pipelines.prices import build_price_book
    from pipelines.prices.billed import resolve_billed

    catalog = prices_yaml(
        "currency: USD\nmodels:\n  - provider: amazon\n    model: nova-lite\n    aliases: [nova2.0-lite]\n"
        "    prices:\n      - {effective_from: 2026-01-01, input: 0.06, output: 0.24}\n"
    )
    (found,) = resolve_billed(build_price_book(catalog), [("amazon", "Nova2.0Lite")])
    assert (found.price_model, found.matched_by) == ("nova-lite", "catalog alias")


def test_the_build_maps_billed_names_and_data_health_lists_the_unmapped(db, prices_yaml):
    from pipelines.build import run_build

    load(db, "focus_ai.csv", "focus_1.5_draft_cached_tokens.csv")
    run_build(db, prices_yaml(EMPTY_CATALOG))
    assert rows(
        db,
        """SELECT provider, model, price_provider, price_model FROM raw.model_map ORDER BY provider, model""",
    ) == [
        ("anthropic", "Claude4.6Sonnet", "anthropic", "claude-sonnet-4-6"),
        ("google", "Gemini 2.5 Flash", "google", "gemini-2.5-flash"),
        ("mistral", "mistral-large-2411", "mistral", "mistral-large"),
        ("openai", "gpt-4o-mini-0718", "openai", "gpt-4o-mini"),
        ("openai", "o3", "openai", "o3"),
    ]
    # the draft's illustrative vendor has no provider routeledger knows: listed, never dropped
    assert rows(
        db, "SELECT subject, n_rows, detail FROM marts.data_health WHERE check_name = 'unmapped billing names'"
    ) == [("?/solora-neptune-5.0", 2, "no provider recognised for this billed name")]
    result = run_cli("prices", "check", "--db", str(db), "--prices", str(prices_yaml(EMPTY_CATALOG)))
    assert result.returncode == 0, result.stderr
    assert "?/solora-neptune-5.0" in result.stdout


def test_the_openai_dashboard_cost_csv(db):
    (result,) = load(db, "openai_dashboard_costs.csv")
    assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == ("openai_costs_csv", 5, 3, 2)
    # 0.8958740000000000 + 0.12345678901200000 + 0.01 = 1.029330789012
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("1.029330789012"),)]
    assert rows(
        db,
        """SELECT x_TokenDirection, x_TokenCacheAction, SubAccountId, BillingAccountId,
            strftime(ChargePeriodStart, '%Y-%m-%d %H:%M') FROM raw.billing_lines ORDER BY source_row""",
    ) == [
        ("Input", "Uncached", "proj_4BhN", "org-abc", "2025-10-05 00:00"),
        ("Output", None, "proj_4BhN", "org-abc", "2025-10-05 00:00"),
        ("Input", "Read", "org", "org-abc", "2025-10-05 00:00"),
    ]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects ORDER BY source_row") == [
        (5, "empty row: a day without charges"),
        (6, "amount_value: not a decimal number: n/a"),
    ]


def test_format_forced_and_gzip(tmp_path, db):
    import gzip

    packed = tmp_path / "costs.json.gz"
    packed.write_bytes(gzip.compress((BILLING / "openai_costs.json").read_bytes()))
    result = run_cli("ingest", "billing", str(packed), "--format", "openai_costs", "--db", str(db), check=True)
    assert "openai_costs" in result.stdout
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("4.879330789013"),)]
    wrong = run_cli("ingest", "billing", str(packed), "--format", "sap", "--db", str(db))
    assert wrong.returncode == 2 and "--format sap: unknown" in wrong.stderr


def test_an_openai_amount_that_is_not_a_number_is_one_reject(tmp_path, db):
    costs = tmp_path / "costs.json"
    costs.write_text(
        _costs_page(
            1793577600, [("0.25", "gpt-4.1-2025-04-14, input", "p"), ('"n/a"', "gpt-4.1-2025-04-14, output", "p")]
        )
    )
    (result,) = load(db, str(costs))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert rows(db, "SELECT sum(BilledCost) FROM raw.billing_lines") == [(Decimal("0.25"),)]
    assert rows(db, "SELECT source_row, reason FROM raw.rejects") == [(2, "amount.value: not a decimal number: n/a")]


def test_a_broken_file_fails_alone_and_the_run_exits_2(tmp_path, db):
    folder = tmp_path / "bills"
    folder.mkdir()
    shutil.copy(BILLING / "anthropic_cost_report.json", folder)
    (folder / "truncated.json").write_text('{"data": [{"starting_at": "2026-11-02T00:00:00Z", "results": [')
    result = run_cli("ingest", "billing", str(folder), "--db", str(db))
    assert result.returncode == 2
    assert f"{folder / 'truncated.json'}: cannot read as json" in result.stderr
    assert rows(db, "SELECT format, rows_loaded FROM raw.loads") == [("anthropic_cost_report", 5)]


def _focus_file(path: Path, issuer: str, cost: str) -> Path:
    path.write_text(
        "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,InvoiceIssuerName,SubAccountId\n"
        f"{cost},USD,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,Usage,{issuer},\n"
        f"{cost},USD,2026-11-02T00:00:00Z,2026-11-03T00:00:00Z,Usage,{issuer},\n"
    )
    return path


def test_a_restated_focus_export_replaces_only_its_issuer_and_account(tmp_path, db):
    load(db, str(_focus_file(tmp_path / "aws_v1.csv", "AWS", "1.00")))
    # another cloud, the same empty account and days: not a restatement
    (other,) = load(db, str(_focus_file(tmp_path / "azure.csv", "Microsoft", "2.00")))
    assert other.rows_replaced == 0
    (restated,) = load(db, str(_focus_file(tmp_path / "aws_v2.csv", "AWS", "1.50")))
    assert restated.rows_replaced == 2
    # AWS 2 x 1.50 + Microsoft 2 x 2.00 = 7.00
    assert rows(db, "SELECT sum(BilledCost), count(*) FROM raw.billing_lines") == [(Decimal("7"), 4)]


def test_a_forced_format_of_another_file_type_fails_the_file(db):
    (result,) = load(db, "openai_costs.json", fmt="focus")
    assert result.status == "failed"
    assert result.error.endswith("openai_costs.json: --format focus reads CSV or Parquet, not json")
