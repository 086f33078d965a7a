"""Anthropic Admin API: the cost report and the messages usage report, as JSON pages.

A file holds one page (`{"data": [{starting_at, ending_at, results: [...]}], ...}`), an
array of pages or one page per line. The cost report's `amount` is a decimal string in
the currency's lowest unit (cents; fractional cents occur): read as text, divided by
100 exactly. The usage report's input fields are disjoint (uncached, cache read,
5-minute and 1-hour cache writes), so each becomes its own row, as the cost report's
`token_type` already is.
"""

from __future__ import annotations

import duckdb

from pipelines.ingest.billing.stage import (
    AI_SERVICE_CATEGORY,
    MONEY,
    decimal_check,
    no_unreadable,
    reasons,
    timestamp_sql,
)
from pipelines.ingest.fields import quote
from pipelines.ingest.readers import readable_path
from pipelines.ingest.sources import SourceFile

COST_RESULT = (
    "STRUCT(amount VARCHAR, currency VARCHAR, description VARCHAR, cost_type VARCHAR, token_type VARCHAR, "
    "model VARCHAR, service_tier VARCHAR, context_window VARCHAR, inference_geo VARCHAR, workspace_id VARCHAR)"
)
USAGE_RESULT = (
    "STRUCT(uncached_input_tokens BIGINT, cache_read_input_tokens BIGINT, "
    "cache_creation STRUCT(ephemeral_5m_input_tokens BIGINT, ephemeral_1h_input_tokens BIGINT), "
    "output_tokens BIGINT, server_tool_use STRUCT(web_search_requests BIGINT), model VARCHAR, "
    "service_tier VARCHAR, context_window VARCHAR, inference_geo VARCHAR, workspace_id VARCHAR, "
    "api_key_id VARCHAR, account_id VARCHAR)"
)

# token_type -> (direction, cache action, TTL, SkuMeter): billing_formats.md 7.3
TOKEN_TYPES = {
    "uncached_input_tokens": ("Input", "Uncached", None, "Input Tokens"),
    "cache_read_input_tokens": ("Input", "Read", None, "Cache Read Input Tokens"),
    "cache_creation.ephemeral_5m_input_tokens": ("Input", "Write", "5m", "Cache Write Input Tokens"),
    "cache_creation.ephemeral_1h_input_tokens": ("Input", "Write", "1h", "Cache Write Input Tokens"),
    "output_tokens": ("Output", None, None, "Output Tokens"),
}
COST_TYPES = {
    "web_search": "Web Search Requests",
    "code_execution": "Code Execution",
    "session_usage": "Session Runtime",
}


def _sql(value: str | None) -> str:
    return "NULL" if value is None else quote(value)


def _token_case(column: str, field: int) -> str:
    whens = " ".join(f"WHEN {quote(k)} THEN {_sql(v[field])}" for k, v in TOKEN_TYPES.items())
    return f"CASE {column} {whens} END"


def _results(source: SourceFile, result_type: str) -> str:
    columns = quote("STRUCT(starting_at VARCHAR, ending_at VARCHAR, results " + result_type + "[])[]")
    return f"""(SELECT row_number() OVER (ORDER BY page_no, bucket_no, result_no) AS source_row,
            {timestamp_sql("b.starting_at")} AS period_start, {timestamp_sql("b.ending_at")} AS period_end, r
        FROM (SELECT row_number() OVER () AS page_no, data FROM read_json({readable_path(source.path)},
                columns={{'data': {columns}}}, format='auto', maximum_object_size=1073741824)) f,
            unnest(f.data) WITH ORDINALITY AS t(b, bucket_no),
            unnest(b.results) WITH ORDINALITY AS u(r, result_no))"""


