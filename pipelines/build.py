"""`routeledger build`: prices into raw.*, every SQL model in order, then a published snapshot."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import models
from pipelines.prices import PriceBook, Resolution, build_price_book, resolve_models
from pipelines.warehouse import Warehouse

MONEY = pa.decimal128(18, 9)
MULTIPLIER = pa.decimal128(9, 6)

PRICES_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("model", pa.string()),
        ("service_tier", pa.string()),
        ("effective_from", pa.date32()),
        ("input_usd_per_mtok", MONEY),
        ("cached_input_usd_per_mtok", MONEY),
        ("cache_write_usd_per_mtok", MONEY),
        ("cache_write_1h_usd_per_mtok", MONEY),
        ("output_usd_per_mtok", MONEY),
        ("batch_multiplier", MULTIPLIER),
        ("long_context_threshold_tokens", pa.int64()),
        ("long_context_input_usd_per_mtok", MONEY),
        ("long_context_cached_input_usd_per_mtok", MONEY),
        ("long_context_cache_write_usd_per_mtok", MONEY),
        ("long_context_cache_write_1h_usd_per_mtok", MONEY),
        ("long_context_output_usd_per_mtok", MONEY),
        ("model_tier", pa.string()),
        ("source", pa.string()),
    ]
)

MODEL_MAP_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("model", pa.string()),
        ("price_provider", pa.string()),
        ("price_model", pa.string()),
        ("model_tier", pa.string()),
        ("matched_by", pa.string()),
    ]
)


@dataclass(frozen=True)
class BuildResult:
    build_id: str
    built_at: datetime
    models: list[models.Built]
    snapshot: Path
    unpriced_models: int


def run_build(
    db: str | Path | None,
    prices_path: Path | None = None,
    on_built: Callable[[models.Built], None] | None = None,
) -> BuildResult:
    """Load prices, build every model in one transaction, then publish the marts."""
    book = build_price_book(prices_path)
    ordered = models.discover()
    warehouse = Warehouse.at(db)
    with warehouse.writer("build") as con:
        con.execute("SET preserve_insertion_order = false")
        con.execute("BEGIN TRANSACTION")
        try:
            resolutions = write_model_map(con, book)
            write_prices(con, book, resolutions)
            built = models.build(con, ordered, on_built)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        built_at = datetime.now(UTC)
        build_id = built_at.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)
        tables = [m.name for m in ordered if m.layer == "marts" and m.materialized == "table"]
        snapshot = warehouse.publish(con, tables, build_id, built_at)
    unpriced = sum(1 for r in resolutions if r.price_model is None)
    return BuildResult(build_id, built_at, built, snapshot, unpriced)


def write_prices(con: duckdb.DuckDBPyConnection, book: PriceBook, resolutions: list[Resolution]) -> None:
    """Replace raw.prices with the merged catalog's rows for the models in use.

    In use: every model of the team's catalog and every model a logged call resolves
    to. The thousands of other published models stay out of the warehouse;
    `routeledger prices list` shows them.
    """
    used = {(r.price_provider, r.price_model) for r in resolutions if r.price_model is not None}
    used |= {(m.provider, m.model) for m in book.catalog.models}
    _replace_table(con, "raw.prices", prices_table(book, used))


def write_model_map(con: duckdb.DuckDBPyConnection, book: PriceBook) -> list[Resolution]:
    """Replace raw.model_map: every (provider, model) in raw.calls and the priced model it means."""
    resolutions = resolve_models(book, logged_models(con))
    _replace_table(con, "raw.model_map", model_map_table(book, resolutions))
    return resolutions


def logged_models(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every (provider, model) pair in raw.calls."""
    return con.execute("SELECT DISTINCT provider, model FROM raw.calls ORDER BY ALL").fetchall()


def models_in_use(db: str | Path | None, book: PriceBook) -> set[tuple[str, str]]:
    """The priced models the warehouse's logged calls resolve to; empty without a warehouse."""
    warehouse = Warehouse.at(db)
    if not warehouse.path.exists():
        return set()
    with warehouse.reader() as con:
        seen = logged_models(con)
    return {(r.price_provider, r.price_model) for r in resolve_models(book, seen) if r.price_model is not None}


