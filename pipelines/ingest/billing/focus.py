"""FOCUS 1.0-1.3 exports (CSV or Parquet, gz too) and the OpenAI usage dashboard's cost CSV.

Columns are copied by their FOCUS names; ProviderName (1.0-1.2) becomes
ServiceProviderName. Literal `NULL` strings and empty values are NULL; timestamps may
lack `T` and `Z` (UTC). The AI properties come from `SkuPriceDetails` (the 1.5 draft's
ModelId, TokenDirection, TokenCacheAction) or, failing that, from the cloud's own label:
an AWS Bedrock usage type, an Azure OpenAI meter, a Vertex AI SKU description
(labels.py). A row whose money, dates, category or currency do not parse is rejected
naming the field; a line with more or fewer columns than the header is rejected by
the reader; the rest loads.
"""

from __future__ import annotations

import duckdb

from pipelines.ingest.billing.labels import azure_meter, bedrock_usage_type, openai_line_item, provider_of, vertex_sku
from pipelines.ingest.billing.stage import (
    AI_SERVICE_CATEGORY,
    MONEY,
    UNIT_PRICE,
    decimal_check,
    reasons,
    stage_rows,
    text_column,
    timestamp_sql,
)
from pipelines.ingest.fields import quote
from pipelines.ingest.sources import SourceFile

CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
TEXT = (
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "ChargeDescription",
    "PricingUnit",
    "ConsumedUnit",
    "InvoiceIssuerName",
    "ServiceName",
    "ServiceCategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "RegionId",
    "RegionName",
    "ResourceId",
    "Tags",
)


def _block(text: str) -> str:
    """SQL: the tokens in one pricing unit named by a unit text ('1K', '1000000 Tokens', '1M tokens')."""
    return (
        f"CASE WHEN regexp_matches({text}, '(?i)^\\s*(1k|1000)\\b') THEN 1000 "
        f"WHEN regexp_matches({text}, '(?i)^\\s*(1m|1000000)\\b') THEN 1000000 END"
    )


DECIMALS = {
    "BilledCost": MONEY,
    "EffectiveCost": MONEY,
    "ListCost": MONEY,
    "ContractedCost": MONEY,
    "PricingQuantity": MONEY,
    "ConsumedQuantity": MONEY,
    "ListUnitPrice": UNIT_PRICE,
}
TIMESTAMPS = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")


def _checks(has_zone: bool) -> list[tuple[str, str]]:
    """Why a row is rejected, over its text (`t_` columns) and parsed values (`v_`)."""
    checks = [
        *decimal_check("t_BilledCost", "v_BilledCost", "BilledCost", required=True),
        *(c for name in DECIMALS if name != "BilledCost" for c in decimal_check(f"t_{name}", f"v_{name}", name)),
        ("currency IS NULL", "'BillingCurrency: missing'"),
        (
            "NOT regexp_full_match(currency, '[A-Z]{3}')",
            "'BillingCurrency: not an ISO 4217 code: ' || left(currency, 40)",
        ),
        (
            "category IS NULL",
            "'ChargeCategory: not one of " + ", ".join(CATEGORIES) + ": ' || coalesce(t_ChargeCategory, 'missing')",
        ),
        (
            "t_ChargeClass IS NOT NULL AND lower(t_ChargeClass) <> 'correction'",
            "'ChargeClass: not Correction: ' || left(t_ChargeClass, 40)",
        ),
    ]
    for name in TIMESTAMPS:
        if name.startswith("Charge"):
            checks.append((f"t_{name} IS NULL", quote(f"{name}: missing")))
        checks.append(
            (
                f"t_{name} IS NOT NULL AND v_{name} IS NULL",
                f"{quote(name + ': not a timestamp: ')} || left(t_{name}, 40)",
            )
        )
    checks.append(("v_ChargePeriodEnd < v_ChargePeriodStart", "'ChargePeriodEnd: before ChargePeriodStart'"))
    if has_zone:
        # A zone is a name; a number there means the row's values slid a column (FOCUS sample's Microsoft rows).
        checks.append(
            (
                "TRY_CAST(t_AvailabilityZone AS DOUBLE) IS NOT NULL",
                "'AvailabilityZone: holds a number (' || left(t_AvailabilityZone, 20) || '): "
                "the row''s columns are shifted'",
            )
        )
    return checks


