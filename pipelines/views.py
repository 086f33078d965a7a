"""Rich tables the CLI prints. Formatting only: every number comes from SQL or the catalog."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table

from pipelines.pricing import PriceRow


def price_table(rows: list[PriceRow]) -> Table:
    table = Table(title="prices, USD per 1M tokens", title_justify="left")
    for name in ("provider", "model", "tier", "service tier", "from"):
        table.add_column(name, no_wrap=True)
    for name in ("input", "cached", "cache write", "1h write", "output", "batch x"):
        table.add_column(name, justify="right")
    table.add_column("long context", no_wrap=True)
    table.add_column("source", no_wrap=True, overflow="ellipsis", max_width=24)
    for r in rows:
        long_context = (
            f"> {r.long_context_threshold:,}: {_price(r.long_context_input)} / {_price(r.long_context_output)}"
            if r.long_context_threshold
            else ""
        )
        table.add_row(
            r.provider,
            r.model,
            r.model_tier or "",
            r.service_tier,
            str(r.effective_from),
            *(_price(v) for v in (r.input, r.cached_input, r.cache_write, r.cache_write_1h, r.output)),
            _price(r.batch_multiplier),
            long_context,
            r.source,
        )
    return table


def _price(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def unpriced_table(rows: list[tuple]) -> Table:
    table = Table(title="logged calls with no price at their time", title_justify="left")
    for name in ("provider", "model"):
        table.add_column(name)
    table.add_column("calls", justify="right")
    for name in ("first", "last", "why"):
        table.add_column(name)
    for provider, model, calls, first, last, why in rows:
        table.add_row(provider, model, f"{calls:,}", f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}", why)
    return table