def unpriced_calls(con: duckdb.DuckDBPyConnection, book: PriceBook) -> list[tuple]:
    """(provider, model, calls, first, last, why) for logged calls that no price covers.

    The same resolution and dates as a build, checked before one: a call is covered
    when its model resolves and has a price row in force on the call's UTC date.
    """
    resolutions = resolve_models(book, logged_models(con))
    con.register("__check_prices", prices_table(book))
    con.register("__check_model_map", model_map_table(book, resolutions))
    try:
        return con.execute(
            """
            WITH first_price AS (
                SELECT provider, model, min(effective_from) AS priced_from
                FROM __check_prices GROUP BY ALL
            )
            SELECT calls.provider, calls.model, count(*) AS calls, min(calls.ts), max(calls.ts),
                CASE WHEN any_value(map.price_model) IS NULL THEN 'no price in the catalog or genai-prices'
                     ELSE 'priced as ' || any_value(map.price_provider) || '/' || any_value(map.price_model)
                          || ' only from ' || any_value(first_price.priced_from) END AS why
            FROM raw.calls AS calls
            LEFT JOIN __check_model_map AS map USING (provider, model)
            LEFT JOIN first_price
                ON first_price.provider = map.price_provider AND first_price.model = map.price_model
            WHERE NOT calls.response_cache_hit
                AND (first_price.priced_from IS NULL
                     OR CAST(timezone('UTC', calls.ts) AS DATE) < first_price.priced_from)
            GROUP BY calls.provider, calls.model
            ORDER BY calls DESC
            """
        ).fetchall()
    finally:
        con.unregister("__check_prices")
        con.unregister("__check_model_map")


def prices_table(book: PriceBook, models: set[tuple[str, str]] | None = None) -> pa.Table:
    rows = book.rows() if models is None else [r for key in sorted(models) for r in book.models[key].rows]
    return pa.Table.from_pylist(
        [
            {
                "provider": r.provider,
                "model": r.model,
                "service_tier": r.service_tier,
                "effective_from": r.effective_from,
                "input_usd_per_mtok": r.input,
                "cached_input_usd_per_mtok": r.cached_input,
                "cache_write_usd_per_mtok": r.cache_write,
                "cache_write_1h_usd_per_mtok": r.cache_write_1h,
                "output_usd_per_mtok": r.output,
                "batch_multiplier": r.batch_multiplier,
                "long_context_threshold_tokens": r.long_context_threshold,
                "long_context_input_usd_per_mtok": r.long_context_input,
                "long_context_cached_input_usd_per_mtok": r.long_context_cached_input,
                "long_context_cache_write_usd_per_mtok": r.long_context_cache_write,
                "long_context_cache_write_1h_usd_per_mtok": r.long_context_cache_write_1h,
                "long_context_output_usd_per_mtok": r.long_context_output,
                "model_tier": r.model_tier,
                "source": r.source,
            }
            for r in rows
        ],
        schema=PRICES_SCHEMA,
    )


def model_map_table(book: PriceBook, resolutions: list[Resolution]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "provider": r.provider,
                "model": r.model,
                "price_provider": r.price_provider,
                "price_model": r.price_model,
                "model_tier": _tier(book, r),
                "matched_by": r.matched_by,
            }
            for r in resolutions
        ],
        schema=MODEL_MAP_SCHEMA,
    )


def _replace_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    con.register("__replacement", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __replacement")
    finally:
        con.unregister("__replacement")


def _tier(book: PriceBook, resolution: Resolution) -> str | None:
    """The catalog's tier of the model a call resolved to, also for a model without prices."""
    key = (resolution.price_provider, resolution.price_model)
    if resolution.price_model is not None and key in book.models:
        return book.models[key].tier
    logged = (resolution.provider.strip().lower(), resolution.model.strip().lower())
    for item in book.catalog.models:
        if logged[0] == item.provider and logged[1] in (item.model, *item.aliases):
            return item.tier
    return None
