"""Price rows: the effective rates of one model from one instant on, every default applied.

A row without a window holds a period's rates; a row with one holds the rates inside
one hour range of that period's time-of-day window (DESIGN.md §3), all in full.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from pipelines.prices.catalog import DEFAULT_TIER, PRICE_PLACES, CatalogModel, CatalogPrice, Window


@dataclass(frozen=True)
class PriceRow:
    """Effective rates of one model from one instant (UTC) on, per 1M tokens, defaults applied."""

    provider: str
    model: str
    service_tier: str
    effective_from: datetime
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
    web_search_per_1k: Decimal | None = None  # USD per 1,000 web-search calls; None: not priced
    # A time-of-day window: its name, the time zone of its hours, ISO weekdays (mon = 1)
    # and one range of local minutes [start, end). None on a period's own row.
    window: str | None = None
    window_time_zone: str | None = None
    window_weekdays: tuple[int, ...] | None = None
    window_start_minute: int | None = None
    window_end_minute: int | None = None


@dataclass(frozen=True)
class ModelPrices:
    provider: str
    model: str
    tier: str | None
    aliases: tuple[str, ...]
    rows: tuple[PriceRow, ...]
    source: str


# Token classes a price row carries, as (catalog key, genai-prices key).
PRICE_KEYS = (
    ("input", "input_mtok"),
    ("cached_input", "cache_read_mtok"),
    ("cache_write", "cache_write_mtok"),
    ("cache_write_1h", "cache_write_1h_mtok"),
    ("output", "output_mtok"),
)


def priced(
    base: dict[str, Decimal | None],
    long_context: dict[str, Decimal | None],
    threshold: int | None,
    **identity: object,
) -> PriceRow:
    """A PriceRow from the prices given explicitly, with the contract's defaults:
    cached input and cache writes cost the input price, 1-hour writes the cache-write
    price, batch calls the full price; the long-context prices default the same way."""
    cache_write = first_of(base["cache_write"], base["input"])
    above = long_context if threshold is not None else {}
    lc_input = above.get("input") or (base["input"] if threshold is not None else None)
    lc_cache_write = first_or_none(above.get("cache_write"), lc_input)
    return PriceRow(
        input=first_of(base["input"]),
        cached_input=first_of(base["cached_input"], base["input"]),
        cache_write=cache_write,
        cache_write_1h=first_of(base["cache_write_1h"], cache_write),
        output=first_of(base["output"], Decimal(0)),
        long_context_threshold=threshold,
        long_context_input=lc_input,
        long_context_cached_input=first_or_none(above.get("cached_input"), lc_input),
        long_context_cache_write=lc_cache_write,
        long_context_cache_write_1h=first_or_none(above.get("cache_write_1h"), lc_cache_write),
        long_context_output=first_or_none(above.get("output"), base["output"] if threshold is not None else None),
        **identity,  # type: ignore[arg-type]
    )


def catalog_rows(item: CatalogModel, price: CatalogPrice, source: str) -> list[PriceRow]:
    lc = price.long_context
    explicit = {key: getattr(price, key) for key, _ in PRICE_KEYS}
    above = {key: getattr(lc, key) for key, _ in PRICE_KEYS} if lc else {}
    identity = {
        "provider": item.provider,
        "model": item.model,
        "effective_from": price.effective_from,
        "batch_multiplier": first_of(price.batch_multiplier, Decimal(1)),
        "model_tier": item.tier,
        "source": source,
        "web_search_per_1k": price.web_search_per_1k,
    }
    threshold = lc.threshold_input_tokens if lc else None
    rows = [priced(explicit, above, threshold, service_tier=DEFAULT_TIER, **identity)]
    for tier, over in price.service_tiers.items():
        overlay = {key: first_or_none(getattr(over, key), explicit[key]) for key, _ in PRICE_KEYS}
        rows.append(priced(overlay, above, threshold, service_tier=tier.strip().lower(), **identity))
    return rows


def first_of(*values: Decimal | None) -> Decimal:
    for value in values:
        if value is not None:
            return value
    raise ValueError("no value")


def first_or_none(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


def every_tier_in_every_period(rows: list[PriceRow]) -> tuple[PriceRow, ...]:
    """The rows, plus a default-priced row wherever a period lacks a tier others have.

    A call on a service tier its period has no price for pays the default tier's rates;
    with every tier in every period, the warehouse joins on the tier alone.
    """
    tiers = sorted({r.service_tier for r in rows})
    by_period: dict[object, dict[str, PriceRow]] = {}
    for row in rows:
        if row.window is not None:
            continue
        by_period.setdefault(row.effective_from, {})[row.service_tier] = row
    filled = list(rows)
    for period in by_period.values():
        default = period.get(DEFAULT_TIER)
        if default is None:
            continue
        filled += [replace(default, service_tier=tier) for tier in tiers if tier not in period]
    return tuple(sorted(filled, key=lambda r: (r.effective_from, r.service_tier)))


RATE_FIELDS = (
    "input",
    "cached_input",
    "cache_write",
    "cache_write_1h",
    "output",
    "long_context_input",
    "long_context_cached_input",
    "long_context_cache_write",
    "long_context_cache_write_1h",
    "long_context_output",
)


def window_rows(period: list[PriceRow], windows: list[Window], where: str) -> list[PriceRow]:
    """The rows of one period's windows: one per window, hour range and service tier.

    Every rate is the period row's times the window's multiplier, except the default
    tier's prices the window gives explicitly. A product past 9 decimal places would
    not be exact in the warehouse, so it is refused, naming `where`.
    """
    rows = []
    for window in windows:
        for row in period:
            rates = {}
            for name in RATE_FIELDS:
                value = getattr(row, name)
                explicit = getattr(window, name, None) if row.service_tier == DEFAULT_TIER else None
                rates[name] = explicit if explicit is not None else _times(value, window.multiplier, where, window)
            for start, end in window.ranges():
                rows.append(
                    replace(
                        row,
                        **rates,
                        window=window.name,
                        window_time_zone=window.time_zone,
                        window_weekdays=window.iso_weekdays(),
                        window_start_minute=start,
                        window_end_minute=end,
                    )
                )
    return rows


def _times(value: Decimal | None, multiplier: Decimal, where: str, window: Window) -> Decimal | None:
    if value is None:
        return None
    product = value * multiplier
    if product != product.quantize(Decimal(1).scaleb(-PRICE_PLACES)):
        raise ValueError(
            f"{where}: window {window.name!r}: {value} x {multiplier} has more than {PRICE_PLACES} decimal places"
        )
    return product.normalize()
