"""The raw tables, declared once: what ingest and build write and the SQL models read.

`raw.calls`, `raw.loads` and `raw.rejects` are created by every writer (DDL below);
`raw.prices` and `raw.model_map` are replaced by each build from the price book, and
`raw.fx_rates` from the team's exchange rates (their Arrow schemas below). The model
runner accepts reads of exactly these tables.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines.ingest.fields import calls_ddl
from pipelines.policy import POLICY_LIMITS_SCHEMA, POLICY_LISTS_SCHEMA, POLICY_ROUTES_SCHEMA

MONEY = pa.decimal128(18, 9)  # a price per 1M tokens, as the catalog gives it
MULTIPLIER = pa.decimal128(9, 6)

# Money-bearing lines of provider bills and cloud exports, FOCUS 1.3 column names plus
# `x_` columns mirroring the FOCUS 1.5 draft's AI properties. One row is one token
# class (direction, cache action, TTL) or one non-token charge, so sums never double
# count. Money is DECIMAL in `BillingCurrency`; nothing is converted here.
BILLING_LINES_DDL = """CREATE TABLE IF NOT EXISTS raw.billing_lines (
    load_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,            -- 1-based line/row/record number in the file
    x_SourceFormat VARCHAR NOT NULL,       -- openai_costs | openai_costs_csv | anthropic_cost_report | focus
    x_SourceRecord VARCHAR,                -- the source's own line text, as read
    BillingAccountId VARCHAR,
    BillingAccountName VARCHAR,
    SubAccountId VARCHAR,                  -- OpenAI project, Anthropic workspace, cloud subscription
    SubAccountName VARCHAR,
    BillingCurrency VARCHAR NOT NULL,      -- ISO 4217, upper case
    BillingPeriodStart TIMESTAMPTZ,
    BillingPeriodEnd TIMESTAMPTZ,
    ChargePeriodStart TIMESTAMPTZ NOT NULL,  -- inclusive, UTC
    ChargePeriodEnd TIMESTAMPTZ NOT NULL,    -- exclusive, UTC
    ChargeCategory VARCHAR NOT NULL,       -- Usage | Purchase | Tax | Credit | Adjustment
    ChargeClass VARCHAR,                   -- NULL | Correction
    ChargeDescription VARCHAR,
    BilledCost DECIMAL(38, 12) NOT NULL,
    EffectiveCost DECIMAL(38, 12),
    ListCost DECIMAL(38, 12),
    ContractedCost DECIMAL(38, 12),
    ListUnitPrice DECIMAL(38, 18),
    PricingQuantity DECIMAL(38, 12),
    PricingUnit VARCHAR,
    ConsumedQuantity DECIMAL(38, 12),
    ConsumedUnit VARCHAR,
    ServiceProviderName VARCHAR,
    HostProviderName VARCHAR,
    InvoiceIssuerName VARCHAR,
    ServiceName VARCHAR,
    ServiceCategory VARCHAR,
    SkuId VARCHAR,
    SkuMeter VARCHAR,
    SkuPriceDetails VARCHAR,               -- JSON text
    RegionId VARCHAR,
    RegionName VARCHAR,
    ResourceId VARCHAR,
    Tags VARCHAR,                          -- JSON text
    x_Provider VARCHAR,                    -- the model's provider as logs name it (openai, anthropic, ...)
    x_ModelIdRaw VARCHAR,                  -- model id as billed (dated id, Bedrock name, Azure meter, SKU)
    x_TokenDirection VARCHAR,              -- Input | Output | NULL (not a token charge, or not parsed)
    x_TokenCacheAction VARCHAR,            -- Uncached | Read | Write | NULL
    x_CacheTtl VARCHAR,                    -- 5m | 1h | NULL
    x_ServiceTier VARCHAR,                 -- standard | batch | flex | priority | ...
    x_ContextTier VARCHAR,                 -- e.g. 0-200k | 200k-1M
    x_InferenceRegion VARCHAR,             -- inference geo / region as billed
    x_TokenCount BIGINT,                   -- tokens this line bills, when the source says
    x_RequestCount BIGINT,
    x_RawLineItem VARCHAR,                 -- the label that was parsed (line_item, token_type, usage type, meter, SKU)
    x_AmountRaw VARCHAR,                   -- the amount as written in the source
    x_AmountScale VARCHAR                  -- major | minor_cents
)"""

# Token quantities without money (OpenAI Usage API, Anthropic usage report): same
# vocabulary, one row per token class, so they meet billing lines and logged calls.
BILLING_USAGE_DDL = """CREATE TABLE IF NOT EXISTS raw.billing_usage (
    load_id BIGINT NOT NULL,
    source_row BIGINT NOT NULL,
    x_SourceFormat VARCHAR NOT NULL,       -- openai_usage | anthropic_usage_report
    x_SourceRecord VARCHAR,
    BillingAccountId VARCHAR,
    SubAccountId VARCHAR,
    ChargePeriodStart TIMESTAMPTZ NOT NULL,
    ChargePeriodEnd TIMESTAMPTZ NOT NULL,
    ServiceProviderName VARCHAR,
    x_Provider VARCHAR,
    x_ModelIdRaw VARCHAR,
    x_TokenDirection VARCHAR,
    x_TokenCacheAction VARCHAR,
    x_CacheTtl VARCHAR,
    x_ServiceTier VARCHAR,
    x_IsBatch BOOLEAN,
    x_ContextTier VARCHAR,
    x_InferenceRegion VARCHAR,
    x_TokenCount BIGINT NOT NULL,
    x_RequestCount BIGINT
)"""

# Each build's weekly headline figures (marts.review_weekly), kept across builds, so a later
# build can say which weeks it restated (marts.week_restatements). Written by `build`.
BUILD_WEEK_FIGURES_DDL = """CREATE TABLE IF NOT EXISTS raw.build_week_figures (
    build_id VARCHAR NOT NULL,
    built_at TIMESTAMPTZ NOT NULL,
    week DATE NOT NULL,
    cost_usd DECIMAL(38, 21),
    actions BIGINT NOT NULL,
    completed_actions BIGINT NOT NULL,
    cost_per_completed_action_usd DECIMAL(38, 9),
    PRIMARY KEY (build_id, week)
)"""

RAW_DDL = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SEQUENCE IF NOT EXISTS raw.load_id_seq START 1",
    calls_ddl("raw.calls"),
    # Fields added since a warehouse was created (ingest inserts by column name).
    "ALTER TABLE raw.calls ADD COLUMN IF NOT EXISTS web_search_calls BIGINT DEFAULT 0",
    """CREATE TABLE IF NOT EXISTS raw.loads (
        load_id BIGINT PRIMARY KEY,
        source_path VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        size_bytes BIGINT NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_loaded BIGINT NOT NULL,
        rows_rejected BIGINT NOT NULL,
        rows_duplicate BIGINT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NOT NULL,
        status VARCHAR NOT NULL,
        CHECK (rows_read = rows_loaded + rows_rejected + rows_duplicate)
    )""",
    # A restated billing export replaces the lines of an earlier load for the period
    # and account it covers: `rows_replaced` counts them, `replaced_load_ids` names them.
    "ALTER TABLE raw.loads ADD COLUMN IF NOT EXISTS rows_replaced BIGINT DEFAULT 0",
    "ALTER TABLE raw.loads ADD COLUMN IF NOT EXISTS replaced_load_ids VARCHAR",
    BILLING_LINES_DDL,
    BILLING_USAGE_DDL,
    BUILD_WEEK_FIGURES_DDL,
    # One row per successful build (pipelines/incremental.py): what it saw, so the next
    # build recomputes only what changed since.
    """CREATE TABLE IF NOT EXISTS raw.builds (
        build_id VARCHAR PRIMARY KEY,
        built_at TIMESTAMPTZ NOT NULL,
        kind VARCHAR NOT NULL,                 -- full | incremental
        full_reason VARCHAR,                   -- why full: first build, --full, sql/marts/x.sql changed...
        weeks VARCHAR,                         -- incremental: the ISO weeks computed again (2026-W47,...)
        max_load_id BIGINT NOT NULL,           -- the highest load_id the build saw
        routeledger_version VARCHAR NOT NULL,
        models_fingerprint VARCHAR NOT NULL,   -- JSON {sql/<layer>/<model>.sql: sha256 of SQL + column spec}
        catalog_fingerprint VARCHAR NOT NULL,  -- sha256 of model capabilities and policy rows
        prices_fingerprint VARCHAR NOT NULL    -- sha256 of prices, uplifts, model map, fx rates rows
    )""",
    # The duplicate check's keys (pipelines/ingest/keys.py): hash(call_id), ts and load_id of
    # every loaded call, and DuckDB's hash of a fixed text when they were computed.
    "CREATE TABLE IF NOT EXISTS raw.call_keys (key UBIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL, load_id BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS raw.call_keys_hash (canary UBIGINT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS raw.rejects (
        load_id BIGINT NOT NULL,
        source_path VARCHAR NOT NULL,
        source_row BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        raw_record VARCHAR
    )""",
)

