"""Calls written as a LiteLLM SpendLogs export, for the demo and the bench (`bench/litellm.py`).

The shape is Postgres's `\\copy "LiteLLM_SpendLogs" TO ... CSV HEADER`: every column of the
table in order, naive UTC timestamps, `metadata` as JSON text holding the usage object (with
the cache and reasoning counts), the retry and fallback markers, the served tier and the error
class, and the empty `messages` / `response` / `proxy_server_request` objects LiteLLM writes
when it does not store prompts; attributes travel as `key:value` request tags. One DuckDB
COPY, no Python loop over rows. `request_duration_ms` carries the latency as is (LiteLLM
rounds it to an integer), so the demo's latencies stay exact.

Only calls LiteLLM can describe are written so (`split_expressible`): it has no quality check,
action outcome, batch flag, tool count or fallback reason, and its error class stands in
for the error type, so those calls stay in the canonical log.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc


def spend_logs_sql(relation: str) -> str:
    """SQL: the calls of `relation` (canonical columns, typed or text) as SpendLogs rows."""
    return f"""
    SELECT
        call_id AS request_id,
        'acompletion' AS call_type,
        '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b' AS api_key,
        logged_cost_usd::DOUBLE AS spend,
        input_tokens::BIGINT + output_tokens::BIGINT AS total_tokens,
        input_tokens AS prompt_tokens,
        output_tokens AS completion_tokens,
        strftime(ts::TIMESTAMPTZ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS "startTime",
        strftime((ts::TIMESTAMPTZ + to_milliseconds(coalesce(latency_ms::DOUBLE, 0)::BIGINT)) AT TIME ZONE 'UTC',
            '%Y-%m-%d %H:%M:%S.%g') AS "endTime",
        latency_ms::DOUBLE AS request_duration_ms,
        NULL AS "completionStartTime",
        model,
        NULL AS model_id,
        route AS model_group,
        provider AS custom_llm_provider,
        'https://gateway.internal/v1' AS api_base,
        '' AS "user",
        to_json({{
            user_api_key_alias: project,
            user_api_key_team_id: team,
            usage_object: {{
                prompt_tokens: input_tokens::BIGINT,
                completion_tokens: output_tokens::BIGINT,
                prompt_tokens_details: {{cached_tokens: cached_input_tokens::BIGINT}},
                cache_creation_input_tokens: cache_write_tokens::BIGINT,
                cache_creation: {{ephemeral_1h_input_tokens: cache_write_1h_tokens::BIGINT}},
                completion_tokens_details: {{reasoning_tokens: reasoning_tokens::BIGINT}}
            }},
            attempted_retries: CASE WHEN call_role = 'retry' THEN 1 ELSE 0 END,
            attempted_fallbacks: CASE WHEN call_role = 'fallback' THEN 1 ELSE 0 END,
            error_information: CASE WHEN status <> 'ok' THEN {{
                error_class: CASE status WHEN 'rate_limited' THEN 'RateLimitError' WHEN 'timeout' THEN 'Timeout'
                    WHEN 'refused' THEN 'ContentPolicyViolationError' ELSE 'APIError' END,
                error_code: CASE status WHEN 'rate_limited' THEN '429' WHEN 'timeout' THEN '408' ELSE '500' END
            }} END,
            cost_breakdown: {{service_tier: service_tier}}
        }})::VARCHAR AS metadata,
        CASE WHEN response_cache_hit::BOOLEAN THEN 'True' ELSE 'False' END AS cache_hit,
        '' AS cache_key,
        to_json(list_filter(
            ['feature:' || feature, 'environment:' || environment, 'user_tier:' || user_tier,
                'workload_class:' || workload_class, 'policy_version:' || policy_version, 'region:' || region],
            lambda t: t IS NOT NULL
        ))::VARCHAR AS request_tags,
        team AS team_id,
        NULL AS organization_id,
        NULL AS end_user,
        '10.0.0.5' AS requester_ip_address,
        '{{}}' AS messages,
        '{{}}' AS response,
        action_id AS session_id,
        CASE WHEN status = 'ok' THEN 'success' ELSE 'failure' END AS status,
        NULL AS mcp_namespaced_tool_name,
        NULL AS billing_agent_id,
        NULL AS agent_id,
        '{{}}' AS proxy_server_request,
        call_id AS litellm_call_id,
        strftime(ts::TIMESTAMPTZ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS created_at,
        strftime(ts::TIMESTAMPTZ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS updated_at
    FROM {relation}"""


def write_spend_logs(calls: pa.Table | str, path: Path) -> Path:
    """Write `calls` (an Arrow table, or SQL naming a relation) as a SpendLogs CSV."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    relation = calls
    if isinstance(calls, pa.Table):
        con.register("calls", calls)
        relation = "calls"
    target = str(path).replace("'", "''")
    con.execute(f"COPY ({spend_logs_sql(relation)}) TO '{target}' (FORMAT csv, HEADER true)")
    con.close()
    return path


def split_expressible(table: pa.Table, region: str) -> tuple[pa.Table, pa.Table]:
    """(the calls of `region` LiteLLM can describe, the rest): see the module's docstring."""
    chosen = pc.and_kleene(
        pc.and_(pc.equal(table["region"], region), pc.equal(table["status"], "ok")),
        pc.and_(pc.is_in(table["call_role"], pa.array(["primary", "retry", "fallback"])), pc.invert(table["batch"])),
    )
    for column in ("error_type", "quality_passed", "action_outcome", "fallback_reason"):
        chosen = pc.and_(chosen, pc.is_null(table[column]))
    chosen = pc.fill_null(pc.and_(chosen, pc.equal(table["tool_calls"], 0)), False)
    return table.filter(chosen), table.filter(pc.invert(chosen))
