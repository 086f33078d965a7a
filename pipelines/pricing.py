"""The price catalog: published prices from genai-prices, the team's catalog on top.

`pricing/catalog.yaml` (DESIGN.md §3) is validated with pydantic; an entry there wins
over the published price of the same provider and model. The merged result is a list
of effective-dated `PriceRow`s, one per (provider, model, service tier, effective_from),
with every default of the contract already applied, so `raw.prices` shows exactly the
rates a call is charged. `resolve_models` maps the (provider, model) pairs seen in the
logs onto those rows, using the catalog's aliases and genai-prices' own model matching.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import UserError

DEFAULT_CATALOG = Path("pricing/catalog.yaml")
EPOCH = date(1970, 1, 1)  # effective_from of a published price with no start date
PRICE_PLACES = 9  # decimal places a price per 1M tokens may carry (DECIMAL(18,9))
DEFAULT_TIER = "default"

Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=PRICE_PLACES)]


# -- the catalog file ------------------------------------------------------------------


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


def load_catalog(path: Path | None = None) -> tuple[Catalog, Path | None]:
    """The team's catalog, or an empty one when the default file does not exist."""
    chosen = path or DEFAULT_CATALOG
    if not chosen.exists():
        if path is not None:
            raise UserError(f"{path}: no such price catalog")
        return Catalog(), None
    try:
        data = yaml.load(chosen.read_text(), Loader=_DecimalLoader) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{chosen}: not valid YAML: {exc}") from exc
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


# -- merged price rows -------------------------------------------------------------------


@dataclass(frozen=True)
class PriceRow:
    """Effective rates of one model from one date on, per 1M tokens, defaults applied."""

    provider: str
    model: str
    service_tier: str
    effective_from: date
    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    output: Decimal
    batch_multiplier: Decimal
    long_context_threshold: int | None
    long_context_input: Decimal | None
    long_context_cached_input: Decimal | None
    long_context_cache_write: Decimal | None
    long_context_cache_write_1h: Decimal | None
    long_context_output: Decimal | None
    model_tier: str | None
    source: str


@dataclass(frozen=True)
class ModelPrices:
    provider: str
    model: str
    tier: str | None
    aliases: tuple[str, ...]
    rows: tuple[PriceRow, ...]
    source: str


@dataclass
class PriceBook:
    """Every priced model: the catalog's entries over the published ones."""

    models: dict[tuple[str, str], ModelPrices] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog)
    catalog_path: Path | None = None

    def rows(self) -> list[PriceRow]:
        return [row for entry in self.models.values() for row in entry.rows]


def build_price_book(catalog_path: Path | None = None) -> PriceBook:
    catalog, path = load_catalog(catalog_path)
    source = f"catalog {path}" if path else "catalog"
    book = PriceBook(catalog=catalog, catalog_path=path)
    for entry in _published_models():
        book.models[(entry.provider, entry.model)] = entry
    for item in catalog.models:
        key = (item.provider, item.model)
        published = book.models.get(key)
        if item.prices:
            rows = tuple(r for p in item.prices for r in _catalog_rows(item, p, source))
            origin = source
        elif published is not None:
            rows = tuple(replace(r, model_tier=item.tier) for r in published.rows)
            origin = published.source
        else:
            rows = ()
            origin = source
        aliases = tuple(dict.fromkeys([*item.aliases, *(published.aliases if published else ())]))
        book.models[key] = ModelPrices(item.provider, item.model, item.tier, aliases, rows, origin)
    return book


# Token classes a price row carries, as (catalog key, genai-prices key).
PRICE_KEYS = (
    ("input", "input_mtok"),
    ("cached_input", "cache_read_mtok"),
    ("cache_write", "cache_write_mtok"),
    ("cache_write_1h", "cache_write_1h_mtok"),
    ("output", "output_mtok"),
)


