"""`routeledger build`: prices into raw.*, every SQL model in order, then a published snapshot."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines import audits, incremental, models
from pipelines.fx import FxRates, fx_rates_table, load_fx_rates
from pipelines.ingest.fields import quote
from pipelines.policy import Policy, load_policy, policy_beside, policy_tables
from pipelines.prices import PriceBook, Resolution, build_price_book, catalog_source, resolve_models
from pipelines.prices.billed import resolve_billed
from pipelines.raw import (
    BUILD_CATALOG_SCHEMA,
    BUILD_WEEK_FIGURES_DDL,
    MODEL_CAPABILITIES_SCHEMA,
    MODEL_MAP_SCHEMA,
    PRICE_UPLIFTS_SCHEMA,
    PRICES_SCHEMA,
)
from pipelines.warehouse import Warehouse, configure


@dataclass(frozen=True)
class BuildResult:
    build_id: str
    built_at: datetime
    models: list[models.Built]
    audits: list[audits.AuditResult]
    snapshot: Path
    unpriced_models: int
    plan: incremental.Plan


def run_build(
    db: str | Path | None,
    prices: PriceBook | Path | None = None,
    on_built: Callable[[models.Built], None] | None = None,
    on_audit: Callable[[audits.AuditResult], None] | None = None,
    fx_rates: FxRates | Path | None = None,
    policy: Policy | Path | None = None,
    full: bool = False,
    on_plan: Callable[[str], None] | None = None,  # the plan in one line: full (why) or incremental (weeks)
) -> BuildResult:
    """Load prices, build the models and pass their audits in one transaction, then publish the marts.

    Only what changed since the last build is computed again (pipelines/incremental.py)
    unless `full`. A failing audit (AuditsFailed) rolls everything back: the last
    published snapshot stays, and the next build starts from the last successful one.
    """
    book = prices if isinstance(prices, PriceBook) else build_price_book(prices)
    rates = fx_rates if isinstance(fx_rates, FxRates) else load_fx_rates(fx_rates)[0]
    if not isinstance(policy, Policy):  # a path, or None: the policy.yaml beside the catalog, if any
        policy = load_policy(policy or policy_beside(book.catalog_path))
    ordered = models.discover()
    checks = audits.collect(ordered, on_build=True)
    warehouse = Warehouse.at(db)
    with warehouse.writer("build") as con:
        con.execute("SET preserve_insertion_order = false")
        built_at = datetime.now(UTC)
        build_id = built_at.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)
        con.execute("BEGIN TRANSACTION")
        try:
            previous = incremental.last_build(con)
            if previous is not None and not full:
                incremental.keep_previous_prices(con)
            resolutions = load_price_tables(con, book, fx_rates=rates, policy=policy)
            plan = incremental.plan(con, ordered, previous, full=full)
            if on_plan:
                on_plan(plan.describe(ordered))
            built = models.build(con, ordered, on_built, plan.scope)
            audited = audits.run(con, checks, on_audit)
            record_week_figures(con, build_id, built_at)
            incremental.record(con, plan, build_id, built_at)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        tables = [m.name for m in ordered if m.layer == "marts" and m.materialized == "table"]
        snapshot = warehouse.publish(con, tables, build_id, built_at)
    unpriced = sum(1 for r in resolutions if r.price_model is None)
    return BuildResult(build_id, built_at, built, audited, snapshot, unpriced, plan)


def record_week_figures(con: duckdb.DuckDBPyConnection, build_id: str, built_at: datetime) -> None:
    """Keep this build's weekly headline figures in raw.build_week_figures, for later builds to compare with.

    Runs after the models: marts.week_restatements has compared this build with the earlier ones only.
    """
    con.execute(
        """INSERT INTO raw.build_week_figures
        SELECT ?, ?, week, cost_usd, actions, completed_actions, cost_per_completed_action_usd
        FROM marts.review_weekly""",
        [build_id, built_at],
    )


def build_models(
    con: duckdb.DuckDBPyConnection,
    book: PriceBook,
    ordered: list[models.Model],
    on_built: Callable[[models.Built], None] | None = None,
    fx_rates: FxRates | None = None,
    policy: Policy | None = None,
) -> tuple[list[Resolution], list[models.Built]]:
    """raw.model_map and raw.prices from the price book, raw.fx_rates, raw.policy_* from the policy (none:
    empty), then every model.

    The caller owns the transaction. The map holds the logged models and the models billing
    exports name (as billed); the resolutions returned are the logged ones.
    """
    resolutions = load_price_tables(con, book, fx_rates, policy)
    return resolutions, models.build(con, ordered, on_built)


def load_price_tables(
    con: duckdb.DuckDBPyConnection, book: PriceBook, fx_rates: FxRates | None = None, policy: Policy | None = None
) -> list[Resolution]:
    """Replace raw.model_map, raw.prices and the other tables a build derives from the catalog and policy."""
    resolutions = resolve_models(book, logged_models(con))
    logged = {(r.provider, r.model) for r in resolutions}
    billed = resolve_billed(book, [pair for pair in billed_models(con) if pair not in logged])
    _replace_table(con, "raw.model_map", model_map_table(resolutions + billed))
    used = {(r.price_provider, r.price_model) for r in resolutions + billed if r.price_model is not None}
    used |= {(m.provider, m.model) for m in book.catalog.models}
    # The models in use only: the thousands of other published models stay out of the
    # warehouse (`routeledger prices list` shows them).
    _replace_table(con, "raw.prices", prices_table(book, used))
    _replace_table(con, "raw.price_uplifts", uplifts_table(book))
    _replace_table(con, "raw.model_capabilities", capabilities_table(book))
    paths = [{"catalog_path": str(book.catalog_path.resolve())}] if book.catalog_path else []
    _replace_table(con, "raw.build_catalog", pa.Table.from_pylist(paths, schema=BUILD_CATALOG_SCHEMA))
    _replace_table(con, "raw.fx_rates", fx_rates_table(fx_rates or FxRates()))
    for name, table in policy_tables(policy or Policy()).items():
        _replace_table(con, name, table)
    return resolutions


def logged_models(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every (provider, model) pair in raw.calls."""
    return con.execute("SELECT DISTINCT provider, model FROM raw.calls ORDER BY ALL").fetchall()


