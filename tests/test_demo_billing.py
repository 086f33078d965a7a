"""`routeledger demo` bills its own traffic: OpenAI Costs JSON, an Anthropic cost report and a
cloud marketplace's FOCUS CSV, ingested; the reconciliation finds the planted discrepancy
(two days of unlogged Claude Sonnet traffic) and nothing else.

The session's small demo (`demo_db` in conftest: 20,000 calls, 12 weeks).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from pipelines.focus import validate_focus
from tests.conftest import rows, run_cli


def test_the_demo_writes_and_ingests_each_providers_bill(demo_db: Path):
    bills = demo_db.parent / "demo" / "billing"
    assert sorted(p.name for p in bills.iterdir()) == [
        "anthropic_cost_report.json",
        "anthropic_usage_report.json",
        "marketplace_focus.csv",
        "openai_costs.json",
    ]
    loaded = rows(
        demo_db,
        """SELECT format, status, rows_rejected FROM raw.loads WHERE kind = 'billing' ORDER BY format""",
    )
    assert loaded == [
        ("anthropic_cost_report", "loaded", 0),
        ("anthropic_usage_report", "loaded", 0),
        ("focus", "loaded", 0),
        ("openai_costs", "loaded", 0),
    ]
    # Anthropic bills in cents: a line's BilledCost is its amount / 100, exactly.
    report = json.loads((bills / "anthropic_cost_report.json").read_text())
    first = report["data"][0]["results"][0]
    assert rows(
        demo_db,
        "SELECT BilledCost FROM raw.billing_lines WHERE x_SourceFormat = 'anthropic_cost_report' AND source_row = 1",
    ) == [(Decimal(first["amount"]) / 100,)]


def test_reconciliation_finds_the_planted_discrepancy_and_nothing_else(demo_db: Path):
    out = rows(
        demo_db,
        """SELECT provider, model, status FROM marts.reconciliation_daily
        WHERE NOT is_within_tolerance ORDER BY day""",
    )
    assert out == [("anthropic", "claude-sonnet-4-6", "billed_above_estimate")] * 2
    days = rows(
        demo_db, "SELECT day, delta_pct FROM marts.reconciliation_daily WHERE NOT is_within_tolerance ORDER BY day"
    )
    assert (days[1][0] - days[0][0]).days == 1  # two consecutive days
    assert all(abs(pct - 0.2 / 1.2) < 1e-6 for _, pct in days)  # 20% more billed than logged: 1/6 of the bill
    # The usage report counts the unlogged tokens: the token gap explains the delta (to the tokens' rounding).
    split = rows(
        demo_db,
        """SELECT delta_usd, token_gap_usd, token_gap_usd + price_gap_usd + residual_usd
        FROM marts.reconciliation_daily WHERE NOT is_within_tolerance""",
    )
    assert all(total == delta and abs(gap - delta) < Decimal("0.0001") for delta, gap, total in split)
    # Every billed name met its logged model (dated ids and aliases included); the one unmapped model is
    # the demo's unpriced reranker, logged and never billed (no price, so no bill derived from one).
    assert rows(demo_db, "SELECT DISTINCT model, status FROM marts.reconciliation_daily WHERE NOT is_model_mapped") == [
        ("acme-rerank-v1", "not_billed")
    ]


def test_each_provider_month_is_within_half_a_percent_of_its_bill(demo_db: Path):
    months = rows(demo_db, "SELECT provider, delta_usd, billed_cost_usd FROM marts.reconciliation_monthly")
    assert {p for p, _, _ in months} == {"anthropic", "deepseek", "google", "mistral", "openai"}
    assert [(p, d, b) for p, d, b in months if abs(d) > Decimal("0.005") * b] == []


def test_other_charges_stay_out_of_model_rows(demo_db: Path):
    kinds = rows(demo_db, "SELECT DISTINCT provider, charge_kind FROM marts.billing_other_charges ORDER BY ALL")
    assert kinds == [("anthropic", "web_search"), ("aura cloud", "tax"), ("openai", "web_search")]


def test_reconcile_exits_1_and_lists_the_planted_days_first(demo_db: Path):
    result = run_cli("reconcile", "--db", str(demo_db), "--format", "json")
    assert result.returncode == 1
    daily = json.loads(result.stdout)["daily"]
    assert [(r["model"], r["status"]) for r in daily[:3]] == [
        ("claude-sonnet-4-6", "billed_above_estimate"),
        ("claude-sonnet-4-6", "billed_above_estimate"),
        (daily[2]["model"], daily[2]["status"]),
    ]
    assert daily[2]["is_within_tolerance"] is True


def test_the_demo_exports_valid_focus(demo_db: Path, tmp_path: Path):
    target = tmp_path / "demo_focus.parquet"
    result = run_cli("export", "focus", "--db", str(demo_db), "-o", str(target))
    assert result.returncode == 0, result.stderr
    problems, written = validate_focus(target)
    assert problems == []
    estimated = rows(demo_db, "SELECT sum(cost_usd) FROM marts.call_costs WHERE is_priced")[0][0]
    assert rows(demo_db, f"SELECT sum(BilledCost) FROM read_parquet('{target}')") == [(estimated,)]
    assert written > 0
