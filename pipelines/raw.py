"""The raw tables, declared once: what ingest and build write and the SQL models read.

`raw.calls`, `raw.loads` and `raw.rejects` are created by every writer (DDL below);
`raw.prices` and `raw.model_map` are replaced by each build from the price book (their
Arrow schemas below). The model runner accepts reads of exactly these tables.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines.ingest.fields import calls_ddl

MONEY = pa.decimal128(18, 9)  # a price per 1M tokens, as the catalog gives it
MULTIPLIER = pa.decimal128(9, 6)

RAW_DDL = (
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SEQUENCE IF NOT EXISTS raw.load_id_seq START 1",
    calls_ddl("raw.calls"),
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

SOURCES = frozenset({"raw.calls", "raw.loads", "raw.rejects", "raw.prices", "raw.model_map"})


def create_empty(con: duckdb.DuckDBPyConnection) -> None:
    """Every raw table, empty, with its real types (a scratch database for model tests)."""
    for statement in RAW_DDL:
        con.execute(statement)
    for name, schema in (("raw.prices", PRICES_SCHEMA), ("raw.model_map", MODEL_MAP_SCHEMA)):
        con.register("__empty", pa.Table.from_pylist([], schema=schema))
        try:
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM __empty")
        finally:
            con.unregister("__empty")