def stage_costs(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    no_unreadable(con)
    amount = "(TRY_CAST(trim(r.amount) AS DECIMAL(38, 16)) * 0.01)"  # cents -> the currency, exactly
    meter = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in COST_TYPES.items())
    rejected = reasons(
        *decimal_check("r.amount", amount, "amount", required=True),
        ("r.currency IS NULL", "'currency: missing'"),
        ("period_start IS NULL OR period_end IS NULL", "'starting_at/ending_at: missing or not a timestamp'"),
        ("period_end <= period_start", "'ending_at: not after starting_at'"),
        (
            f"r.token_type IS NOT NULL AND {_token_case('r.token_type', 0)} IS NULL",
            "'token_type: unknown value ' || r.token_type",
        ),
    )
    con.execute(
        f"""CREATE TEMP TABLE __billing AS
        SELECT source_row,
            {rejected} AS reject_reason,
            to_json(r)::VARCHAR AS x_SourceRecord,
            'anthropic_cost_report' AS x_SourceFormat,
            NULL::VARCHAR AS BillingAccountId,
            coalesce(r.workspace_id, 'default') AS SubAccountId,
            upper(r.currency) AS BillingCurrency,
            date_trunc('month', period_start) AS BillingPeriodStart,
            date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd,
            period_start AS ChargePeriodStart,
            period_end AS ChargePeriodEnd,
            'Usage' AS ChargeCategory,
            r.description AS ChargeDescription,
            CAST({amount} AS {MONEY}) AS BilledCost,
            CAST({amount} AS {MONEY}) AS EffectiveCost,
            'Anthropic' AS ServiceProviderName, 'Anthropic' AS HostProviderName, 'Anthropic' AS InvoiceIssuerName,
            'Claude API' AS ServiceName, '{AI_SERVICE_CATEGORY}' AS ServiceCategory,
            coalesce({_token_case("r.token_type", 3)}, CASE r.cost_type {meter} END, r.cost_type) AS SkuMeter,
            'anthropic' AS x_Provider,
            r.model AS x_ModelIdRaw,
            {_token_case("r.token_type", 0)} AS x_TokenDirection,
            {_token_case("r.token_type", 1)} AS x_TokenCacheAction,
            {_token_case("r.token_type", 2)} AS x_CacheTtl,
            r.service_tier AS x_ServiceTier,
            r.context_window AS x_ContextTier,
            r.inference_geo AS x_InferenceRegion,
            coalesce(r.token_type, r.cost_type, r.description) AS x_RawLineItem,
            r.amount AS x_AmountRaw,
            'minor_cents' AS x_AmountScale
        FROM {_results(source, COST_RESULT)}"""
    )


def stage_usage(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """One row per token class of each result; `source_row` is the result's number."""
    no_unreadable(con)
    counts = {
        "uncached_input_tokens": "r.uncached_input_tokens",
        "cache_read_input_tokens": "r.cache_read_input_tokens",
        "cache_creation.ephemeral_5m_input_tokens": "r.cache_creation.ephemeral_5m_input_tokens",
        "cache_creation.ephemeral_1h_input_tokens": "r.cache_creation.ephemeral_1h_input_tokens",
        "output_tokens": "r.output_tokens",
    }
    values = ", ".join(f"({quote(k)}, {i})" for i, k in enumerate(counts, start=1))
    tokens = "CASE class_no " + " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(counts.values(), start=1)) + " END"
    bad = "period_start IS NULL OR period_end IS NULL OR (r.uncached_input_tokens IS NULL AND r.output_tokens IS NULL)"
    rejected = reasons(
        ("period_start IS NULL OR period_end IS NULL", "'starting_at/ending_at: missing or not a timestamp'"),
        (
            "r.uncached_input_tokens IS NULL AND r.output_tokens IS NULL",
            "'uncached_input_tokens, output_tokens: missing'",
        ),
    )
    con.execute(
        f"""CREATE TEMP TABLE __billing AS
        WITH classes AS (
            SELECT res.*, c.* FROM {_results(source, USAGE_RESULT)} res, (VALUES {values}) c(token_type, class_no)
        )
        SELECT source_row,
            {rejected} AS reject_reason,
            to_json(r)::VARCHAR AS x_SourceRecord,
            'anthropic_usage_report' AS x_SourceFormat,
            NULL::VARCHAR AS BillingAccountId,
            coalesce(r.workspace_id, 'default') AS SubAccountId,
            period_start AS ChargePeriodStart,
            period_end AS ChargePeriodEnd,
            'Anthropic' AS ServiceProviderName,
            'anthropic' AS x_Provider,
            r.model AS x_ModelIdRaw,
            {_token_case("token_type", 0)} AS x_TokenDirection,
            {_token_case("token_type", 1)} AS x_TokenCacheAction,
            {_token_case("token_type", 2)} AS x_CacheTtl,
            r.service_tier AS x_ServiceTier,
            r.service_tier = 'batch' AS x_IsBatch,
            r.context_window AS x_ContextTier,
            r.inference_geo AS x_InferenceRegion,
            coalesce({tokens}, 0) AS x_TokenCount
        FROM classes
        WHERE class_no = 1 OR NOT ({bad})"""
    )
