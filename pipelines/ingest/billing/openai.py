"""OpenAI: the Costs API (`/v1/organization/costs`) and the Usage API (completions) JSON pages.

A file holds one page, an array of pages or one page per line, as saved from the API.
`amount.value` is dollars, a JSON number: read straight into a DECIMAL by DuckDB's JSON
reader (never through a float). The model and token class live only in the free-text
`line_item` (labels.openai_line_item). Usage counts cached tokens inside `input_tokens`;
each usage result becomes disjoint rows: uncached input, cache reads, cache writes, output.
"""

from __future__ import annotations

import duckdb

from pipelines.ingest.billing.labels import openai_line_item
from pipelines.ingest.billing.stage import AI_SERVICE_CATEGORY, MONEY, decimal_check, no_unreadable, reasons
from pipelines.ingest.fields import quote
from pipelines.ingest.readers import readable_path
from pipelines.ingest.sources import SourceFile

COST_RESULT = (
    "STRUCT(object VARCHAR, amount STRUCT(value DECIMAL(38, 18), currency VARCHAR), line_item VARCHAR, "
    "project_id VARCHAR, api_key_id VARCHAR, organization_id VARCHAR, quantity DECIMAL(38, 6), quantity_unit VARCHAR)"
)
# The same, for a file DuckDB cannot read with typed amounts (an amount that is not a number):
# read as text, each bad amount one reject. Only here do JSON numbers pass through DuckDB's
# shortest round-trip text of a double (exact for amounts of up to 15 significant digits).
COST_RESULT_TEXT = COST_RESULT.replace("DECIMAL(38, 18)", "VARCHAR").replace("DECIMAL(38, 6)", "VARCHAR")
USAGE_RESULT = (
    "STRUCT(object VARCHAR, input_tokens BIGINT, input_cached_tokens BIGINT, input_cache_write_tokens BIGINT, "
    "input_uncached_tokens BIGINT, output_tokens BIGINT, num_model_requests BIGINT, project_id VARCHAR, "
    "user_id VARCHAR, api_key_id VARCHAR, model VARCHAR, batch BOOLEAN, service_tier VARCHAR)"
)


def _results(source: SourceFile, result_type: str) -> str:
    """SQL: one row per result of every bucket of every page, numbered in file order."""
    columns = quote("STRUCT(start_time BIGINT, end_time BIGINT, results " + result_type + "[])[]")
    return f"""(SELECT row_number() OVER (ORDER BY page_no, bucket_no, result_no) AS source_row,
            to_timestamp(b.start_time) AS period_start, to_timestamp(b.end_time) AS period_end, r
        FROM (SELECT row_number() OVER () AS page_no, data FROM read_json({readable_path(source.path)},
                columns={{'data': {columns}}}, format='auto', maximum_object_size=1073741824)) f,
            unnest(f.data) WITH ORDINALITY AS t(b, bucket_no),
            unnest(b.results) WITH ORDINALITY AS u(r, result_no))"""