def _priced(
    base: dict[str, Decimal | None],
    long_context: dict[str, Decimal | None],
    threshold: int | None,
    **identity: object,
) -> PriceRow:
    """A PriceRow from the prices given explicitly, with the contract's defaults:
    cached input and cache writes cost the input price, 1-hour writes the cache-write
    price, batch calls the full price; the long-context prices default the same way."""
    cache_write = _first(base["cache_write"], base["input"])
    above = long_context if threshold is not None else {}
    lc_input = above.get("input") or (base["input"] if threshold is not None else None)
    lc_cache_write = _maybe_first(above.get("cache_write"), lc_input)
    return PriceRow(
        input=_first(base["input"]),
        cached_input=_first(base["cached_input"], base["input"]),
        cache_write=cache_write,
        cache_write_1h=_first(base["cache_write_1h"], cache_write),
        output=_first(base["output"], Decimal(0)),
        long_context_threshold=threshold,
        long_context_input=lc_input,
        long_context_cached_input=_maybe_first(above.get("cached_input"), lc_input),
        long_context_cache_write=lc_cache_write,
        long_context_cache_write_1h=_maybe_first(above.get("cache_write_1h"), lc_cache_write),
        long_context_output=_maybe_first(above.get("output"), base["output"] if threshold is not None else None),
        **identity,  # type: ignore[arg-type]
    )


def _catalog_rows(item: CatalogModel, price: CatalogPrice, source: str) -> list[PriceRow]:
    lc = price.long_context
    explicit = {key: getattr(price, key) for key, _ in PRICE_KEYS}
    above = {key: getattr(lc, key) for key, _ in PRICE_KEYS} if lc else {}
    identity = {
        "provider": item.provider,
        "model": item.model,
        "effective_from": price.effective_from,
        "batch_multiplier": _first(price.batch_multiplier, Decimal(1)),
        "model_tier": item.tier,
        "source": source,
    }
    threshold = lc.threshold_input_tokens if lc else None
    rows = [_priced(explicit, above, threshold, service_tier=DEFAULT_TIER, **identity)]
    for tier, over in price.service_tiers.items():
        overlay = {key: _maybe_first(getattr(over, key), explicit[key]) for key, _ in PRICE_KEYS}
        rows.append(_priced(overlay, above, threshold, service_tier=tier.strip().lower(), **identity))
    return rows


def _first(*values: Decimal | None) -> Decimal:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")


def _maybe_first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


# -- genai-prices ------------------------------------------------------------------------


def published_source() -> str:
    from importlib.metadata import version

    return f"genai-prices {version('genai-prices')}"


@cache
def _published_models() -> tuple[ModelPrices, ...]:
    """Token prices of every model genai-prices knows, as effective-dated rows.

    genai-prices holds a price as a `ModelPrice` or a list of date-constrained
    `ConditionalPrice`s, a long-context cliff as `TieredPrices`, and batch and service
    tiers as `PriceVariant`s. Those map onto the catalog's columns as follows:
    - the first conditional price (or an unconditional one) applies from 1970-01-01;
      a time-of-day price (off-peak) is not represented and is skipped;
    - the first tier of a `TieredPrices` is the long-context price;
    - a batch variant becomes `batch_multiplier` = its input price / the base input price;
    - a service-tier variant becomes a row for that tier.
    Variant start dates record when genai-prices added the variant, not a price change
    (batch discounts long predate them), so variants apply to every period.
    """
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import ModelPrice, StartDateConstraint

    source = published_source()
    entries = []
    for provider in get_snapshot().providers:
        for info in provider.models:
            periods: list[tuple[date, ModelPrice]] = []
            if isinstance(info.prices, ModelPrice):
                periods.append((EPOCH, info.prices))
            else:
                for index, conditional in enumerate(info.prices):
                    constraint = conditional.constraint
                    if constraint is None or index == 0:
                        periods.append((EPOCH, conditional.prices))
                    elif isinstance(constraint, StartDateConstraint):
                        periods.append((constraint.start_date, conditional.prices))
            rows = []
            for start, prices in _dedupe(periods):
                rows.extend(_published_rows(provider.id, info, start, prices, source))
            if rows:
                entries.append(
                    ModelPrices(provider.id, info.id.lower(), None, _exact_ids(info.match), tuple(rows), source)
                )
    return tuple(entries)


def _dedupe(periods: list[tuple[date, object]]) -> list[tuple[date, object]]:
    """The last price given for each start date wins, as in genai-prices."""
    return list({start: prices for start, prices in periods}.items())