PRICES_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("model", pa.string()),
        ("service_tier", pa.string()),
        ("effective_from", pa.timestamp("us", tz="UTC")),  # an instant: 00:00 UTC unless the catalog says
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
        ("web_search_usd_per_1k", MONEY),  # per 1,000 web-search calls; NULL: not priced
        # A time-of-day window (NULL on a period's own row): its rates hold from
        # window_start_minute to window_end_minute (local minutes of the day, end
        # exclusive) on window_weekdays (ISO, Monday = 1) in window_time_zone.
        ("window_name", pa.string()),
        ("window_time_zone", pa.string()),
        ("window_weekdays", pa.list_(pa.int8())),
        ("window_start_minute", pa.int16()),
        ("window_end_minute", pa.int16()),
    ]
)

# Regional (data-residency) uplifts: token costs of calls logged in `region` times
# `multiplier`, from effective_from, for the priced models the glob matches. `priority`
# is the catalog order: among uplifts of the same start, the later wins.
PRICE_UPLIFTS_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("model_pattern", pa.string()),
        ("region", pa.string()),
        ("multiplier", pa.decimal128(9, 4)),
        ("effective_from", pa.timestamp("us", tz="UTC")),
        ("priority", pa.int32()),
        ("source", pa.string()),
    ]
)

