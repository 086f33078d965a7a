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
