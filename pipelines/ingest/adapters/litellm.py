"""LiteLLM's `LiteLLM_SpendLogs`: one row per model call (or response-cache hit) the proxy made.

Read as exported: `\\copy "LiteLLM_SpendLogs" TO ... CSV HEADER` from Postgres (camelCase
columns, naive UTC timestamps, JSON columns as text), the `/spend/logs` API as JSON lines
(JSON columns as objects), or Parquet. Every column but `request_id` may be missing (older
releases lack many). `messages`, `response` and `proxy_server_request` are never read into
the warehouse; of `response` only the service tier the provider served is looked at.

Tokens: `prompt_tokens` counts cache reads and writes (the canonical convention); the cache
counts are only in `metadata.usage_object`. A usage object in Anthropic's shape (`input_tokens`
beside `cache_read_input_tokens` and `cache_creation_input_tokens`, no `prompt_tokens`) counts
input without the cache, so input is its sum.
"""

from __future__ import annotations

from pipelines.ingest.adapters.base import Adapter, Column, Mapping, shown_record, tag_value, when_read
from pipelines.ingest.fields import quote
from pipelines.ingest.readers import Layout

# metadata values read, by name: one JSON parse per row reads them all.
USAGE = "$.usage_object"
METADATA_PATHS = {
    "cache_read": f"{USAGE}.cache_read_input_tokens",
    "cached_tokens": f"{USAGE}.prompt_tokens_details.cached_tokens",
    "extra_cache_read": "$.additional_usage_values.cache_read_input_tokens",
    "cache_creation": f"{USAGE}.cache_creation_input_tokens",
    "extra_cache_creation": "$.additional_usage_values.cache_creation_input_tokens",
    "cache_creation_1h": f"{USAGE}.cache_creation.ephemeral_1h_input_tokens",
    "reasoning": f"{USAGE}.completion_tokens_details.reasoning_tokens",
    "usage_prompt_tokens": f"{USAGE}.prompt_tokens",
    "usage_input_tokens": f"{USAGE}.input_tokens",
    "usage_output_tokens": f"{USAGE}.output_tokens",
    "attempted_retries": "$.attempted_retries",
    "attempted_fallbacks": "$.attempted_fallbacks",
    "original_model_group": "$.original_model_group",
    "error_class": "$.error_information.error_class",
    "error_code": "$.error_information.error_code",
    "served_tier": "$.cost_breakdown.service_tier",
    "key_alias": "$.user_api_key_alias",
    "trace_id": "$.trace_id",
    "parent_request_id": "$.parent_request_id",
}
# Optional attributes a `key:value` request tag may carry.
TAGGED = ("team", "project", "feature", "environment", "user_tier", "workload_class", "policy_version", "region")


