"""`routeledger export focus`: estimated costs as FOCUS 1.3 rows, written, read back and validated.

Catalog (tests/conftest.py ACME_CATALOG), acme/m-small per 1M tokens: input 1.00, cached
input 0.10, cache write 1.25, output 4.00.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.build import run_build
from pipelines.focus import validate_focus
from pipelines.ingest.logs import run_ingest_logs
from tests.conftest import ACME_CATALOG, call, run_cli, write_jsonl

TAGS = {"team": "search", "project": "p1", "feature": "faq"}


@pytest.fixture
def built(db: Path, tmp_path: Path, prices_yaml) -> Path:
    """03-02, tagged: c1 1M input (200,000 cached, 100,000 cache writes) and 500,000 output;
    c2 300,000 input. 03-03, untagged: c3 1,000 input, 100 output. A response-cache hit
    and an unpriced call are no charge and stay out."""
    logs = write_jsonl(
        tmp_path / "calls.jsonl",
        [
            call("c1", "a1", "2026-03-02T10:00:00Z", input_tokens=1_000_000, cached_input_tokens=200_000,
                 cache_write_tokens=100_000, output_tokens=500_000, **TAGS),
            call("c2", "a2", "2026-03-02T23:00:00Z", input_tokens=300_000, output_tokens=0, **TAGS),
            call("c3", "a3", "2026-03-03T01:00:00Z", input_tokens=1_000, output_tokens=100),
            call("c4", "a4", "2026-03-03T02:00:00Z", response_cache_hit=True),
            call("c5", "a5", "2026-03-03T03:00:00Z", model="m-mystery"),
        ],
    )  # fmt: skip
    run_ingest_logs(db, [str(logs)])
    run_build(db, prices_yaml(ACME_CATALOG))
    return db


def read_back(path: Path) -> list[dict]:
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        reader = "read_parquet(?)" if path.suffix == ".parquet" else "read_csv(?, header = true, all_varchar = true)"
        cursor = con.execute(f"SELECT * FROM {reader}", [str(path)])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def test_parquet_export_reads_back_as_valid_focus(built: Path, tmp_path: Path):
    target = tmp_path / "out" / "focus.parquet"
    result = run_cli("export", "focus", "--db", str(built), "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "wrote 6 FOCUS 1.3 rows" in result.stdout
    assert validate_focus(target) == ([], 6)

    rows = read_back(target)
    got = [
        (str(r["ChargePeriodStart"].date()), r["SkuMeter"], r["ConsumedQuantity"], r["BilledCost"], r["x_CallCount"])
        for r in rows
    ]
    # 03-02: input (1,000,000 - 200,000 - 100,000 + 300,000) x 1.00/M = 1.00 over 2 calls; cached 200,000 x 0.10/M
    # = 0.02; cache writes 100,000 x 1.25/M = 0.125; output 500,000 x 4.00/M = 2.00. 03-03: 0.001 and 0.0004.
    assert got == [
        ("2026-03-02", "Cache Read Input Tokens", 200_000, Decimal("0.02"), 1),
        ("2026-03-02", "Cache Write Input Tokens", 100_000, Decimal("0.125"), 1),
        ("2026-03-02", "Input Tokens", 1_000_000, Decimal("1.00"), 2),
        ("2026-03-02", "Output Tokens", 500_000, Decimal("2.00"), 1),
        ("2026-03-03", "Input Tokens", 1_000, Decimal("0.001"), 1),
        ("2026-03-03", "Output Tokens", 100, Decimal("0.0004"), 1),
    ]
    first = rows[0]
    assert json.loads(first["Tags"]) == TAGS
    assert rows[-1]["Tags"] is None
    assert (first["ChargeCategory"], first["ServiceCategory"], first["ServiceSubcategory"]) == (
        "Usage", "AI and Machine Learning", "Generative AI",
    )  # fmt: skip
    assert (first["x_TokenDirection"], first["x_TokenCacheAction"], first["PricingQuantity"]) == (
        "Input", "Read", Decimal("0.2"),
    )  # fmt: skip
    assert json.loads(rows[3]["SkuPriceDetails"]) == {"ModelId": "m-small", "TokenDirection": "Output"}
    assert first["EffectiveCost"] == first["ListCost"] == first["BilledCost"]


def test_csv_export_since_a_day(built: Path, tmp_path: Path):
    target = tmp_path / "focus.csv"
    result = run_cli("export", "focus", "--db", str(built), "-o", str(target), "--since", "2026-03-03")
    assert result.returncode == 0, result.stderr
    assert validate_focus(target) == ([], 2)
    rows = read_back(target)
    assert [(r["ChargePeriodStart"], r["ChargePeriodEnd"], r["SkuMeter"]) for r in rows] == [
        ("2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z", "Input Tokens"),
        ("2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z", "Output Tokens"),
    ]
    assert Decimal(rows[1]["BilledCost"]) == Decimal("0.0004")


def test_validation_names_what_breaks_the_rules(tmp_path: Path, built: Path):
    good = tmp_path / "good.csv"
    assert run_cli("export", "focus", "--db", str(built), "-o", str(good)).returncode == 0
    lines = good.read_text().splitlines()
    header = lines[0].split(",")
    # A row whose category is not FOCUS's, whose period ends where it starts, and no ServiceName column.
    bad_row = lines[1].replace("Usage,", "Usagee,", 1).replace("2026-03-03T00:00:00Z", "2026-03-02T00:00:00Z")
    cut = header.index("ServiceName")
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != cut) for line in [lines[0], bad_row]) + "\n"
    )
    problems, _ = validate_focus(broken)
    assert "ServiceName: missing (mandatory in FOCUS 1.3)" in problems
    assert "ChargeCategory: not one of Usage, Purchase, Tax, Credit, Adjustment in 1 row(s)" in problems


def test_periods_must_end_after_they_start(tmp_path: Path, built: Path):
    good = tmp_path / "good.csv"
    assert run_cli("export", "focus", "--db", str(built), "-o", str(good)).returncode == 0
    text = good.read_text().replace("2026-03-03T00:00:00Z", "2026-03-02T00:00:00Z")  # 03-02 rows end as they start
    broken = tmp_path / "broken.csv"
    broken.write_text(text)
    assert validate_focus(broken)[0] == ["ChargePeriodStart: not before ChargePeriodEnd in 4 row(s)"]


def test_an_unknown_suffix_is_refused(built: Path, tmp_path: Path):
    result = run_cli("export", "focus", "--db", str(built), "-o", str(tmp_path / "focus.xlsx"))
    assert result.returncode == 2
    assert "name a .parquet or .csv file" in result.stderr
