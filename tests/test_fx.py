"""Exchange rates for bills in other currencies (pipelines/fx.py): validated, exact, never guessed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.errors import UserError
from pipelines.fx import fx_rates_table, load_fx_rates


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fx_rates.yaml"
    path.write_text(text)
    return path


def test_rates_load_exactly_with_their_source(tmp_path: Path):
    path = write(tmp_path, "rates:\n  - {currency: eur, rate_to_usd: 1.0850, effective_from: 2026-01-01}\n")
    rates, source = load_fx_rates(path)
    assert source == path
    table = fx_rates_table(rates).to_pylist()
    assert table == [
        {"currency": "EUR", "rate_to_usd": Decimal("1.085"), "effective_from": date(2026, 1, 1), "source": str(path)}
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rates:\n  - {currency: EURO, rate_to_usd: 1.08, effective_from: 2026-01-01}\n", "rates.0.currency"),
        ("rates:\n  - {currency: EUR, rate_to_usd: 0, effective_from: 2026-01-01}\n", "rates.0.rate_to_usd"),
        ("rates:\n  - {currency: EUR, rate_to_usd: 1.08}\n", "rates.0.effective_from: Field required"),
        ("rates:\n  - {currency: USD, rate_to_usd: 1, effective_from: 2026-01-01}\n", "USD needs no rate"),
        (
            "rates:\n  - {currency: EUR, rate_to_usd: 1.08, effective_from: 2026-01-01}\n"
            "  - {currency: eur, rate_to_usd: 1.09, effective_from: 2026-01-01}\n",
            "EUR has two rates from 2026-01-01",
        ),
        ("rates: [\n", "not valid YAML"),
    ],
)
def test_a_broken_rates_file_names_the_problem(tmp_path: Path, text: str, message: str):
    path = write(tmp_path, text)
    with pytest.raises(UserError, match=str(path)) as raised:
        load_fx_rates(path)
    assert message in str(raised.value)


def test_no_file_means_no_rates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    rates, source = load_fx_rates()
    assert (rates.rates, source) == ([], None)
    with pytest.raises(UserError, match="no such exchange-rates file"):
        load_fx_rates(tmp_path / "missing.yaml")