class LiteLLM(Adapter):
    name = "litellm"
    title = "LiteLLM SpendLogs"
    columns = (
        Column("request_id"),
        Column("call_type"),
        Column("spend"),
        Column("prompt_tokens"),
        Column("completion_tokens"),
        Column("startTime"),
        Column("endTime"),
        Column("request_duration_ms"),
        Column("model"),
        Column("model_group"),
        Column("custom_llm_provider"),
        Column("cache_hit"),
        Column("request_tags"),
        Column("team_id"),
        Column("session_id"),
        Column("status"),
        Column("metadata", shown=False),  # custom keys, error messages, tracebacks
        Column("response", shown=False),  # the answer itself
    )
    required = ("request_id", "startTime", "model")
    signature = ("request_id", "startTime", "spend")

    def mappings(self) -> tuple[Mapping, ...]:
        route = (
            f'`metadata."{self.route_from}"`, `metadata.spend_logs_metadata."{self.route_from}"` '
            f"or the request tag `{self.route_from}:…`"
            if self.route_from
            else "`metadata.original_model_group`, else `model_group`"
        )
        return (
            Mapping("call_id", "`request_id`", "cache hits carry a `_cache_hit…` suffix and stay distinct"),
            Mapping(
                "action_id",
                "`session_id`, else `metadata.trace_id`, else `metadata.parent_request_id`, else `request_id`",
                "failed attempts (`…-attempt-N`) join their request",
                "session_id",
            ),
            Mapping("ts", "`startTime`", "naive timestamps are UTC"),
            Mapping(
                "route",
                route,
                "`--route-from KEY` picks a metadata key or request tag",
                f"metadata.{self.route_from} or tag {self.route_from}:" if self.route_from else "model_group",
            ),
            Mapping(
                "call_role",
                "`metadata.attempted_fallbacks`, `metadata.original_model_group`, `metadata.attempted_retries`, "
                "`request_id`",
                "`fallback` when a fallback served it, `retry` after retries or for attempt 2+, else `primary`",
                "metadata.attempted_fallbacks",
            ),
            Mapping("provider", "`custom_llm_provider`"),
            Mapping("model", "`model`", "a leading `provider/` is dropped"),
            Mapping(
                "status",
                "`status`, `metadata.error_information.error_class` / `error_code`",
                "`success` → `ok`; RateLimitError or 429 → `rate_limited`; Timeout or 408/504 → `timeout`; "
                "ContentPolicyViolationError → `refused`; other failures → `error`",
                "status",
            ),
            Mapping(
                "input_tokens",
                "`prompt_tokens`",
                "includes cache; an Anthropic-shaped usage object: `input_tokens + cache_read_input_tokens "
                "+ cache_creation_input_tokens`",
                "prompt_tokens",
            ),
            Mapping(
                "cached_input_tokens",
                "`metadata.usage_object.cache_read_input_tokens`, else `….prompt_tokens_details.cached_tokens`",
                named="metadata.usage_object.cache_read_input_tokens",
            ),
            Mapping("cache_write_tokens", "`metadata.usage_object.cache_creation_input_tokens`"),
            Mapping("cache_write_1h_tokens", "`metadata.usage_object.cache_creation.ephemeral_1h_input_tokens`"),
            Mapping("output_tokens", "`completion_tokens`", "includes reasoning"),
            Mapping("reasoning_tokens", "`metadata.usage_object.completion_tokens_details.reasoning_tokens`"),
            Mapping("latency_ms", "`request_duration_ms`, else `endTime − startTime`", named="request_duration_ms"),
            Mapping("response_cache_hit", "`cache_hit`", "the text `True` / `False`"),
            Mapping(
                "service_tier",
                "`metadata.cost_breakdown.service_tier`, else `response.service_tier`",
                "the tier served, not the one requested",
                "metadata.cost_breakdown.service_tier",
            ),
            Mapping("error_type", "`metadata.error_information.error_class`, else `error_code`", named="error_class"),
            Mapping("team", "`team_id`, else the request tag `team:…`", named="team_id"),
            Mapping(
                "project", "`metadata.user_api_key_alias`, else the request tag `project:…`", named="user_api_key_alias"
            ),
            Mapping(
                "feature, environment, user_tier, workload_class, policy_version, region",
                "`request_tags`",
                "a tag `feature:search` sets `feature`; tags are never split or counted twice",
            ),
            Mapping("logged_cost_usd", "`spend`", "LiteLLM's own estimate; not used for pricing"),
        )

    def mapped(self, relation: str, layout: Layout) -> str:
        paths = dict(METADATA_PATHS)
        if self.route_from:
            key = self.route_from.replace('"', '\\"')
            paths["route_key"] = f'$."{key}"'
            paths["route_custom_key"] = f'$.spend_logs_metadata."{key}"'
        names = list(paths)

        def meta(name: str) -> str:
            return f"m[{names.index(name) + 1}]"

        listed = "[" + ", ".join(quote(path) for path in paths.values()) + "]"
        cache_read = f"coalesce({meta('cache_read')}, {meta('cached_tokens')}, {meta('extra_cache_read')})"
        cache_write = f"coalesce({meta('cache_creation')}, {meta('extra_cache_creation')})"
        anthropic = f"({meta('usage_input_tokens')} IS NOT NULL AND {meta('usage_prompt_tokens')} IS NULL)"
        pieces = {
            "metadata.usage_object.input_tokens": meta("usage_input_tokens"),
            "metadata.usage_object.cache_read_input_tokens": cache_read,
            "metadata.usage_object.cache_creation_input_tokens": cache_write,
        }
        not_integer = " ".join(
            f"WHEN {anthropic} AND {value} IS NOT NULL AND NOT regexp_full_match({value}, '[0-9]+') "
            f"THEN {quote(name + ': must be an integer >= 0, got ')} || left({value}, 60)"
            for name, value in pieces.items()
        )
        summed = " + ".join(f"coalesce(TRY_CAST({value} AS BIGINT), 0)" for value in pieces.values())
        route = (
            f"coalesce({meta('route_key')}, {meta('route_custom_key')}, {tag_value('tags', self.route_from)})"
            if self.route_from
            else f"coalesce(nullif({meta('original_model_group')}, ''), model_group)"
        )
        fallback = (
            f"TRY_CAST({meta('attempted_fallbacks')} AS BIGINT) > 0 OR (nullif({meta('original_model_group')}, '') "
            f"IS NOT NULL AND {meta('original_model_group')} IS DISTINCT FROM model_group)"
        )
        attempt = "TRY_CAST(regexp_extract(request_id, '-attempt-([0-9]+)$', 1) AS BIGINT)"
        error_class, error_code = meta("error_class"), meta("error_code")
        tagged = ", ".join(
            f"coalesce({direct}, {tag_value('tags', name)}) AS {name}"
            for name, direct in (
                (name, {"team": "team_id", "project": meta("key_alias")}.get(name, "NULL")) for name in TAGGED
            )
        )
        if self.on_direct_path:  # one parse per value; anything odd fails over to the checked path
            metadata_ok = "left(metadata, 1) = '{'"
            tags_ok = "left(request_tags, 1) = '['"
            extracted = f"""
            extracted AS (
                SELECT *,
                    CASE WHEN {metadata_ok} THEN json_extract_string(metadata, {listed}) ELSE [] END AS m,
                    CASE WHEN {tags_ok} THEN from_json(request_tags, '["VARCHAR"]') END AS tags
                FROM ({relation})
            )"""
        else:
            metadata_ok = "json_type(TRY_CAST(metadata AS JSON)) = 'OBJECT'"
            tags_ok = "json_type(TRY_CAST(request_tags AS JSON)) = 'ARRAY'"
            extracted = f"""
            checked AS (SELECT *, {metadata_ok} AS metadata_ok, {tags_ok} AS tags_ok FROM ({relation})),
            extracted AS (
                SELECT *,
                    CASE WHEN metadata_ok THEN json_extract_string(metadata, {listed}) ELSE [] END AS m,
                    CASE WHEN tags_ok THEN from_json(request_tags, '["VARCHAR"]') END AS tags
                FROM checked
            )"""
            metadata_ok, tags_ok = "metadata_ok", "tags_ok"
        return f"""
        WITH {extracted}
        SELECT
            source_row,
            coalesce(early_reason, CASE
                WHEN nullif(metadata, '') IS NOT NULL AND NOT coalesce({metadata_ok}, false)
                THEN 'metadata: must be a JSON object'
                WHEN nullif(request_tags, '') IS NOT NULL AND NOT coalesce({tags_ok}, false)
                THEN 'request_tags: must be a JSON array of text'
                {not_integer}
            END) AS early_reason,
            {"NULL" if self.on_direct_path else when_read(shown_record(self.columns))} AS raw_record,
            -- ids
            request_id AS call_id,
            coalesce(nullif(session_id, ''), {meta("trace_id")}, {meta("parent_request_id")}, request_id) AS action_id,
            "startTime" AS ts,
            {route} AS route,
            CASE WHEN {fallback} THEN 'fallback'
                WHEN TRY_CAST({meta("attempted_retries")} AS BIGINT) > 0 OR {attempt} > 1 THEN 'retry'
                ELSE 'primary' END AS call_role,
            custom_llm_provider AS provider,
            CASE WHEN starts_with(model, custom_llm_provider || '/') THEN substr(model, length(custom_llm_provider) + 2)
                ELSE model END AS model,
            -- outcome
            CASE WHEN status IS NULL OR status IN ('', 'success') THEN 'ok'
                WHEN status <> 'failure' THEN status
                WHEN {error_class} ILIKE '%ratelimit%' OR {error_code} = '429' THEN 'rate_limited'
                WHEN {error_class} ILIKE '%timeout%' OR {error_code} IN ('408', '504') THEN 'timeout'
                WHEN {error_class} ILIKE '%contentpolicy%' THEN 'refused'
                ELSE 'error' END AS status,
            CASE WHEN status = 'failure' THEN coalesce({error_class}, {error_code}) END AS error_type,
            -- tokens
            CASE WHEN {anthropic} THEN ({summed})::VARCHAR ELSE prompt_tokens END AS input_tokens,
            {cache_read} AS cached_input_tokens,
            {cache_write} AS cache_write_tokens,
            {meta("cache_creation_1h")} AS cache_write_1h_tokens,
            coalesce(nullif(completion_tokens, ''), {meta("usage_output_tokens")}) AS output_tokens,
            {meta("reasoning")} AS reasoning_tokens,
            -- serving
            coalesce(nullif(request_duration_ms, ''), (epoch_ms(TRY_CAST("endTime" AS TIMESTAMPTZ))
                - epoch_ms(TRY_CAST("startTime" AS TIMESTAMPTZ)))::VARCHAR) AS latency_ms,
            cache_hit AS response_cache_hit,
            coalesce({meta("served_tier")}, CASE WHEN contains(response, '"service_tier"')
                THEN json_extract_string(TRY_CAST(response AS JSON), '$.service_tier') END) AS service_tier,
            -- attribution and money
            {tagged},
            spend AS logged_cost_usd
        FROM extracted"""
