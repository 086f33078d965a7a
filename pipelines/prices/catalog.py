"""The team's price catalog file (`pricing/catalog.yaml`, DESIGN.md §3), validated with pydantic.

An entry wins over the published price of the same provider and model; an entry
without `prices` only names the model's routing tier and aliases. Errors name the
file, the entry (provider/model) and the field; YAML numbers are read as exact decimals.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserError, first_line
from pipelines.resources import PROJECT_CATALOG

DEFAULT_CATALOG = Path("pricing/catalog.yaml")
PRICE_PLACES = 9  # decimal places a price per 1M tokens may carry (DECIMAL(18,9))

Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=PRICE_PLACES)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LongContext(_Strict):
    threshold_input_tokens: int = Field(gt=0)
    input: Price
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price


class TierPrices(_Strict):
    """Overrides for one service tier; a price not given is the base row's."""

    input: Price | None = None
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price | None = None


class CatalogPrice(_Strict):
    effective_from: date
    input: Price
    cached_input: Price | None = None
    cache_write: Price | None = None
    cache_write_1h: Price | None = None
    output: Price
    batch_multiplier: Annotated[Decimal, Field(gt=0, le=1, decimal_places=6)] | None = None
    long_context: LongContext | None = None
    service_tiers: dict[str, TierPrices] = {}


class CatalogModel(_Strict):
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    aliases: list[str] = []
    tier: Literal["low", "balanced", "premium"] | None = None
    # Empty: the entry only names a tier or aliases, and the published prices apply.
    prices: list[CatalogPrice] = []

    @field_validator("provider", "model")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("aliases")
    @classmethod
    def _lower_aliases(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]

    @model_validator(mode="after")
    def _distinct_dates(self) -> CatalogModel:
        dates = [p.effective_from for p in self.prices]
        if len(dates) != len(set(dates)):
            raise ValueError("two prices have the same effective_from")
        return self


class Catalog(_Strict):
    currency: Literal["USD"] = "USD"
    models: list[CatalogModel] = []

    @model_validator(mode="after")
    def _unique_models(self) -> Catalog:
        seen: dict[tuple[str, str], str] = {}
        for entry in self.models:
            for name in [entry.model, *entry.aliases]:
                key = (entry.provider, name)
                if key in seen:
                    raise ValueError(f"{entry.provider}/{name} is listed twice (also under {seen[key]})")
                seen[key] = entry.model
        return self


class _DecimalLoader(yaml.SafeLoader):
    """YAML with floats read as Decimal, so 0.1 stays exactly 0.1."""


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node)))


def default_catalog() -> Path | None:
    """pricing/catalog.yaml here, else the project's own; None when neither exists."""
    return next((path for path in (DEFAULT_CATALOG, PROJECT_CATALOG) if path.exists()), None)


def load_catalog(path: Path | None = None) -> tuple[Catalog, Path | None]:
    """The catalog at `path`, or the default one; an empty catalog when there is none."""
    chosen = path or default_catalog()
    if chosen is None:
        return Catalog(), None
    if not chosen.exists():
        raise UserError(f"{chosen}: no such price catalog")
    try:
        data = yaml.load(chosen.read_text(), Loader=_DecimalLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise UserError(f"{chosen}: not valid YAML{where}: {problem}") from exc
    try:
        return Catalog.model_validate(data), chosen
    except ValidationError as exc:
        raise UserError(f"{chosen}: {_describe(exc, data)}") from exc


def _describe(exc: ValidationError, data: object) -> str:
    """One line per problem, naming the entry (provider/model) and the field."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            try:
                entry = data["models"][loc[1]]  # type: ignore[index]
                where = f"models[{loc[1]}] ({entry.get('provider')}/{entry.get('model')}): " + ".".join(
                    str(part) for part in loc[2:]
                )
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        got = f", got {error['input']!r}" if "input" in error and not isinstance(error["input"], dict) else ""
        problems.append(f"{where}: {error['msg']}{got}")
    return "; ".join(problems)
