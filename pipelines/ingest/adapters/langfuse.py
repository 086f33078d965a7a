"""Langfuse observations: one call per generation (or embedding) observation.

Read as exported (CSV, JSON lines or Parquet), with the API's camelCase names (`traceId`,
`usageDetails`, `costDetails`, `totalCost`) or the database's snake_case ones (`trace_id`,
`usage_details`, `cost_details`, `total_cost`). `input`, `output` and `metadata` values other
than the keys named below are never read into the warehouse.

Langfuse's usage buckets are mutually exclusive (`input` excludes `input_cached_tokens`,
`output` excludes `output_reasoning_tokens`), so the canonical counts are sums: input is every
bucket whose key starts with `input` plus `cache_read_input_tokens` and
`cache_creation_input_tokens`; output every bucket starting with `output`. Langfuse records no
provider: it comes from the metadata, else from the model's name.
"""

from __future__ import annotations

from pipelines.ingest.adapters.base import Adapter, Column, Mapping, shown_record, when_read
from pipelines.ingest.fields import quote
from pipelines.ingest.readers import Layout

CALL_TYPES = ("GENERATION", "EMBEDDING")
TOOL_TYPE = "TOOL"
CACHE_READ = ("input_cached_tokens", "cache_read_input_tokens", "input_cache_read")
CACHE_WRITE_5M = ("input_cache_creation", "cache_creation_input_tokens", "input_cache_creation_5m")
CACHE_WRITE_1H = ("input_cache_creation_1h",)
REASONING = ("output_reasoning_tokens", "output_reasoning")
INPUT_OUTSIDE_PREFIX = ("cache_read_input_tokens", "cache_creation_input_tokens")
# Model-name prefixes that name their provider, for observations whose metadata does not.
PROVIDER_BY_PREFIX = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "google"),
    ("mistral-", "mistral"),
    ("command-", "cohere"),
    ("deepseek-", "deepseek"),
    ("grok-", "x_ai"),
)


