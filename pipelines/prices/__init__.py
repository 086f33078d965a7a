"""The price catalog: published prices from genai-prices, the team's catalog on top.

`pricing/catalog.yaml` (DESIGN.md §3) is validated with pydantic (`catalog.py`); an entry
there wins over the published price of the same provider and model (`published.py`).
The merged result is a list of effective-dated price rows (`rows.py`), one per
(provider, model, service tier, effective_from), with every default of the contract
already applied, so `raw.prices` shows exactly the rates a call is charged.
`resolve_models` maps the (provider, model) pairs seen in the logs onto them, using the
catalog's aliases and genai-prices' own model matching.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path

from pipelines.errors import UserError
from pipelines.prices.catalog import DEFAULT_CATALOG, PRICE_PLACES, Catalog, RegionalUplift, load_catalog
from pipelines.prices.published import match_published, published_models, published_source
from pipelines.prices.rows import (
    RATE_FIELDS,
    ModelPrices,
    PriceRow,
    catalog_rows,
    every_tier_in_every_period,
    window_rows,
)

__all__ = [
    "DEFAULT_CATALOG",
    "PriceBook",
    "PriceRow",
    "Resolution",
    "build_price_book",
    "load_catalog",
    "published_source",
    "resolve_models",
]


@dataclass
class PriceBook:
    """Every priced model: the catalog's entries over the published ones."""

    models: dict[tuple[str, str], ModelPrices] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog)
    catalog_path: Path | None = None

    def rows(self) -> list[PriceRow]:
        return [row for entry in self.models.values() for row in entry.rows]


def catalog_source(path: Path | None) -> str:
    """The `source` of the catalog's price rows: its file name, not its folder, so the same
    catalog read from another place prices nothing anew (an incremental build compares rows)."""
    return f"catalog {path.name}" if path else "catalog"


def build_price_book(catalog_path: Path | None = None) -> PriceBook:
    catalog, path = load_catalog(catalog_path)
    source = catalog_source(path)
    book = PriceBook(catalog=catalog, catalog_path=path)
    for entry in published_models():
        book.models[(entry.provider, entry.model)] = entry
    for item in catalog.models:
        key = (item.provider, item.model)
        published = book.models.get(key)
        if item.prices:
            base = every_tier_in_every_period([r for p in item.prices for r in catalog_rows(item, p, source)])
            rows = tuple(sorted([*base, *_windows(item, base, path)], key=_row_order))
            origin = source
        elif published is not None:
            rows = tuple(replace(r, model_tier=item.tier) for r in published.rows)
            origin = published.source
        else:
            rows = ()
            origin = source
        aliases = tuple(dict.fromkeys([*item.aliases, *(published.aliases if published else ())]))
        book.models[key] = ModelPrices(item.provider, item.model, item.tier, aliases, rows, origin)
    for index, uplift in enumerate(catalog.regional_uplifts):
        _check_exact(book, index, uplift, path)
    return book


def _row_order(row: PriceRow) -> tuple:
    return (row.effective_from, row.service_tier, row.window is not None, row.window_start_minute or 0)


def _windows(item: object, base: tuple[PriceRow, ...], path: Path | None) -> list[PriceRow]:
    rows = []
    for price in item.prices:  # type: ignore[attr-defined]
        period = [r for r in base if r.effective_from == price.effective_from]
        try:
            rows += window_rows(period, price.windows, f"{item.provider}/{item.model}")  # type: ignore[attr-defined]
        except ValueError as exc:
            raise UserError(f"{path or 'catalog'}: {exc}") from exc
    return rows


def uplift_models(book: PriceBook, uplift: RegionalUplift) -> list[tuple[str, str]]:
    """The priced models an uplift's provider and glob match."""
    return [key for key in book.models if key[0] == uplift.provider and fnmatchcase(key[1], uplift.models)]


def _check_exact(book: PriceBook, index: int, uplift: RegionalUplift, path: Path | None) -> None:
    """Every rate times the uplift must stay exact in the warehouse (15 decimals per 1M tokens).

    An uplift's part of a cost is tokens x rate x (multiplier - 1) per token, held with
    21 decimal places; a rate of 9 places times a batch multiplier of 6 leaves room for
    uplifts like 1.1 with any real price, and this says so when it does not.
    """
    extra = uplift.multiplier - 1
    for key in uplift_models(book, uplift):
        for row in book.models[key].rows:
            rates = [getattr(row, name) for name in RATE_FIELDS]
            for rate in (r for r in rates if r is not None):
                for batch in {Decimal(1), row.batch_multiplier}:
                    places = -(rate * batch * extra).normalize().as_tuple().exponent
                    if places > PRICE_PLACES + 6:
                        raise UserError(
                            f"{path or 'catalog'}: regional_uplifts[{index}] ({uplift.provider}/{uplift.models}): "
                            f"{key[1]}'s price {rate} x {uplift.multiplier} is not exact to "
                            f"{PRICE_PLACES + 6} decimal places per 1M tokens"
                        )


@dataclass(frozen=True)
class Resolution:
    provider: str  # as logged
    model: str  # as logged
    price_provider: str | None
    price_model: str | None
    matched_by: str  # catalog | catalog alias | genai-prices | unpriced
    model_tier: str | None = None  # the catalog's routing tier of the model it means, priced or not


def resolve_models(book: PriceBook, seen: Iterable[tuple[str, str]]) -> list[Resolution]:
    """Map each logged (provider, model) onto a priced model, or mark it unpriced."""
    aliases: dict[tuple[str, str], tuple[str, str]] = {}
    for item in book.catalog.models:
        for name in (item.model, *item.aliases):
            aliases[(item.provider, name)] = (item.provider, item.model)
    resolutions = []
    for provider, model in seen:
        key = (provider.strip().lower(), model.strip().lower())
        if key in aliases:
            target = aliases[key]
            how = "catalog" if target == key else "catalog alias"
        else:
            target = match_published(*key)
            how = "genai-prices"
            if target is not None and target not in book.models:
                target = None
        tier = book.models[target].tier if target is not None else None
        if target is None or not book.models[target].rows:
            resolutions.append(Resolution(provider, model, None, None, "unpriced", tier))
        else:
            resolutions.append(Resolution(provider, model, target[0], target[1], how, tier))
    return resolutions
