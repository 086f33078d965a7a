"""Exchange rates the team supplies for bills in other currencies than USD.

`pricing/fx_rates.yaml` (or the file `build --fx` names) lists, per currency, the USD one
unit is worth from a UTC date on; the build loads it into `raw.fx_rates`, and
`staging.stg_billing_lines` converts each line at the rate in force on its day. A bill
in a currency with no rate is never treated as USD: its rows say `no_fx_rate`.

    rates:
      - currency: EUR
        rate_to_usd: 1.0850        # 1 EUR = 1.085 USD
        effective_from: 2026-01-01 # the newest row <= the line's day applies
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserError, first_line
from pipelines.raw import FX_RATES_SCHEMA
from pipelines.resources import PROJECT_ROOT

DEFAULT_FX_RATES = Path("pricing/fx_rates.yaml")
PROJECT_FX_RATES = PROJECT_ROOT / "pricing" / "fx_rates.yaml"
MAX_FX_BYTES = 1024 * 1024


class FxRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code")
    rate_to_usd: Decimal = Field(gt=0, max_digits=18, decimal_places=9)
    effective_from: date

    @field_validator("currency")
    @classmethod
    def upper_case(cls, value: str) -> str:
        return value.upper()


class FxRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rates: list[FxRate] = []
    source: str | None = None  # the file the rates came from (set by load_fx_rates)

    @model_validator(mode="after")
    def one_rate_per_day(self) -> FxRates:
        seen: set[tuple[str, date]] = set()
        for rate in self.rates:
            key = (rate.currency, rate.effective_from)
            if key in seen:
                raise ValueError(f"{rate.currency} has two rates from {rate.effective_from}")
            if rate.currency == "USD":
                raise ValueError("USD needs no rate (it is 1)")
            seen.add(key)
        return self


def default_fx_rates() -> Path | None:
    """pricing/fx_rates.yaml here, else the project's own; None when neither exists."""
    return next((path for path in (DEFAULT_FX_RATES, PROJECT_FX_RATES) if path.is_file()), None)


def load_fx_rates(path: Path | None = None) -> tuple[FxRates, Path | None]:
    """The rates at `path`, or the default file; no rates when there is none."""
    chosen = path or default_fx_rates()
    if chosen is None:
        return FxRates(), None
    if not chosen.is_file():
        raise UserError(f"{chosen}: no such exchange-rates file")
    if chosen.stat().st_size > MAX_FX_BYTES:
        raise UserError(f"{chosen}: larger than 1 MiB; not an exchange-rates file")
    try:
        data = yaml.safe_load(chosen.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"{chosen}: not valid YAML: {first_line(exc)}") from exc
    if isinstance(data, dict):  # decimals as written, never through a float
        for row in data.get("rates") or []:
            if isinstance(row, dict) and isinstance(row.get("rate_to_usd"), float):
                row["rate_to_usd"] = Decimal(str(row["rate_to_usd"]))
    try:
        rates = FxRates.model_validate(data)
        return rates.model_copy(update={"source": str(chosen)}), chosen
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise UserError(f"{chosen}: {where + ': ' if where else ''}{error['msg']}") from exc


def fx_rates_table(rates: FxRates) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "currency": r.currency,
                "rate_to_usd": r.rate_to_usd,
                "effective_from": r.effective_from,
                "source": rates.source,
            }
            for r in rates.rates
        ],
        schema=FX_RATES_SCHEMA,
    )