class Langfuse(Adapter):
    name = "langfuse"
    title = "Langfuse observations"
    columns = (
        Column("id"),
        Column("trace_id"),
        Column("type"),
        Column("name"),
        Column("trace_name"),
        Column("parent_observation_id"),
        Column("start_time"),
        Column("end_time"),
        Column("provided_model_name"),
        Column("model"),
        Column("usage_details"),
        Column("cost_details"),
        Column("total_cost"),
        Column("level"),
        Column("status_message", shown=False),  # an error's message may quote the prompt
        Column("metadata", shown=False),
    )
    required = ("id", "trace_id", "start_time", "usage_details")
    signature = ("id", "trace_id", "usage_details", "start_time")

    def mappings(self) -> tuple[Mapping, ...]:
        route = (
            f'`metadata."{self.route_from}"`'
            if self.route_from
            else "`metadata.route`, else the trace's name (`traceName`), else the observation's `name`"
        )
        return (
            Mapping("call_id", "`id`"),
            Mapping("action_id", "`traceId`", "every generation of a trace is one action", "traceId"),
            Mapping("ts", "`startTime`", "", "startTime"),
            Mapping("route", route, "`--route-from KEY` picks a metadata key", "route"),
            Mapping(
                "provider",
                "`metadata.provider` (or `ls_provider`), else the model's name (`gpt-` → `openai`, `claude-` → "
                "`anthropic`, `gemini-` → `google`, ...)",
                "Langfuse records no provider",
                "metadata.provider or the model name",
            ),
            Mapping("model", "`providedModelName`, else `model`", "", "providedModelName"),
            Mapping(
                "status",
                "`level`, `statusMessage`",
                "`ERROR` → `error`; a message naming a rate limit or 429 → `rate_limited`, a timeout → `timeout`",
                "level",
            ),
            Mapping(
                "input_tokens",
                "`usageDetails`: every key starting with `input`, plus `cache_read_input_tokens` and "
                "`cache_creation_input_tokens`",
                "buckets are exclusive: summed, never counted twice",
                "usageDetails input buckets",
            ),
            Mapping("cached_input_tokens", "`usageDetails.input_cached_tokens` (or `cache_read_input_tokens`)", ""),
            Mapping(
                "cache_write_tokens",
                "`usageDetails.input_cache_creation` (or `cache_creation_input_tokens`, `…_5m`) + `…_1h`",
                "",
                "usageDetails cache creation buckets",
            ),
            Mapping("cache_write_1h_tokens", "`usageDetails.input_cache_creation_1h`"),
            Mapping(
                "output_tokens",
                "`usageDetails`: every key starting with `output`",
                "",
                "usageDetails output buckets",
            ),
            Mapping("reasoning_tokens", "`usageDetails.output_reasoning_tokens`"),
            Mapping("tool_calls", f"`{TOOL_TYPE}` observations under the generation", "counted per parent"),
            Mapping("latency_ms", "`endTime − startTime`", "", "endTime"),
            Mapping("logged_cost_usd", "`totalCost`, else `costDetails.total`", "Langfuse's own estimate", "totalCost"),
        )

    def mapped(self, relation: str, layout: Layout) -> str:
        def bucket(*keys: str) -> str:
            return "coalesce(" + " + ".join(f"coalesce(usage[{quote(k)}], 0)" for k in keys) + ", 0)"

        def meta(key: str) -> str:
            return f"json_extract_string(meta, {quote(chr(36) + '.' + chr(34) + key + chr(34))})"

        route = meta(self.route_from) if self.route_from else f"coalesce({meta('route')}, trace_name, name)"
        by_prefix = " ".join(
            f"WHEN starts_with(lower(model_name), {quote(prefix)}) THEN {quote(provider)}"
            for prefix, provider in PROVIDER_BY_PREFIX
        )
        outside = ", ".join(quote(k) for k in INPUT_OUTSIDE_PREFIX)
        call_types = ", ".join(quote(t) for t in CALL_TYPES)
        return f"""
        WITH parsed AS (
            SELECT *, TRY_CAST(usage_details AS JSON) AS usage_json, TRY_CAST(metadata AS JSON) AS meta,
                TRY_CAST(cost_details AS JSON) AS cost_json,
                upper(type) AS observation_type, coalesce(nullif(provided_model_name, ''), model) AS model_name
            FROM ({relation})
        ),
        buckets AS (
            SELECT *,
                CASE WHEN json_type(usage_json) = 'OBJECT' THEN map_entries(json_transform(usage_json,
                    '"MAP(VARCHAR, VARCHAR)"')) ELSE [] END AS entries
            FROM parsed
        ),
        counted AS (
            SELECT *,
                map_from_entries(list_transform(entries, lambda e: {{'k': e.key, 'v': TRY_CAST(e.value AS BIGINT)}}))
                    AS usage,
                list_filter(entries, lambda e: NOT regexp_full_match(coalesce(e.value, '0'), '[0-9]+'))[1]
                    AS bad_bucket,
                list_sum(list_transform(list_filter(entries, lambda e: starts_with(e.key, 'input')
                    OR e.key IN ({outside})), lambda e: TRY_CAST(e.value AS BIGINT))) AS input_sum,
                list_sum(list_transform(list_filter(entries, lambda e: starts_with(e.key, 'output')),
                    lambda e: TRY_CAST(e.value AS BIGINT))) AS output_sum
            FROM buckets
        ),
        tools AS (
            SELECT trace_id, parent_observation_id AS id, count(*) AS tool_calls
            FROM parsed WHERE observation_type = {quote(TOOL_TYPE)} GROUP BY ALL
        )
        SELECT
            source_row,
            coalesce(early_reason, CASE
                WHEN nullif(usage_details, '') IS NOT NULL AND coalesce(json_type(usage_json), '') <> 'OBJECT'
                THEN 'usageDetails: must be a JSON object of token counts'
                WHEN bad_bucket IS NOT NULL
                THEN 'usageDetails.' || bad_bucket.key || ': must be an integer >= 0, got '
                    || left(bad_bucket.value, 60)
                WHEN nullif(metadata, '') IS NOT NULL AND coalesce(json_type(meta), '') <> 'OBJECT'
                THEN 'metadata: must be a JSON object'
            END) AS early_reason,
            {when_read(shown_record(self.columns))} AS raw_record,
            -- ids
            id AS call_id,
            trace_id AS action_id,
            start_time AS ts,
            {route} AS route,
            coalesce({meta("provider")}, {meta("ls_provider")}, CASE {by_prefix} END) AS provider,
            model_name AS model,
            -- outcome
            CASE WHEN upper(coalesce(level, '')) <> 'ERROR' THEN 'ok'
                WHEN status_message ILIKE '%rate limit%' OR status_message ILIKE '%ratelimit%'
                    OR status_message LIKE '%429%' THEN 'rate_limited'
                WHEN status_message ILIKE '%timeout%' OR status_message ILIKE '%timed out%' THEN 'timeout'
                ELSE 'error' END AS status,
            -- tokens: the buckets are exclusive, so each count is a sum
            coalesce(input_sum, 0)::VARCHAR AS input_tokens,
            {bucket(*CACHE_READ)}::VARCHAR AS cached_input_tokens,
            {bucket(*CACHE_WRITE_5M, *CACHE_WRITE_1H)}::VARCHAR AS cache_write_tokens,
            {bucket(*CACHE_WRITE_1H)}::VARCHAR AS cache_write_1h_tokens,
            coalesce(output_sum, 0)::VARCHAR AS output_tokens,
            {bucket(*REASONING)}::VARCHAR AS reasoning_tokens,
            coalesce(tools.tool_calls, 0)::VARCHAR AS tool_calls,
            (epoch_ms(TRY_CAST(end_time AS TIMESTAMPTZ)) - epoch_ms(TRY_CAST(start_time AS TIMESTAMPTZ)))::VARCHAR
                AS latency_ms,
            coalesce(nullif(total_cost, ''), json_extract_string(cost_json, '$.total')) AS logged_cost_usd
        FROM counted LEFT JOIN tools USING (trace_id, id)
        WHERE early_reason IS NOT NULL OR observation_type IN ({call_types})
            OR (observation_type IS NULL AND model_name IS NOT NULL)"""
