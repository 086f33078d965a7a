"""The bench's LiteLLM input: the calls of a canonical CSV written as a LiteLLM SpendLogs export.

    .venv/bin/python -m bench.litellm CANONICAL_CSV OUT_CSV

The shape is Postgres's `\\copy "LiteLLM_SpendLogs" TO ... CSV HEADER`: every column of the
table in order, naive UTC timestamps, `metadata` as JSON text holding the usage object (with
the cache and reasoning counts), the retry and fallback markers and the error class, and the
empty `messages` / `response` / `proxy_server_request` objects LiteLLM writes when it does not
store prompts. Written by one DuckDB COPY, no Python loop over rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SPEND_LOGS_SQL = """
COPY (
    SELECT
        call_id AS request_id,
        'acompletion' AS call_type,
        '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b' AS api_key,
        coalesce(logged_cost_usd::DOUBLE, 0) AS spend,
        input_tokens::BIGINT + output_tokens::BIGINT AS total_tokens,
        input_tokens AS prompt_tokens,
        output_tokens AS completion_tokens,
        strftime(ts::TIMESTAMPTZ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS "startTime",
        strftime((ts::TIMESTAMPTZ + to_milliseconds(coalesce(latency_ms::DOUBLE, 0)::BIGINT)) AT TIME ZONE 'UTC',
            '%Y-%m-%d %H:%M:%S.%g') AS "endTime",
        round(latency_ms::DOUBLE)::BIGINT AS request_duration_ms,
        NULL AS "completionStartTime",
        model,
        NULL AS model_id,
        route AS model_group,
        provider AS custom_llm_provider,
        'https://gateway.internal/v1' AS api_base,
        '' AS "user",
        to_json({
            user_api_key_alias: project,
            user_api_key_team_id: team,
            usage_object: {
                prompt_tokens: input_tokens::BIGINT,
                completion_tokens: output_tokens::BIGINT,
                prompt_tokens_details: {cached_tokens: cached_input_tokens::BIGINT},
                cache_creation_input_tokens: cache_write_tokens::BIGINT,
                cache_creation: {ephemeral_1h_input_tokens: cache_write_1h_tokens::BIGINT},
                completion_tokens_details: {reasoning_tokens: reasoning_tokens::BIGINT}
            },
            attempted_retries: CASE WHEN call_role = 'retry' THEN 1 ELSE 0 END,
            attempted_fallbacks: CASE WHEN call_role = 'fallback' THEN 1 ELSE 0 END,
            error_information: CASE WHEN status <> 'ok' THEN {
                error_class: CASE status WHEN 'rate_limited' THEN 'RateLimitError' WHEN 'timeout' THEN 'Timeout'
                    WHEN 'refused' THEN 'ContentPolicyViolationError' ELSE 'APIError' END,
                error_code: CASE status WHEN 'rate_limited' THEN '429' WHEN 'timeout' THEN '408' ELSE '500' END
            } END,
            cost_breakdown: {service_tier: service_tier}
        })::VARCHAR AS metadata,
        CASE WHEN response_cache_hit::BOOLEAN THEN 'True' ELSE 'False' END AS cache_hit,
        '' AS cache_key,
        to_json(list_filter(['feature:' || feature, 'environment:' || environment], lambda t: t IS NOT NULL))::VARCHAR
            AS request_tags,
        team AS team_id,
        NULL AS organization_id,
        NULL AS end_user,
        '10.0.0.5' AS requester_ip_address,
        '{}' AS messages,
        '{}' AS response,
        action_id AS session_id,
        CASE WHEN status = 'ok' THEN 'success' ELSE 'failure' END AS status,
        NULL AS mcp_namespaced_tool_name,
        NULL AS billing_agent_id,
        NULL AS agent_id,
        '{}' AS proxy_server_request,
        call_id AS litellm_call_id,
        strftime(ts::TIMESTAMPTZ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS created_at,
        strftime(ts::TIMESTAMPTZ AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%g') AS updated_at
    FROM read_csv(?, header = true, all_varchar = true)
) TO '{out}' (FORMAT csv, HEADER true)
"""


def write_spend_logs(canonical_csv: Path, out: Path) -> Path:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(SPEND_LOGS_SQL.replace("{out}", str(out).replace("'", "''")), [str(canonical_csv)])
    return out


if __name__ == "__main__":
    write_spend_logs(Path(sys.argv[1]), Path(sys.argv[2]))