# The team's exchange rates (pipelines/fx.py), replaced by each build: USD per unit of
# `currency` from `effective_from` (UTC date) until the currency's next row.
FX_RATES_SCHEMA = pa.schema(
    [
        ("currency", pa.string()),
        ("rate_to_usd", pa.decimal128(18, 9)),
        ("effective_from", pa.date32()),
        ("source", pa.string()),
    ]
)

# The catalog's model capabilities (pricing/catalog.yaml `capabilities:`), replaced by each
# build: one row per catalog model that states any; null = not stated (unknown).
MODEL_CAPABILITIES_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("model", pa.string()),
        ("context_window", pa.int64()),
        ("tool_calling", pa.bool_()),
        ("structured_output", pa.bool_()),
        ("regions", pa.list_(pa.string())),
    ]
)

# The team catalog the last build priced with (its absolute path), replaced by each build:
# one row, none when the build used published prices only. `routeledger whatif` reads it.
BUILD_CATALOG_SCHEMA = pa.schema([("catalog_path", pa.string())])

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

SOURCES = frozenset(
    {
        "raw.calls",
        "raw.loads",
        "raw.rejects",
        "raw.prices",
        "raw.price_uplifts",
        "raw.model_map",
        "raw.model_capabilities",
        "raw.build_catalog",
        "raw.billing_lines",
        "raw.billing_usage",
        "raw.fx_rates",
        # replaced by each build from pricing/policy.yaml (pipelines/policy.py)
        "raw.policy_limits",
        "raw.policy_lists",
        "raw.policy_routes",
        # appended to by each build (pipelines/build.py record_week_figures)
        "raw.build_week_figures",
    }
)


def create_empty(con: duckdb.DuckDBPyConnection) -> None:
    """Every raw table, empty, with its real types (a scratch database for model tests)."""
    for statement in RAW_DDL:
        con.execute(statement)
    tables = (
        ("raw.prices", PRICES_SCHEMA),
        ("raw.price_uplifts", PRICE_UPLIFTS_SCHEMA),
        ("raw.model_map", MODEL_MAP_SCHEMA),
        ("raw.model_capabilities", MODEL_CAPABILITIES_SCHEMA),
        ("raw.build_catalog", BUILD_CATALOG_SCHEMA),
        ("raw.fx_rates", FX_RATES_SCHEMA),
        ("raw.policy_limits", POLICY_LIMITS_SCHEMA),
        ("raw.policy_lists", POLICY_LISTS_SCHEMA),
        ("raw.policy_routes", POLICY_ROUTES_SCHEMA),
    )
    for name, schema in tables:
        con.register("__empty", pa.Table.from_pylist([], schema=schema))
        try:
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM __empty")
        finally:
            con.unregister("__empty")
