"""Rich tables the CLI prints. Formatting only: every number comes from SQL or the catalog."""

from __future__ import annotations

from rich.table import Table

from pipelines.pricing import PriceRow


def price_table(rows: list[PriceRow]) -> Table:
    table = Table(title="prices, USD per 1M tokens", title_justify="left")
    for name in ("provider", "model", "tier", "service tier", "from"):
        table.add_column(name)
    for name in ("input", "cached", "cache write", "1h write", "output", "batch x", "long ctx >"):
        table.add_column(name, justify="right")
    table.add_column("source")
    for r in rows:
        table.add_row(
            r.provider,
            r.model,
            r.model_tier or "",
            r.service_tier,
            str(r.effective_from),
            *(f"{v.normalize():f}" for v in (r.input, r.cached_input, r.cache_write, r.cache_write_1h, r.output)),
            f"{r.batch_multiplier.normalize():f}",
            f"{r.long_context_threshold:,}" if r.long_context_threshold else "",
            r.source,
        )
    return table


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