def _published_rows(provider_id: str, info: object, start: date, prices: object, source: str) -> list[PriceRow]:
    base, above, threshold = _published_prices(prices)
    if base["input"] is None:
        return []  # not priced by the token (audio hours, images, searches)
    identity = {
        "provider": provider_id,
        "model": info.id.lower(),  # type: ignore[attr-defined]
        "effective_from": start,
        "batch_multiplier": _batch_multiplier(info, base["input"], base["output"] or Decimal(0)),
        "model_tier": None,
        "source": source,
    }
    rows = {DEFAULT_TIER: _priced(base, above, threshold, service_tier=DEFAULT_TIER, **identity)}
    for variant in getattr(info, "price_variants", None) or ():
        tier = variant.when.get("service_tier")
        if tier is None or tier in rows or len(variant.when) != 1:
            continue
        over, over_above, over_threshold = _published_prices(variant.prices)
        overlay = {key: _maybe_first(over[key], base[key]) for key in base}
        # A variant's plain price holds above the threshold too, as in genai-prices.
        overlay_above = {key: _maybe_first(over_above.get(key), over[key], above.get(key)) for key in base}
        rows[tier] = _priced(overlay, overlay_above, over_threshold or threshold, service_tier=tier, **identity)
    return list(rows.values())


def _published_prices(prices: object) -> tuple[dict[str, Decimal | None], dict[str, Decimal | None], int | None]:
    """(base prices, long-context prices, threshold) of a genai-prices ModelPrice, by catalog key.

    The first tier of a `TieredPrices` is the long-context price: above its start,
    every token of the call costs the tier price (a cliff, as in genai-prices).
    """
    from genai_prices.types import TieredPrices

    base: dict[str, Decimal | None] = {}
    above: dict[str, Decimal | None] = {}
    threshold = None
    for key, published in PRICE_KEYS:
        price = getattr(prices, published, None)
        base[key] = _base(price)
        if isinstance(price, TieredPrices) and price.tiers:
            tier = price.tiers[0]
            threshold = tier.start if threshold is None else min(threshold, tier.start)
            above[key] = _quantize(tier.price)
    return base, above, threshold


def _base(price: object) -> Decimal | None:
    """The base price of a published price, to 9 decimal places.

    Some published prices carry float artifacts (0.18000000000000002); a billionth of
    a dollar per million tokens is far below anything billed.
    """
    from genai_prices.types import TieredPrices

    if isinstance(price, TieredPrices):
        price = price.base
    return _quantize(price) if isinstance(price, Decimal) else None


def _quantize(price: Decimal) -> Decimal:
    return price.quantize(Decimal(1).scaleb(-PRICE_PLACES)).normalize()


def _batch_multiplier(info: object, input_price: Decimal, output_price: Decimal) -> Decimal:
    """The batch discount as one multiplier, when genai-prices has a batch variant."""
    for variant in getattr(info, "price_variants", None) or ():
        if variant.when != {"processing": "batch"}:
            continue
        for key, base in (("input_mtok", input_price), ("output_mtok", output_price)):
            batch = _base(getattr(variant.prices, key, None))
            if batch is not None and base:
                ratio = (batch / base).quantize(Decimal("0.000001"))
                if 0 < ratio <= 1:
                    return ratio
    return Decimal(1)


def _exact_ids(match: object) -> tuple[str, ...]:
    """The exact model ids a genai-prices match clause names (its `equals` clauses)."""
    from genai_prices.types import ClauseAnd, ClauseEquals, ClauseOr

    if isinstance(match, ClauseEquals):
        return (match.equals.lower(),)
    if isinstance(match, ClauseOr):
        return tuple(i for clause in match.or_ for i in _exact_ids(clause))
    if isinstance(match, ClauseAnd):
        return ()
    return ()


# -- resolving the models seen in the logs -----------------------------------------------


@dataclass(frozen=True)
class Resolution:
    provider: str  # as logged
    model: str  # as logged
    price_provider: str | None
    price_model: str | None
    matched_by: str  # catalog | catalog alias | genai-prices | unpriced


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
            target = _match_published(*key)
            how = "genai-prices"
            if target is not None and target not in book.models:
                target = None
        if target is None or not book.models[target].rows:
            resolutions.append(Resolution(provider, model, None, None, "unpriced"))
        else:
            resolutions.append(Resolution(provider, model, target[0], target[1], how))
    return resolutions


@cache
def _match_published(provider: str, model: str) -> tuple[str, str] | None:
    """genai-prices' own matching: dated ids, prefixes, providers that resell others' models."""
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found_provider, info = snapshot.find_provider_model(model, None, provider, None)
        except LookupError:
            return None
    owner = next((p for p in snapshot.providers if any(m is info for m in p.models)), found_provider)
    return owner.id, info.id.lower()
