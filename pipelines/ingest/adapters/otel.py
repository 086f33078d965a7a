"""OpenTelemetry GenAI spans: one call per model-call span.

Two shapes: OTLP/JSON exports (`resourceSpans[].scopeSpans[].spans[]`, attributes as
key/value lists, nanosecond timestamps; a .json file holding one document or one per line,
as the collector's file exporter writes, optionally gzipped, or such lines in .jsonl), and a
flat JSON-lines form, one span per line (`trace_id`, `span_id`, `parent_span_id`, `name`,
`start_time_unix_nano`, `end_time_unix_nano`, `status`, `attributes` and `resource` as objects).

Only model-call operations are calls (`chat`, `text_completion`, `generate_content`,
`embeddings`); an `execute_tool` span counts as a tool call of its parent call; agent,
workflow and other spans are not calls and are not rows of the log. Content attributes
(`gen_ai.input.messages`, `gen_ai.output.messages`, `gen_ai.system_instructions`, ...) and span
events are never read. `gen_ai.usage.input_tokens` counts cache reads and writes, as the
canonical log does.
"""

from __future__ import annotations

import duckdb

from pipelines.errors import UserError, first_line
from pipelines.ingest import readers
from pipelines.ingest.adapters.base import WITHHELD, Adapter, Mapping, as_text, canonical_text
from pipelines.ingest.fields import quote
from pipelines.ingest.lines import MAX_LINE_BYTES
from pipelines.ingest.readers import Layout, Staged, readable_path
from pipelines.ingest.sources import SourceFile

CALL_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
TOOL_OPERATION = "execute_tool"
# gen_ai.system values renamed in gen_ai.provider.name (semantic conventions v1.37)
PROVIDER_RENAMES = {
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "az.ai.inference": "azure.ai.inference",
    "az.ai.openai": "azure.ai.openai",
    "xai": "x_ai",
}
DEFAULT_ROUTE = "gen_ai.agent.name"
ERROR_CODES = ("2", "STATUS_CODE_ERROR", "ERROR")


def attr(name: str, attributes: str = "attrs") -> str:
    """SQL: the text of the attribute `name` of a span (NULL when it has none)."""
    return f"list_filter({attributes}, lambda a: a.k = {quote(name)})[1].v"


def first(*names: str) -> str:
    return "coalesce(" + ", ".join(attr(name) for name in names) + ")"


