"""Published list prices from genai-prices, as price rows, and its model-id matching."""

from __future__ import annotations

import warnings
from dataclasses import replace
from datetime import UTC, datetime, time
from decimal import Decimal
from functools import cache

from pipelines.cache import code_key, read_objects, write_objects
from pipelines.prices import rows
from pipelines.prices.catalog import MINUTES_PER_DAY, PRICE_PLACES
from pipelines.prices.rows import DEFAULT_TIER, PRICE_KEYS, ModelPrices, PriceRow, first_or_none, priced

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # effective_from of a published price with no start date
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)
PUBLISHED_WINDOW = "time of day"  # genai-prices does not name its windows
PUBLISHED_CACHE = "published-prices.pickle"


def published_source() -> str:
    from importlib.metadata import version

    return f"genai-prices {version('genai-prices')}"


@cache
def published_models() -> tuple[ModelPrices, ...]:
    """Token prices of every model genai-prices knows, as effective-dated rows (`_published_models`).

    Remembered in the user's cache for this genai-prices version and this code: importing
    genai-prices' data and converting it took about half a second of every build.
    """
    key = code_key(published_source(), __file__, rows.__file__)
    found = read_objects(PUBLISHED_CACHE, key)
    if isinstance(found, tuple) and all(isinstance(entry, ModelPrices) for entry in found):
        return found
    models = _published_models()
    write_objects(PUBLISHED_CACHE, key, models)
    return models


def _published_models() -> tuple[ModelPrices, ...]:
    """Token prices of every model genai-prices knows, as effective-dated rows.

    genai-prices holds a price as a `ModelPrice` or a list of date-constrained
    `ConditionalPrice`s, a long-context cliff as `TieredPrices`, and batch and service
    tiers as `PriceVariant`s. Those map onto the catalog's columns as follows:
    - the first conditional price (or an unconditional one) applies from 1970-01-01;
    - a time-of-day price (`TimeOfDateConstraint`, UTC) becomes a window of every
      period, every day (genai-prices has no weekdays or start dates for them, and the
      last active price wins there, so a window wins over every dated price); a range
      over midnight becomes two ranges;
    - the first tier of a `TieredPrices` is the long-context price;
    - a batch variant becomes `batch_multiplier` = its input price / the base input price;
    - a service-tier variant becomes a row for that tier.
    Variant start dates record when genai-prices added the variant, not a price change
    (batch discounts long predate them), so variants apply to every period.
    """
    from genai_prices.data_snapshot import get_snapshot
    from genai_prices.types import ModelPrice, StartDateConstraint, TimeOfDateConstraint

    source = published_source()
    entries = []
    for provider in get_snapshot().providers:
        for info in provider.models:
            periods: list[tuple[datetime, ModelPrice]] = []
            windows: list[tuple[TimeOfDateConstraint, ModelPrice]] = []
            if isinstance(info.prices, ModelPrice):
                periods.append((EPOCH, info.prices))
            else:
                for index, conditional in enumerate(info.prices):
                    constraint = conditional.constraint
                    if constraint is None or index == 0:
                        periods.append((EPOCH, conditional.prices))
                    elif isinstance(constraint, StartDateConstraint):
                        start = constraint.start_date
                        periods.append((datetime(start.year, start.month, start.day, tzinfo=UTC), conditional.prices))
                    elif isinstance(constraint, TimeOfDateConstraint):
                        windows.append((constraint, conditional.prices))
            rows = []
            for start, prices in _dedupe(periods):
                period = _published_rows(provider.id, info, start, prices, source)
                rows.extend(period)
                if period:
                    for constraint, window_prices in windows:
                        rows.extend(_window_rows(provider.id, info, start, constraint, window_prices, source))
            if rows:
                entries.append(
                    ModelPrices(provider.id, info.id.lower(), None, _exact_ids(info.match), tuple(rows), source)
                )
    return tuple(entries)


def _window_rows(
    provider_id: str, info: object, start: datetime, constraint: object, prices: object, source: str
) -> list[PriceRow]:
    """A published time-of-day price as window rows of the period from `start`."""
    begin = _utc_minute(constraint.start_time)  # type: ignore[attr-defined]
    end = _utc_minute(constraint.end_time)  # type: ignore[attr-defined]
    ranges = [(begin, end)] if begin < end else [(begin, MINUTES_PER_DAY), (0, end)]
    return [
        replace(
            row,
            window=PUBLISHED_WINDOW,
            window_time_zone="UTC",
            window_weekdays=EVERY_DAY,
            window_start_minute=low,
            window_end_minute=high,
        )
        for row in _published_rows(provider_id, info, start, prices, source)
        for low, high in ranges
        if low < high
    ]


def _utc_minute(value: time) -> int:
    """A time of day (naive = UTC) as minutes after midnight UTC."""
    if value.tzinfo is not None:
        value = datetime.combine(datetime(1970, 1, 1), value).astimezone(UTC).time()
    return value.hour * 60 + value.minute


def _dedupe(periods: list[tuple[datetime, object]]) -> list[tuple[datetime, object]]:
    """The last price given for each start date wins, as in genai-prices."""
    return list({start: prices for start, prices in periods}.items())


def _published_rows(provider_id: str, info: object, start: datetime, prices: object, source: str) -> list[PriceRow]:
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
    rows = {DEFAULT_TIER: priced(base, above, threshold, service_tier=DEFAULT_TIER, **identity)}
    for variant in getattr(info, "price_variants", None) or ():
        tier = variant.when.get("service_tier")
        if tier is None or tier in rows or len(variant.when) != 1:
            continue
        over, over_above, over_threshold = _published_prices(variant.prices)
        overlay = {key: first_or_none(over[key], base[key]) for key in base}
        # A variant's plain price holds above the threshold too, as in genai-prices.
        overlay_above = {key: first_or_none(over_above.get(key), over[key], above.get(key)) for key in base}
        rows[tier] = priced(overlay, overlay_above, over_threshold or threshold, service_tier=tier, **identity)
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


@cache
def match_published(provider: str, model: str) -> tuple[str, str] | None:
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