def stage_costs(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Amounts typed by the JSON reader: exact, and the whole file fails on one that is not a number."""
    _stage_costs(con, source, COST_RESULT, "r.amount.value", "r.quantity")


def stage_costs_text(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Amounts read as text, for a file `stage_costs` could not read: a bad amount is one reject."""
    _stage_costs(
        con,
        source,
        COST_RESULT_TEXT,
        "TRY_CAST(trim(r.amount.value) AS DECIMAL(38, 18))",
        "TRY_CAST(trim(r.quantity) AS DECIMAL(38, 6))",
    )


def _stage_costs(
    con: duckdb.DuckDBPyConnection, source: SourceFile, result_type: str, value: str, quantity: str
) -> None:
    no_unreadable(con)
    label = openai_line_item("r.line_item")
    rejected = reasons(
        ("r.amount.value IS NULL", "'amount.value: missing'"),
        *decimal_check("r.amount.value", value, "amount.value"),
        *decimal_check("r.quantity", quantity, "quantity"),
        ("r.amount.currency IS NULL", "'amount.currency: missing'"),
        ("period_start IS NULL OR period_end IS NULL", "'bucket start_time/end_time: missing'"),
        ("period_end <= period_start", "'bucket end_time: not after start_time'"),
    )
    con.execute(
        f"""CREATE TEMP TABLE __billing AS
        WITH results AS (SELECT *, {label} AS parsed FROM {_results(source, result_type)})
        SELECT source_row,
            {rejected} AS reject_reason,
            to_json(r)::VARCHAR AS x_SourceRecord,
            'openai_costs' AS x_SourceFormat,
            r.organization_id AS BillingAccountId,
            coalesce(r.project_id, 'org') AS SubAccountId,
            upper(r.amount.currency) AS BillingCurrency,
            date_trunc('month', period_start) AS BillingPeriodStart,
            date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd,
            period_start AS ChargePeriodStart,
            period_end AS ChargePeriodEnd,
            'Usage' AS ChargeCategory,
            r.line_item AS ChargeDescription,
            CAST({value} AS {MONEY}) AS BilledCost,
            CAST({value} AS {MONEY}) AS EffectiveCost,
            {quantity} AS ConsumedQuantity,
            r.quantity_unit AS ConsumedUnit,
            'OpenAI' AS ServiceProviderName, 'OpenAI' AS HostProviderName, 'OpenAI' AS InvoiceIssuerName,
            'OpenAI API' AS ServiceName, '{AI_SERVICE_CATEGORY}' AS ServiceCategory,
            CASE WHEN parsed.direction = 'Output' THEN 'Output Tokens'
                 WHEN parsed.cache_action = 'Read' THEN 'Cache Read Input Tokens'
                 WHEN parsed.cache_action = 'Uncached' THEN 'Input Tokens'
                 ELSE r.line_item END AS SkuMeter,
            'openai' AS x_Provider,
            parsed.model AS x_ModelIdRaw,
            parsed.direction AS x_TokenDirection,
            parsed.cache_action AS x_TokenCacheAction,
            parsed.service_tier AS x_ServiceTier,
            parsed.context_tier AS x_ContextTier,
            CASE WHEN parsed.direction IS NOT NULL THEN CASE r.quantity_unit
                WHEN 'tokens' THEN CAST({quantity} AS BIGINT)
                WHEN '1000_tokens' THEN CAST({quantity} * 1000 AS BIGINT) END END AS x_TokenCount,
            r.line_item AS x_RawLineItem,
            rtrim(rtrim(CAST({value} AS VARCHAR), '0'), '.') AS x_AmountRaw,  -- as written, trailing zeros aside
            'major' AS x_AmountScale
        FROM results"""
    )


def stage_usage(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """One row per token class of each result; `source_row` is the result's number."""
    no_unreadable(con)
    uncached = (
        "coalesce(r.input_uncached_tokens, "
        "r.input_tokens - coalesce(r.input_cached_tokens, 0) - coalesce(r.input_cache_write_tokens, 0))"
    )
    rejected = reasons(
        ("r.input_tokens IS NULL", "'input_tokens: missing'"),
        ("r.output_tokens IS NULL", "'output_tokens: missing'"),
        ("period_start IS NULL OR period_end IS NULL", "'bucket start_time/end_time: missing'"),
        (f"{uncached} < 0", "'input_cached_tokens + input_cache_write_tokens: more than input_tokens'"),
    )
    con.execute(
        f"""CREATE TEMP TABLE __billing AS
        WITH results AS (SELECT * FROM {_results(source, USAGE_RESULT)}),
        classes AS (
            SELECT results.*, c.* FROM results, (VALUES
                ('Input', 'Uncached', 1), ('Input', 'Read', 2), ('Input', 'Write', 3), ('Output', NULL, 4)
            ) c(direction, cache_action, class_no)
        ),
        counted AS (
            SELECT *, CASE class_no WHEN 1 THEN {uncached} WHEN 2 THEN r.input_cached_tokens
                WHEN 3 THEN r.input_cache_write_tokens ELSE r.output_tokens END AS tokens
            FROM classes
        )
        SELECT source_row,
            {rejected} AS reject_reason,
            to_json(r)::VARCHAR AS x_SourceRecord,
            'openai_usage' AS x_SourceFormat,
            NULL::VARCHAR AS BillingAccountId,
            coalesce(r.project_id, 'org') AS SubAccountId,
            period_start AS ChargePeriodStart,
            period_end AS ChargePeriodEnd,
            'OpenAI' AS ServiceProviderName,
            'openai' AS x_Provider,
            r.model AS x_ModelIdRaw,
            direction AS x_TokenDirection,
            cache_action AS x_TokenCacheAction,
            r.service_tier AS x_ServiceTier,
            r.batch AS x_IsBatch,
            coalesce(tokens, 0) AS x_TokenCount,
            -- requests on the uncached input row only, so sums do not multiply them
            CASE WHEN class_no = 1 THEN r.num_model_requests END AS x_RequestCount
        FROM counted
        -- a rejected result is one reject, on its first class row
        WHERE class_no = 1 OR NOT (r.input_tokens IS NULL OR r.output_tokens IS NULL OR {uncached} < 0
            OR period_start IS NULL OR period_end IS NULL)"""
    )
