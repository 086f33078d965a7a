"""`routeledger reconcile` and the reconciliation marts on a real warehouse: logs ingested,
bills inserted as `ingest billing` writes them, a build, then the command's verdict.

Catalog (tests/conftest.py ACME_CATALOG): acme/m-small, alias m-small-2026-01-01, USD 1.00
per 1M input tokens and 4.00 per 1M output tokens.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.build import run_build
from pipelines.ingest.logs import run_ingest_logs
from pipelines.raw import RAW_DDL
from tests.conftest import ACME_CATALOG, call, rows, run_cli, write_jsonl


def insert_billing_lines(db: Path, lines: list[dict]) -> None:
    """Billing lines as `ingest billing` loads them (one load of format focus)."""
    con = duckdb.connect(str(db))
    try:
        con.execute("SET TimeZone = 'UTC'")
        for statement in RAW_DDL:
            con.execute(statement)
        for i, line in enumerate(lines, start=1):
            row = {"load_id": 900, "source_row": i, "x_SourceFormat": "focus", "ChargeCategory": "Usage"} | line
            names = ", ".join(f'"{name}"' for name in row)
            marks = ", ".join("?" for _ in row)
            con.execute(f"INSERT INTO raw.billing_lines ({names}) VALUES ({marks})", list(row.values()))
    finally:
        con.close()


def line(day: str, cost: str, **fields: object) -> dict:
    """One day's token line of acme/m-small, billed under its dated id, in USD."""
    return {
        "ChargePeriodStart": f"{day}T00:00:00Z",
        "ChargePeriodEnd": f"{day}T23:59:59.999999Z",
        "BillingCurrency": "USD",
        "BilledCost": Decimal(cost),
        "x_Provider": "acme",
        "x_ModelIdRaw": "m-small-2026-01-01",
        "x_TokenDirection": "Input",
        "x_TokenCacheAction": "Uncached",
    } | fields


@pytest.fixture
def logged(db: Path, tmp_path: Path, prices_yaml) -> Path:
    """03-02: 1M in + 1M out on m-small (5.00) and 2M in on its dated alias (2.00) = 7.00.
    03-03: 1M in on m-small = 1.00."""
    logs = write_jsonl(
        tmp_path / "calls.jsonl",
        [
            call("c1", "a1", "2026-03-02T10:00:00Z", input_tokens=1_000_000, output_tokens=1_000_000),
            call(
                "c2", "a2", "2026-03-02T11:00:00Z", model="m-small-2026-01-01", input_tokens=2_000_000, output_tokens=0
            ),
            call("c3", "a3", "2026-03-03T09:00:00Z", input_tokens=1_000_000, output_tokens=0),
        ],
    )
    run_ingest_logs(db, [str(logs)])
    return prices_yaml(ACME_CATALOG)