def billed_models(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every (provider, model as billed) pair of raw.billing_lines and raw.billing_usage whose provider is known."""
    return con.execute(
        """SELECT DISTINCT x_Provider, x_ModelIdRaw FROM (
            SELECT x_Provider, x_ModelIdRaw FROM raw.billing_lines
            UNION ALL SELECT x_Provider, x_ModelIdRaw FROM raw.billing_usage
        ) WHERE x_Provider IS NOT NULL AND x_ModelIdRaw IS NOT NULL ORDER BY ALL"""
    ).fetchall()


def models_in_use(db: str | Path | None, book: PriceBook) -> set[tuple[str, str]]:
    """The priced models the warehouse's logged calls resolve to; empty without a warehouse."""
    warehouse = Warehouse.at(db)
    if not warehouse.path.exists():
        return set()
    with warehouse.reader() as con:
        seen = logged_models(con)
    return {(r.price_provider, r.price_model) for r in resolve_models(book, seen) if r.price_model is not None}


def unpriced_calls(db: str | Path | None, book: PriceBook) -> list[tuple]:
    """(provider/model, calls, first, last, why) for logged calls no price covers, as a build would see them."""
    return health_findings(db, book)["unpriced calls"]


def health_findings(db: str | Path | None, book: PriceBook) -> dict[str, list[tuple]]:
    """marts.data_health's price findings under this price book: 'unpriced calls' and 'unmapped billing names'.

    Each a list of (subject, rows, first, last, detail), as a build would see them.

    A dry run: the warehouse's raw tables, read-only, under this price book, through the
    same models as `build` (in memory, nothing written), read from marts.data_health.
    So "is this call priced?" has one answer, the models'.
    """
    warehouse = Warehouse.at(db)
    with warehouse.reader() as source:
        source.close()  # only to fail early and clearly when the warehouse is busy or missing
    con = duckdb.connect()
    try:
        configure(con)
        con.execute(f"ATTACH {quote(str(warehouse.path))} AS warehouse (READ_ONLY)")
        con.execute("CREATE SCHEMA raw")
        for table in ("calls", "loads", "rejects", "billing_lines", "billing_usage"):
            con.execute(f"CREATE VIEW raw.{table} AS SELECT * FROM warehouse.raw.{table}")
        con.execute(BUILD_WEEK_FIGURES_DDL)  # empty: a dry run has no earlier build to compare with
        build_models(con, book, models.discover())
        return {
            check: con.execute(
                """SELECT subject, n_rows, first_seen, last_seen, detail FROM marts.data_health
                WHERE check_name = ? ORDER BY n_rows DESC, subject""",
                [check],
            ).fetchall()
            for check in ("unpriced calls", "unmapped billing names")
        }
    finally:
        con.close()


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
                "web_search_usd_per_1k": r.web_search_per_1k,
                "window_name": r.window,
                "window_time_zone": r.window_time_zone,
                "window_weekdays": list(r.window_weekdays) if r.window_weekdays else None,
                "window_start_minute": r.window_start_minute,
                "window_end_minute": r.window_end_minute,
            }
            for r in rows
        ],
        schema=PRICES_SCHEMA,
    )


def uplifts_table(book: PriceBook) -> pa.Table:
    source = catalog_source(book.catalog_path)
    return pa.Table.from_pylist(
        [
            {
                "provider": u.provider,
                "model_pattern": u.models,
                "region": region,
                "multiplier": u.multiplier,
                "effective_from": u.effective_from,
                "priority": index,
                "source": source,
            }
            for index, u in enumerate(book.catalog.regional_uplifts)
            for region in u.regions
        ],
        schema=PRICE_UPLIFTS_SCHEMA,
    )


def capabilities_table(book: PriceBook) -> pa.Table:
    """raw.model_capabilities: the catalog models that state capabilities, keyed by the priced model."""
    return pa.Table.from_pylist(
        [
            {"provider": m.provider, "model": m.model, **m.capabilities.model_dump()}
            for m in book.catalog.models
            if m.capabilities is not None
        ],
        schema=MODEL_CAPABILITIES_SCHEMA,
    )


def model_map_table(resolutions: list[Resolution]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "provider": r.provider,
                "model": r.model,
                "price_provider": r.price_provider,
                "price_model": r.price_model,
                "model_tier": r.model_tier,
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