def stage(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    columns = stage_rows(con, source)

    def col(*names: str) -> str:
        return text_column(columns, *names)

    # Each value is read from its text once (t_), parsed once (v_); checks and output reuse them.
    texts = {name: col(name) for name in (*DECIMALS, *TIMESTAMPS, "ChargeCategory", "ChargeClass", "AvailabilityZone")}
    text_sql = ", ".join(f"{sql} AS t_{name}" for name, sql in texts.items())
    typed_sql = ", ".join(
        [f"TRY_CAST(t_{name} AS {type_}) AS v_{name}" for name, type_ in DECIMALS.items()]
        + [f"{timestamp_sql('t_' + name)} AS v_{name}" for name in TIMESTAMPS]
    )
    provider_name = col("ServiceProviderName", "ProviderName")
    sellers = ", ".join(col(n) for n in ("HostProviderName", "InvoiceIssuerName", "ServiceName", "PublisherName"))
    labels = ", ".join(col(n) for n in ("x_UsageType", "x_SkuMeterName", "SkuMeter", "ChargeDescription"))
    is_ai = (
        f"(service_category = '{AI_SERVICE_CATEGORY}' OR regexp_matches(context, "
        "'openai|bedrock|vertex|cognitive|foundry|generative|gemini') OR regexp_matches(lower(label), 'tokens?\\b'))"
    )
    # tokens in one pricing unit: Microsoft's block size, its unit text, FOCUS's PricingUnit, a '1M' meter
    block = (
        f"coalesce(TRY_CAST({col('x_PricingBlockSize')} AS BIGINT), {_block(col('x_PricingUnitDescription'))}, "
        f"{_block(col('PricingUnit'))}, CASE WHEN regexp_matches(label, '\\b1M\\b') THEN 1000000 END)"
    )
    category = " ".join(f"WHEN '{c.lower()}' THEN '{c}'" for c in CATEGORIES)
    con.execute(
        f"""CREATE TEMP TABLE __billing AS
        WITH texts AS (
            SELECT *, {text_sql}, upper({col("BillingCurrency")}) AS currency,
                coalesce({labels}) AS label, lower(concat_ws(' ', {provider_name}, {sellers})) AS context,
                {col("ServiceCategory")} AS service_category, TRY_CAST({col("SkuPriceDetails")} AS JSON) AS details
            FROM __rows WHERE early_reason IS NULL
        ),
        typed AS (
            SELECT *, {typed_sql}, CASE lower(t_ChargeCategory) {category} END AS category FROM texts
        ),
        parsed AS (
            SELECT *, {is_ai} AS is_ai_row, CASE
                WHEN details ->> 'TokenDirection' IS NOT NULL OR details ->> 'ModelId' IS NOT NULL THEN {{
                    'model': details ->> 'ModelId', 'direction': details ->> 'TokenDirection',
                    'cache_action': details ->> 'TokenCacheAction', 'cache_ttl': NULL::VARCHAR,
                    'service_tier': NULL::VARCHAR, 'context_tier': NULL::VARCHAR}}
                WHEN NOT {is_ai} THEN NULL
                WHEN contains(label, '-tokens') OR contains(label, '-token-count') THEN {bedrock_usage_type("label")}
                -- an Azure meter names a direction (Inp, Outp, cached) or tokens; 'Data Transfer Out' is not one
                WHEN regexp_matches(context, 'microsoft|azure')
                    AND regexp_matches(lower(label), 'token|\\binp|\\boutp|cached') THEN {azure_meter("label")}
                WHEN regexp_matches(context, 'google') THEN {vertex_sku("label")}
                WHEN regexp_matches(context, 'openai') THEN {openai_line_item("label")}
            END AS ai
            FROM typed
        )
        SELECT source_row,
            {reasons(*_checks("availabilityzone" in columns))} AS reject_reason,
            raw_record AS x_SourceRecord,
            'focus' AS x_SourceFormat,
            {", ".join(f"{col(name)} AS {name}" for name in TEXT)},
            currency AS BillingCurrency,
            v_BillingPeriodStart AS BillingPeriodStart,
            v_BillingPeriodEnd AS BillingPeriodEnd,
            v_ChargePeriodStart AS ChargePeriodStart,
            v_ChargePeriodEnd AS ChargePeriodEnd,
            category AS ChargeCategory,
            CASE WHEN t_ChargeClass IS NOT NULL THEN 'Correction' END AS ChargeClass,
            {", ".join(f"v_{name} AS {name}" for name in DECIMALS)},
            {provider_name} AS ServiceProviderName,
            {col("HostProviderName")} AS HostProviderName,
            CASE WHEN ai.direction IS NOT NULL OR ai.model IS NOT NULL
                THEN {provider_of("ai.model", "details ->> 'ModelDeveloper'", "context")} END AS x_Provider,
            ai.model AS x_ModelIdRaw,
            ai.direction AS x_TokenDirection,
            ai.cache_action AS x_TokenCacheAction,
            ai.cache_ttl AS x_CacheTtl,
            ai.service_tier AS x_ServiceTier,
            ai.context_tier AS x_ContextTier,
            CASE WHEN ai.direction IS NOT NULL THEN CASE
                -- Vertex AI counts a token SKU's usage in tokens whatever its unit says
                WHEN lower({col("ConsumedUnit")}) LIKE 'token%' OR regexp_matches(context, 'google')
                    THEN TRY_CAST(v_ConsumedQuantity AS BIGINT)
                ELSE TRY_CAST(v_PricingQuantity * {block} AS BIGINT) END END AS x_TokenCount,
            -- the label parsed, or left unparsed on an AI row (flagged by its NULL direction)
            CASE WHEN ai IS NOT NULL OR is_ai_row THEN label END AS x_RawLineItem,
            t_BilledCost AS x_AmountRaw,
            'major' AS x_AmountScale
        FROM parsed"""
    )
    con.execute(
        """INSERT INTO __unreadable SELECT source_row, early_reason, raw_record FROM __rows
        WHERE early_reason IS NOT NULL"""
    )


def stage_openai_csv(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """The usage dashboard's cost export: one row per day, project and line_item, dollars as text."""
    columns = stage_rows(con, source)

    def col(name: str) -> str:
        return text_column(columns, name)

    amount = f"TRY_CAST({col('amount_value')} AS DECIMAL(38, 18))"
    start = f"coalesce({timestamp_sql(col('start_time_iso'))}, {timestamp_sql(col('start_time'))})"
    end = f"coalesce({timestamp_sql(col('end_time_iso'))}, {timestamp_sql(col('end_time'))})"
    parsed = openai_line_item(col("line_item"))
    rejected = reasons(
        # the export writes days without data as rows of empty fields: counted and said, not loaded
        (f"{col('amount_value')} IS NULL AND {col('line_item')} IS NULL", "'empty row: a day without charges'"),
        (f"{col('amount_value')} IS NULL AND {col('line_item')} IS NOT NULL", "'amount_value: missing'"),
        *decimal_check(col("amount_value"), amount, "amount_value"),
        (f"{col('amount_currency')} IS NULL AND {col('line_item')} IS NOT NULL", "'amount_currency: missing'"),
        ("period_start IS NULL OR period_end IS NULL", "'start_time/end_time: missing or not a timestamp'"),
    )
    con.execute(
        f"""CREATE TEMP TABLE __billing AS
        WITH rows AS (
            SELECT *, {start} AS period_start, {end} AS period_end, {parsed} AS parsed
            FROM __rows WHERE early_reason IS NULL
        )
        SELECT source_row, {rejected} AS reject_reason,
            raw_record AS x_SourceRecord,
            'openai_costs_csv' AS x_SourceFormat,
            {col("organization_id")} AS BillingAccountId,
            {col("organization_name")} AS BillingAccountName,
            coalesce({col("project_id")}, 'org') AS SubAccountId,
            upper({col("amount_currency")}) AS BillingCurrency,
            date_trunc('month', period_start) AS BillingPeriodStart,
            date_trunc('month', period_start) + INTERVAL 1 MONTH AS BillingPeriodEnd,
            period_start AS ChargePeriodStart,
            period_end AS ChargePeriodEnd,
            'Usage' AS ChargeCategory,
            {col("line_item")} AS ChargeDescription,
            CAST({amount} AS {MONEY}) AS BilledCost,
            CAST({amount} AS {MONEY}) AS EffectiveCost,
            'OpenAI' AS ServiceProviderName, 'OpenAI' AS HostProviderName, 'OpenAI' AS InvoiceIssuerName,
            'OpenAI API' AS ServiceName, '{AI_SERVICE_CATEGORY}' AS ServiceCategory,
            'openai' AS x_Provider,
            parsed.model AS x_ModelIdRaw,
            parsed.direction AS x_TokenDirection,
            parsed.cache_action AS x_TokenCacheAction,
            parsed.service_tier AS x_ServiceTier,
            parsed.context_tier AS x_ContextTier,
            {col("line_item")} AS x_RawLineItem,
            {col("amount_value")} AS x_AmountRaw,
            'major' AS x_AmountScale
        FROM rows"""
    )
    con.execute(
        """INSERT INTO __unreadable SELECT source_row, early_reason, raw_record FROM __rows
        WHERE early_reason IS NOT NULL"""
    )
