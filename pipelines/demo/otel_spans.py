"""Calls written as an OpenTelemetry collector's OTLP/JSON trace export, for the demo.

One `chat` span per call (GenAI semantic conventions: `gen_ai.provider.name`,
`gen_ai.response.model`, `gen_ai.usage.*`, `gen_ai.agent.name` carrying the route), one trace
per action (`traceId` = md5 of the action id, `spanId` = the first 16 hex digits of the call
id's md5), under one resource (`service.name`, `deployment.environment.name`). One DuckDB
query builds the document; no Python loop over rows.

OpenTelemetry has no call role, quality check, outcome, batch flag or 1-hour cache writes,
and a span names no team or feature, so only whole actions whose calls need none of these
are written so (`split_expressible_actions`); their costs and the route's metrics stay the
same, their call and action ids become span and trace ids.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

OTLP_SQL = """
WITH spans AS (
    SELECT environment, {{
        traceId: md5(action_id),
        spanId: left(md5(call_id), 16),
        parentSpanId: '',
        name: 'chat ' || model,
        kind: 3,
        startTimeUnixNano: (epoch_ms(ts)::HUGEINT * 1000000)::VARCHAR,
        endTimeUnixNano: (epoch_ms(ts)::HUGEINT * 1000000 + round(latency_ms * 1000000)::HUGEINT)::VARCHAR,
        attributes: [
            {{key: 'gen_ai.operation.name', value: {{stringValue: 'chat', intValue: NULL::VARCHAR}}}},
            {{key: 'gen_ai.agent.name', value: {{stringValue: route, intValue: NULL}}}},
            {{key: 'gen_ai.provider.name', value: {{stringValue: provider, intValue: NULL}}}},
            {{key: 'gen_ai.response.model', value: {{stringValue: model, intValue: NULL}}}},
            {{key: 'openai.response.service_tier', value: {{stringValue: service_tier, intValue: NULL}}}},
            {{key: 'gen_ai.usage.input_tokens', value: {{stringValue: NULL, intValue: input_tokens::VARCHAR}}}},
            {{key: 'gen_ai.usage.cache_read.input_tokens',
                value: {{stringValue: NULL, intValue: cached_input_tokens::VARCHAR}}}},
            {{key: 'gen_ai.usage.cache_creation.input_tokens',
                value: {{stringValue: NULL, intValue: cache_write_tokens::VARCHAR}}}},
            {{key: 'gen_ai.usage.output_tokens', value: {{stringValue: NULL, intValue: output_tokens::VARCHAR}}}},
            {{key: 'gen_ai.usage.reasoning.output_tokens',
                value: {{stringValue: NULL, intValue: reasoning_tokens::VARCHAR}}}},
            {{key: 'gen_ai.usage.cost', value: {{stringValue: logged_cost_usd::VARCHAR, intValue: NULL}}}}
        ],
        status: {{code: 0}}
    }} AS span
    FROM calls
)
SELECT to_json({{resourceSpans: list({{
    resource: {{attributes: [
        {{key: 'service.name', value: {{stringValue: {service}}}}},
        {{key: 'deployment.environment.name', value: {{stringValue: environment}}}}
    ]}},
    scopeSpans: [{{scope: {{name: 'routeledger.demo', version: '1'}}, spans: spans}}]
}})}})::VARCHAR
FROM (SELECT environment, list(span) AS spans FROM spans GROUP BY environment)
"""


def split_expressible_actions(table: pa.Table, route: str) -> tuple[pa.Table, pa.Table]:
    """(the actions of `route` every call of which a GenAI span describes, the rest)."""
    fits = pc.and_(pc.equal(table["call_role"], "primary"), pc.equal(table["status"], "ok"))
    fits = pc.and_(fits, pc.and_(pc.invert(table["batch"]), pc.equal(table["tool_calls"], 0)))
    fits = pc.and_(fits, pc.equal(table["cache_write_1h_tokens"], 0))
    fits = pc.and_(fits, pc.invert(pc.is_null(table["latency_ms"])))
    for column in ("error_type", "quality_passed", "action_outcome", "fallback_reason"):
        fits = pc.and_(fits, pc.is_null(table[column]))
    fits = pc.and_(pc.fill_null(fits, False), pc.equal(table["route"], route))
    misfits = pc.unique(table.filter(pc.invert(fits))["action_id"])
    chosen = pc.and_(pc.equal(table["route"], route), pc.invert(pc.is_in(table["action_id"], misfits)))
    return table.filter(chosen), table.filter(pc.invert(chosen))


def write_otlp(calls: pa.Table, path: Path, service: str) -> Path:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("calls", calls)
    service_literal = "'" + service.replace("'", "''") + "'"
    document = con.execute(OTLP_SQL.format(service=service_literal)).fetchone()[0]
    con.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document + "\n")
    return path