def test_reconcile_finds_the_day_billed_above_its_estimate(db: Path, logged: Path):
    # 03-02 billed 3.00 for 3M input and 4.10 for 1M output = 7.10 against 7.00 estimated:
    # delta 0.10 > max(0.01, 0.0355). At list price the billed tokens cost 7.00, as logged:
    # token gap 0, price gap 0.10, residual 0. 03-03 billed 1.00 for 1M input: ok.
    # A web search line is another charge, not part of m-small's row.
    insert_billing_lines(
        db,
        [
            line("2026-03-02", "3.00", x_TokenCount=3_000_000),
            line("2026-03-02", "4.10", x_TokenDirection="Output", x_TokenCacheAction=None, x_TokenCount=1_000_000),
            line("2026-03-03", "1.00", x_TokenCount=1_000_000),
            line("2026-03-03", "0.25", x_TokenDirection=None, x_TokenCacheAction=None, SkuMeter="Web Search Requests"),
        ],
    )
    run_build(db, logged)

    result = run_cli("reconcile", "--db", str(db), "--format", "json")
    assert result.returncode == 1, result.stderr
    assert "1 of 2 day-model rows out of tolerance" in result.stderr
    report = json.loads(result.stdout)
    assert [
        (r["day"], r["model"], r["status"], r["estimated_cost_usd"], r["billed_cost_usd"]) for r in report["daily"]
    ] == [
        ("2026-03-02", "m-small", "billed_above_estimate", "7", "7.1"),  # worst first
        ("2026-03-03", "m-small", "ok", "1", "1"),
    ]
    worst = report["daily"][0]
    assert (worst["delta_usd"], worst["token_gap_usd"], worst["price_gap_usd"], worst["residual_usd"]) == (
        "0.1",
        "0",
        "0.1",
        "0",
    )
    assert worst["billed_models"] == "m-small-2026-01-01"  # the dated billed id met the logged alias
    march = report["monthly"][0]
    assert (march["month"], march["estimated_cost_usd"], march["billed_cost_usd"], march["other_charges_usd"]) == (
        "2026-03-01",
        "8",
        "8.1",
        "0.25",
    )
    assert rows(db, "SELECT charge_kind, billed_cost_usd FROM marts.billing_other_charges") == [
        ("web_search", Decimal("0.25"))
    ]

    table = run_cli("reconcile", "--db", str(db))
    assert table.returncode == 1
    first_row = next(text for text in table.stdout.splitlines() if "2026-03-0" in text)
    assert "2026-03-02" in first_row and "billed_above_estimate" in first_row and "0.1000" in first_row

    since = run_cli("reconcile", "--db", str(db), "--since", "2026-03-03", "--format", "json")
    assert since.returncode == 0, since.stderr
    assert [r["day"] for r in json.loads(since.stdout)["daily"]] == ["2026-03-03"]


def test_unmapped_billed_name_stays_visible(db: Path, logged: Path):
    # A billed name nothing resolves: its own row, flagged, never dropped; the logged day it
    # should have met is then not billed (5.00 + 2.00 out of tolerance).
    insert_billing_lines(db, [line("2026-03-02", "7.00", x_ModelIdRaw="mystery-9000")])
    run_build(db, logged)
    assert rows(
        db, "SELECT model, is_model_mapped, status, billed_cost_usd FROM marts.reconciliation_daily ORDER BY model"
    ) == [
        ("m-small", True, "not_billed", Decimal(0)),
        ("mystery-9000", False, "not_logged", Decimal("7.00")),
    ]


def test_a_bill_in_another_currency_needs_a_rate(db: Path, logged: Path, tmp_path: Path):
    # 03-03 billed EUR 0.92 for 1.00 estimated. Without a rate: no_fx_rate, nothing assumed, exit 1.
    # With EUR at 1.087 from 2026-03-01: 0.92 x 1.087 = 1.00004 USD, delta 0.00004: ok, exit 0.
    insert_billing_lines(db, [line("2026-03-03", "0.92", BillingCurrency="EUR", x_TokenCount=1_000_000)])
    run_build(db, logged)
    assert rows(db, "SELECT day, status, billed_cost_usd, delta_usd FROM marts.reconciliation_daily") == [
        (date(2026, 3, 3), "no_fx_rate", None, None)
    ]
    assert run_cli("reconcile", "--db", str(db)).returncode == 1

    fx = tmp_path / "fx.yaml"
    fx.write_text("rates:\n  - {currency: EUR, rate_to_usd: 1.087, effective_from: 2026-03-01}\n")
    built = run_cli("build", "--db", str(db), "--prices", str(logged), "--fx", str(fx))
    assert built.returncode == 0, built.stderr
    assert rows(db, "SELECT status, billed_cost_usd FROM marts.reconciliation_daily") == [("ok", Decimal("1.00004"))]
    assert run_cli("reconcile", "--db", str(db)).returncode == 0


def test_a_broken_rates_file_stops_the_build(db: Path, logged: Path, tmp_path: Path):
    fx = tmp_path / "fx.yaml"
    fx.write_text("rates:\n  - {currency: EURO, rate_to_usd: 1.08, effective_from: 2026-03-01}\n")
    result = run_cli("build", "--db", str(db), "--prices", str(logged), "--fx", str(fx))
    assert result.returncode == 2
    assert "rates.0.currency" in result.stderr and str(fx) in result.stderr


def test_reconcile_before_any_build_says_so(db: Path, logged: Path):
    result = run_cli("reconcile", "--db", str(db))
    assert result.returncode == 2
    assert "run `routeledger build` first" in result.stderr