class OTel(Adapter):
    name = "otel"
    title = "OpenTelemetry GenAI spans"

    def mappings(self) -> tuple[Mapping, ...]:
        route = self.route_from or DEFAULT_ROUTE
        return (
            Mapping("call_id", "`spanId`"),
            Mapping("action_id", "`traceId`", "every call of a trace is one action"),
            Mapping("ts", "`startTimeUnixNano`", "nanoseconds since 1970, UTC"),
            Mapping(
                "route",
                f"the attribute `{route}` of the span, else of its parent"
                + ("" if self.route_from else ", else the resource's `service.name`"),
                "`--route-from ATTRIBUTE` picks the attribute",
                route if self.route_from else f"{route} or service.name",
            ),
            Mapping(
                "provider",
                "`gen_ai.provider.name`, else the deprecated `gen_ai.system`",
                "old `gen_ai.system` values renamed (`vertex_ai` → `gcp.vertex_ai`, ...)",
                "gen_ai.provider.name",
            ),
            Mapping(
                "model",
                "`gen_ai.response.model`, else `gen_ai.request.model`",
                "the model that served",
                "gen_ai.response.model or gen_ai.request.model",
            ),
            Mapping(
                "status",
                "span `status.code`, `error.type`",
                "ok unless the span failed; `error.type` naming a rate limit (429) → `rate_limited`, "
                "a timeout → `timeout`, else `error`",
                "status.code",
            ),
            Mapping("error_type", "`error.type`"),
            Mapping(
                "input_tokens",
                "`gen_ai.usage.input_tokens`, else the deprecated `gen_ai.usage.prompt_tokens`",
                "includes cache reads and writes",
                "gen_ai.usage.input_tokens",
            ),
            Mapping("cached_input_tokens", "`gen_ai.usage.cache_read.input_tokens`"),
            Mapping("cache_write_tokens", "`gen_ai.usage.cache_creation.input_tokens`"),
            Mapping(
                "output_tokens",
                "`gen_ai.usage.output_tokens`, else the deprecated `gen_ai.usage.completion_tokens`",
                "includes reasoning",
                "gen_ai.usage.output_tokens",
            ),
            Mapping("reasoning_tokens", "`gen_ai.usage.reasoning.output_tokens`"),
            Mapping("tool_calls", f"`{TOOL_OPERATION}` child spans", "counted per parent call"),
            Mapping("latency_ms", "`endTimeUnixNano − startTimeUnixNano`", "", "endTimeUnixNano"),
            Mapping(
                "service_tier",
                "`openai.response.service_tier`, else `gen_ai.openai.response.service_tier`",
                "the tier served",
                "openai.response.service_tier",
            ),
            Mapping("environment", "the resource's `deployment.environment.name` (or `deployment.environment`)"),
            Mapping(
                "logged_cost_usd",
                "`gen_ai.usage.cost`, else `llm.cost.total`",
                "non-standard, as some libraries write it",
                "gen_ai.usage.cost",
            ),
        )

    # -- detection: layout.found holds the file's (or first lines') top-level keys -------

    def matches(self, found: tuple[str, ...]) -> bool:
        keys = set(found)
        return "resourceSpans" in keys or (
            bool({"trace_id", "traceId"} & keys) and bool({"span_id", "spanId"} & keys) and "attributes" in keys
        )

    def check(self, source: SourceFile, layout: Layout) -> None:
        if not self.matches(layout.found):
            found = ", ".join(layout.found[:12]) or "nothing readable"
            raise UserError(
                f"{source.path}: not an OpenTelemetry trace export: no resourceSpans, nor trace_id, span_id and "
                f"attributes (found: {found})"
            )

    # -- reading -----------------------------------------------------------------------

    def direct(self, source: SourceFile, layout: Layout) -> tuple[str, Staged]:
        style = "format='auto'" if source.format == "json" else "format='newline_delimited'"
        relation = (
            "SELECT NULL::BIGINT AS source_row, NULL::VARCHAR AS early_reason, json "
            f"FROM read_json_objects({readable_path(source.path)}, {style}, "
            f"compression={quote(source.compression or 'none')}, maximum_object_size={MAX_LINE_BYTES})"
        )
        mapped = f"SELECT * FROM ({self.mapped(relation, layout)}) WHERE early_reason IS NULL OR error(early_reason)"
        return mapped, canonical_text(self.mappings())

    def line_limit_check(self, source: SourceFile) -> str | None:
        return None if source.format == "json" else readers.line_limit_check(source)

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile, layout: Layout) -> Staged:
        if source.format == "json":
            # One document (or one per line): it reads whole or the file fails; its spans are numbered.
            con.execute("CREATE TEMP TABLE __unreadable (source_row BIGINT, reason VARCHAR, raw_record VARCHAR)")
            relation, _ = self.direct(source, layout)
            relation = relation.split(" WHERE early_reason IS NULL OR error(early_reason)")[0]
            try:
                con.execute(f"CREATE TEMP TABLE __rows AS {relation}")
            except duckdb.Error as exc:
                raise UserError(f"{source.path}: cannot read as OTLP/JSON: {first_line(exc)}") from exc
            return canonical_text(self.mappings())
        readers.stage(con, source, layout)
        con.execute("ALTER TABLE __rows RENAME TO __source_rows")
        relation = "SELECT source_row, early_reason, TRY_CAST(raw_record AS JSON) AS json FROM __source_rows"
        con.execute(f"CREATE TEMP TABLE __rows AS {self.mapped(relation, layout)}")
        con.execute(f"UPDATE __unreadable SET raw_record = {quote(WITHHELD)} WHERE raw_record IS NOT NULL")
        return canonical_text(self.mappings())

    # -- the mapping -------------------------------------------------------------------

    def mapped(self, relation: str, layout: Layout) -> str:
        otlp = "resourceSpans" in layout.found
        if otlp:
            value = (
                "coalesce(a -> 'value' ->> 'stringValue', a -> 'value' ->> 'intValue', "
                "a -> 'value' ->> 'doubleValue', a -> 'value' ->> 'boolValue')"
            )
            attributes = (
                "list_transform(json_extract({0}, '$.attributes[*]'), lambda a: {{'k': a ->> 'key', 'v': "
                + value
                + "}})"
            )
            spans = f"""
            resource_spans AS (
                SELECT source_row, unnest(json_extract(json, '$.resourceSpans[*]')) AS rs
                FROM docs WHERE early_reason IS NULL
            ),
            scope_spans AS (
                SELECT source_row, rs -> 'resource' AS resource, unnest(json_extract(rs, '$.scopeSpans[*]')) AS ss
                FROM resource_spans
            ),
            spans AS (
                SELECT source_row, {attributes.format("resource")} AS resource_attrs,
                    unnest(json_extract(ss, '$.spans[*]')) AS span
                FROM scope_spans
            ),
            flat AS (
                SELECT source_row, resource_attrs, {attributes.format("span")} AS attrs,
                    span ->> 'traceId' AS trace_id, span ->> 'spanId' AS span_id,
                    nullif(span ->> 'parentSpanId', '') AS parent_span_id, span ->> 'name' AS span_name,
                    span ->> 'startTimeUnixNano' AS start_ns, span ->> 'endTimeUnixNano' AS end_ns,
                    span -> 'status' ->> 'code' AS status_code
                FROM spans
            )"""
        else:
            entries = (
                "list_transform(map_entries(json_transform({0}, '\"MAP(VARCHAR, JSON)\"')), "
                "lambda e: {{'k': e.key, 'v': " + as_text("e.value") + "}})"
            )
            spans = f"""
            flat AS (
                SELECT source_row,
                    {entries.format("json -> 'resource'")} AS resource_attrs,
                    {entries.format("json -> 'attributes'")} AS attrs,
                    coalesce(json ->> 'trace_id', json ->> 'traceId') AS trace_id,
                    coalesce(json ->> 'span_id', json ->> 'spanId') AS span_id,
                    nullif(coalesce(json ->> 'parent_span_id', json ->> 'parentSpanId'), '') AS parent_span_id,
                    json ->> 'name' AS span_name,
                    coalesce(json ->> 'start_time_unix_nano', json ->> 'startTimeUnixNano') AS start_ns,
                    coalesce(json ->> 'end_time_unix_nano', json ->> 'endTimeUnixNano') AS end_ns,
                    coalesce(json -> 'status' ->> 'code', json ->> 'status_code') AS status_code
                FROM docs WHERE early_reason IS NULL
            )"""
        route_key = self.route_from or DEFAULT_ROUTE
        route = f"coalesce(calls.route_own, parents.route_parent{'' if self.route_from else ', calls.service_name'})"
        operations = ", ".join(quote(op) for op in CALL_OPERATIONS)
        renames = " ".join(f"WHEN {quote(old)} THEN {quote(new)}" for old, new in PROVIDER_RENAMES.items())
        error_type = attr("error.type")
        shown = (
            "json_merge_patch('{}', json_object('traceId', trace_id, 'spanId', span_id, 'parentSpanId', "
            "parent_span_id, 'name', span_name, 'startTimeUnixNano', start_ns, 'endTimeUnixNano', end_ns, "
            "'gen_ai.operation.name', operation, 'gen_ai.request.model', "
            + attr("gen_ai.request.model")
            + ", 'gen_ai.usage.input_tokens', "
            + attr("gen_ai.usage.input_tokens")
            + ", 'gen_ai.usage.output_tokens', "
            + attr("gen_ai.usage.output_tokens")
            + "))::VARCHAR"
        )
        ns = "TRY_CAST({0} AS HUGEINT)"
        return f"""
        WITH docs AS (SELECT * FROM ({relation})),
        {spans},
        typed AS (
            SELECT *, {attr("gen_ai.operation.name")} AS operation,
                {attr(route_key)} AS route_attribute,
                {attr("service.name", "resource_attrs")} AS service_name
            FROM flat
        ),
        tools AS (
            SELECT trace_id, parent_span_id AS span_id, count(*) AS tool_calls
            FROM typed WHERE operation = {quote(TOOL_OPERATION)} GROUP BY ALL
        ),
        parents AS (
            SELECT DISTINCT ON (trace_id, span_id) trace_id, span_id AS parent_id, route_attribute AS route_parent
            FROM typed WHERE route_attribute IS NOT NULL
        ),
        calls AS (
            SELECT typed.*, route_attribute AS route_own,
                CASE WHEN start_ns IS NOT NULL AND NOT regexp_full_match(start_ns, '[0-9]+')
                    THEN 'startTimeUnixNano: must be nanoseconds since 1970, got ' || left(start_ns, 60)
                    WHEN end_ns IS NOT NULL AND NOT regexp_full_match(end_ns, '[0-9]+')
                    THEN 'endTimeUnixNano: must be nanoseconds since 1970, got ' || left(end_ns, 60)
                END AS span_reason
            FROM typed
            WHERE operation IN ({operations})
        )
        SELECT source_row, span_reason AS early_reason, {shown} AS raw_record,
            span_id AS call_id,
            trace_id AS action_id,
            make_timestamp(({ns.format("start_ns")} // 1000)::BIGINT)::VARCHAR AS ts,
            {route} AS route,
            CASE {first("gen_ai.provider.name", "gen_ai.system")} {renames}
                ELSE {first("gen_ai.provider.name", "gen_ai.system")} END AS provider,
            {first("gen_ai.response.model", "gen_ai.request.model")} AS model,
            CASE WHEN coalesce(status_code, '') NOT IN {ERROR_CODES} AND {error_type} IS NULL THEN 'ok'
                WHEN {error_type} ILIKE '%ratelimit%' OR {error_type} ILIKE '%rate_limit%' OR {error_type} = '429'
                THEN 'rate_limited'
                WHEN {error_type} ILIKE '%timeout%' OR {error_type} IN ('408', '504') THEN 'timeout'
                ELSE 'error' END AS status,
            {error_type} AS error_type,
            {first("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")} AS input_tokens,
            {first("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")}
                AS cached_input_tokens,
            {first("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")}
                AS cache_write_tokens,
            {first("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")} AS output_tokens,
            {attr("gen_ai.usage.reasoning.output_tokens")} AS reasoning_tokens,
            coalesce(tools.tool_calls, 0)::VARCHAR AS tool_calls,
            (({ns.format("end_ns")} - {ns.format("start_ns")}) / 1e6)::VARCHAR AS latency_ms,
            {first("openai.response.service_tier", "gen_ai.openai.response.service_tier")} AS service_tier,
            coalesce({attr("deployment.environment.name", "resource_attrs")},
                {attr("deployment.environment", "resource_attrs")}) AS environment,
            {first("gen_ai.usage.cost", "llm.cost.total")} AS logged_cost_usd
        FROM calls
        LEFT JOIN tools USING (trace_id, span_id)
        LEFT JOIN parents ON parents.trace_id = calls.trace_id AND parents.parent_id = calls.parent_span_id
        UNION ALL BY NAME
        SELECT source_row, early_reason, {quote(WITHHELD)} AS raw_record FROM docs WHERE early_reason IS NOT NULL"""
