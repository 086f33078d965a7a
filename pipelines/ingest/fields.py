"""The canonical routing log (DESIGN.md §2) as data: one rule per field.

Everything that checks a routing-log row is generated from `FIELDS` and `ROW_RULES`:
the SQL that parses and validates a file, the reasons written to `raw.rejects`, the
`raw.calls` DDL and the table in the README. Change a rule here and all of them follow.

A row is parsed from text (JSON scalars read as their literal text, CSV cells as read),
so a JSON `12` and `"12"` mean the same, and a rule never depends on the file format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BIGINT_MAX = 9_223_372_036_854_775_807
# Ten billion tokens in one call is far above any context window, and keeps every token
# count times the largest catalog price inside the warehouse's DECIMAL money types.
MAX_TOKENS = 10_000_000_000
# Per-request fees (web searches) of one call: far above any real call, and times the
# largest catalog fee still inside the warehouse's DECIMAL money types.
MAX_REQUEST_FEES = 1_000_000

# A value of these kinds (a JSON object, array or boolean; a Parquet struct, list or map)
# is never one field's value. Its text is not shown in the reason: it may hold a prompt.
NESTED_KINDS = ("OBJECT", "ARRAY", "STRUCT", "LIST", "MAP", "UNION")

# Text fields that carry prompts or responses in common log shapes. They are never
# read into the warehouse, and are cut out of a rejected row before it is stored.
CONTENT_FIELDS = (
    "prompt",
    "prompts",
    "messages",
    "input",
    "output",
    "response",
    "responses",
    "completion",
    "completions",
    "content",
    "system",
    "system_prompt",
    "instructions",
    "request",
    "request_body",
    "response_body",
    "text",
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | enum | int | float | bool | timestamp
    required: bool = False
    default: str | None = None  # SQL literal used when the value is missing
    values: tuple[str, ...] = ()  # allowed values of an enum
    maximum: int = BIGINT_MAX  # ints only
    doc: str = ""
    sql_type: str = field(init=False, default="")

    def __post_init__(self) -> None:
        sql_type = {
            "text": "VARCHAR",
            "enum": "VARCHAR",
            "int": "BIGINT",
            "float": "DOUBLE",
            "bool": "BOOLEAN",
            "timestamp": "TIMESTAMPTZ",
        }[self.kind]
        object.__setattr__(self, "sql_type", sql_type)


CALL_ROLES = ("primary", "retry", "fallback", "validation", "tool", "classifier")
STATUSES = ("ok", "error", "timeout", "rate_limited", "invalid_output", "refused")
OUTCOMES = ("completed", "failed", "abandoned")

FIELDS: tuple[Field, ...] = (
    Field("call_id", "text", required=True, doc="unique per call; the dedupe key"),
    Field("action_id", "text", required=True, doc="groups the calls made for one user-level action"),
    Field("ts", "timestamp", required=True, doc="when the call started"),
    Field("route", "text", required=True, doc="the routing entry the action took"),
    Field("call_role", "enum", default="'primary'", values=CALL_ROLES),
    Field("provider", "text", required=True, doc="provider id (`openai`, `anthropic`, ...)"),
    Field("model", "text", required=True, doc="model id as the provider names it"),
    Field("status", "enum", default="'ok'", values=STATUSES, doc="the error taxonomy"),
    Field("quality_passed", "bool", doc="false = a quality check rejected the answer"),
    Field("action_outcome", "enum", values=OUTCOMES, doc="explicit outcome from the router; wins"),
    Field(
        "input_tokens", "int", default="0", maximum=MAX_TOKENS, doc="all input tokens, cache reads and writes included"
    ),
    Field("cached_input_tokens", "int", default="0", maximum=MAX_TOKENS, doc="prompt-cache reads, part of input"),
    Field("cache_write_tokens", "int", default="0", maximum=MAX_TOKENS, doc="prompt-cache writes, part of input"),
    Field(
        "cache_write_1h_tokens", "int", default="0", maximum=MAX_TOKENS, doc="1-hour cache writes, part of cache writes"
    ),
    Field("output_tokens", "int", default="0", maximum=MAX_TOKENS, doc="all output, reasoning included"),
    Field("reasoning_tokens", "int", default="0", maximum=MAX_TOKENS, doc="reasoning tokens, part of output"),
    Field("tool_calls", "int", default="0", doc="tool invocations in this call"),
    Field("latency_ms", "float", doc="call latency in milliseconds"),
    Field("response_cache_hit", "bool", default="false", doc="served from the gateway's response cache"),
    Field("batch", "bool", default="false", doc="sent through a provider batch API"),
    Field("service_tier", "text", doc="`default`, `flex`, `priority`, ... where priced apart"),
    Field("fallback_reason", "text"),
    Field("error_type", "text"),
    Field("user_tier", "text"),
    Field("workload_class", "text"),
    Field("team", "text"),
    Field("project", "text"),
    Field("feature", "text"),
    Field("environment", "text"),
    Field("policy_version", "text"),
    Field("region", "text"),
    Field("logged_cost_usd", "float", doc="the cost the gateway logged, if any (not used for pricing)"),
    Field(
        "web_search_calls",
        "int",
        default="0",
        maximum=MAX_REQUEST_FEES,
        doc="web-search requests the call made, priced per 1,000 (`web_search_per_1k`)",
    ),
)

FIELD_NAMES = tuple(f.name for f in FIELDS)
BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)

# Booleans accept the spellings that JSON, CSV writers and pandas produce.
BOOL_TRUE = ("true", "t", "1", "yes", "y")
BOOL_FALSE = ("false", "f", "0", "no", "n")

# Timestamps outside this window are almost always a unit mistake (epoch seconds
# read as milliseconds, or a default date), so they are rejected, not loaded.
TS_MIN = "2000-01-01"
TS_MAX = "2100-01-01"
# A date, optionally a time (seconds and fractions optional), optionally Z or an offset
# of at most ±14:00, the widest in use.
ISO_8601 = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?"
    r"([Zz]|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?)?)?"
)


@dataclass(frozen=True)
class RowRule:
    """A rule across fields, checked after every field parsed."""

    violated: str  # SQL, true when the rule is broken
    reason: str  # SQL text expression: the reason written to raw.rejects
    doc: str


ROW_RULES: tuple[RowRule, ...] = (
    RowRule(
        "cached_input_tokens + cache_write_tokens > input_tokens",
        "'cached_input_tokens + cache_write_tokens: must be <= input_tokens, got '"
        " || cached_input_tokens || ' + ' || cache_write_tokens || ' > ' || input_tokens",
        "`cached_input_tokens + cache_write_tokens <= input_tokens`",
    ),
    RowRule(
        "cache_write_1h_tokens > cache_write_tokens",
        "'cache_write_1h_tokens: must be <= cache_write_tokens, got '"
        " || cache_write_1h_tokens || ' > ' || cache_write_tokens",
        "`cache_write_1h_tokens <= cache_write_tokens`",
    ),
    RowRule(
        "reasoning_tokens > output_tokens",
        "'reasoning_tokens: must be <= output_tokens, got ' || reasoning_tokens || ' > ' || output_tokens",
        "`reasoning_tokens <= output_tokens`",
    ),
)


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def parse_expr(f: Field, raw: str) -> str:
    """SQL that turns the text `raw` into the field's type, NULL when it does not parse.

    Each parse tries the canonical spelling first: string functions such as lower()
    and trim() cost more than the rest of the validation, so they run only on the
    rows that need them.
    """
    if f.kind == "text":
        return f"nullif({raw}, '')"
    if f.kind == "enum":
        values = ", ".join(quote(v) for v in f.values)
        return f"CASE WHEN {raw} IN ({values}) THEN {raw} ELSE nullif(lower(trim({raw})), '') END"
    if f.kind == "int":
        # The round trip refuses what DuckDB's cast would bend (1.5 -> 2, 0x10, 1_000);
        # an integral float such as 2.0 (pandas writes token counts so) is kept, and so is
        # an integral exponent form: DuckDB reads the JSON number 1e3 as the text 1000.0,
        # so the string "1e3" must mean the same.
        exact = f"TRY_CAST({raw} AS DECIMAL(38, 10))"
        return (
            f"CASE WHEN TRY_CAST({raw} AS BIGINT)::VARCHAR = {raw} THEN TRY_CAST({raw} AS BIGINT) "
            f"WHEN regexp_full_match({raw}, '-?[0-9]+[.]0*') THEN TRY_CAST(split_part({raw}, '.', 1) AS BIGINT) "
            f"WHEN regexp_full_match({raw}, '-?[0-9]+([.][0-9]*)?[eE][+-]?[0-9]+') AND {exact} = trunc({exact}) "
            f"THEN TRY_CAST({exact} AS BIGINT) END"
        )
    if f.kind == "float":
        return f"CASE WHEN isfinite(TRY_CAST({raw} AS DOUBLE)) THEN TRY_CAST({raw} AS DOUBLE) END"
    if f.kind == "bool":
        true_values = ", ".join(quote(v) for v in BOOL_TRUE)
        false_values = ", ".join(quote(v) for v in BOOL_FALSE)
        return (
            f"CASE WHEN {raw} = 'true' THEN true WHEN {raw} = 'false' THEN false "
            f"WHEN lower(trim({raw})) IN ({true_values}) THEN true "
            f"WHEN lower(trim({raw})) IN ({false_values}) THEN false END"
        )
    if f.kind == "timestamp":
        # ISO-8601 only: DuckDB's cast alone also takes zone names and abbreviations (PST)
        # and offsets past ±14:00. A value without an offset is read as UTC (every
        # connection runs with TimeZone=UTC). Epoch milliseconds are all digits.
        return (
            f"CASE WHEN regexp_full_match({raw}, {quote(ISO_8601)}) THEN TRY_CAST({raw} AS TIMESTAMPTZ) "
            f"WHEN regexp_full_match(trim({raw}), '-?[0-9]+') "
            f"THEN epoch_ms(TRY_CAST(trim({raw}) AS BIGINT))::TIMESTAMPTZ END"
        )
    raise ValueError(f"unknown kind {f.kind!r}")


def typed_parse_expr(f: Field, raw: str) -> str:
    """SQL for a column the file already stores in a matching type (a Parquet BIGINT, a TIMESTAMP)."""
    if f.kind in ("text", "enum"):
        return parse_expr(f, raw)
    if f.kind == "float":
        return f"CASE WHEN isfinite(TRY_CAST({raw} AS DOUBLE)) THEN TRY_CAST({raw} AS DOUBLE) END"
    return f"TRY_CAST({raw} AS {f.sql_type})"


def field_violation(
    f: Field, raw: str, value: str, typed: bool = False, kind: str | None = None
) -> list[tuple[str, str]]:
    """(condition, reason) pairs for one field: `raw` is what was read, `value` the parsed value.

    `kind` is SQL for the kind of value the file holds (a JSON type, a Parquet type), when known.
    """
    name = f.name
    shown = f"left(CAST({raw} AS VARCHAR), 60)"
    present = f"{raw} IS NOT NULL" if typed else f"nullif({raw}, '') IS NOT NULL"
    unparsed = f"{present} AND {value} IS NULL"
    checks: list[tuple[str, str]] = []
    if f.required:
        checks.append((f"NOT ({present})", quote(f"{name}: required, missing")))
    if kind is not None:
        refused = NESTED_KINDS + (("BOOLEAN", "SUSPECT") if f.kind in ("text", "enum") else ())
        listed = ", ".join(quote(k) for k in refused)
        checks.append(
            (f"{kind} IN ({listed})", quote(f"{name}: must be a single text or number, got a ") + f" || lower({kind})")
        )
    if f.kind in ("text", "enum"):
        checks.append((f"contains({raw}, chr(0))", quote(f"{name}: must not contain NUL characters")))
    if f.kind == "enum":
        allowed = ", ".join(quote(v) for v in f.values)
        checks.append(
            (
                f"{present} AND {value} NOT IN ({allowed})",
                quote(f"{name}: must be one of {', '.join(f.values)}, got ") + f" || {shown}",
            )
        )
    elif f.kind == "int":
        expected = quote(f"{name}: must be an integer between 0 and {f.maximum}, got ") + f" || {shown}"
        checks.append((unparsed, expected))
        checks.append((f"{value} < 0", quote(f"{name}: must be >= 0, got ") + f" || {value}"))
        checks.append((f"{value} > {f.maximum}", expected))
    elif f.kind == "float":
        checks.append((unparsed, quote(f"{name}: must be a finite number, got ") + f" || {shown}"))
        checks.append((f"{value} < 0", quote(f"{name}: must be >= 0, got ") + f" || {value}"))
    elif f.kind == "bool":
        checks.append((unparsed, quote(f"{name}: must be true or false, got ") + f" || {shown}"))
    elif f.kind == "timestamp":
        expected = f"{name}: must be ISO-8601 (offset up to ±14:00; none means UTC) or epoch milliseconds, got "
        checks.append((unparsed, quote(expected) + f" || {shown}"))
        checks.append(
            (
                f"{value} < TIMESTAMPTZ '{TS_MIN}' OR {value} >= TIMESTAMPTZ '{TS_MAX}'",
                quote(f"{name}: must be between {TS_MIN} and {TS_MAX}, got ") + f" || {shown}",
            )
        )
    return checks


def validate_sql(
    source: str,
    raw_column: dict[str, str],
    keep: tuple[str, ...] = (),
    typed: frozenset[str] = frozenset(),
    kinds: dict[str, str] | None = None,
) -> str:
    """SQL: every canonical field parsed from the columns of `source`, plus `reject_reason`.

    `raw_column` maps a field name to the SQL expression that holds it in `source`
    (as text, or already in the field's type when the name is in `typed`); fields the
    file lacks read as NULL. `keep` names columns of `source` passed through untouched
    (row numbers, raw text). `kinds` maps a field to SQL for the kind of value the file
    holds there (see NESTED_KINDS), where the format tells it. `reject_reason` is the first
    rule the row breaks, or NULL.
    """
    kinds = kinds or {}
    kept = "".join(f", {name}" for name in keep)
    raw = ", ".join(f"{raw_column.get(f.name, 'NULL::VARCHAR')} AS {f.name}__raw" for f in FIELDS)
    raw += "".join(f", {kinds[f.name]} AS {f.name}__kind" for f in FIELDS if f.name in kinds)
    parsed = ", ".join(
        f"{(typed_parse_expr if f.name in typed else parse_expr)(f, f'{f.name}__raw')} AS {f.name}__v" for f in FIELDS
    )
    defaulted = ", ".join(
        f"coalesce({f.name}__v, {f.default}) AS {f.name}" if f.default else f"{f.name}__v AS {f.name}" for f in FIELDS
    )
    whens = [
        f"WHEN {condition} THEN {reason}"
        for f in FIELDS
        for condition, reason in field_violation(
            f, f"{f.name}__raw", f"{f.name}__v", f.name in typed, f"{f.name}__kind" if f.name in kinds else None
        )
    ]
    whens += [f"WHEN {rule.violated} THEN {rule.reason}" for rule in ROW_RULES]
    columns = ", ".join(FIELD_NAMES)
    return (
        f"SELECT {columns}, CASE {' '.join(whens)} END AS reject_reason{kept} FROM ("
        f"SELECT {defaulted}, * FROM ("
        f"SELECT {parsed}, * FROM ("
        f"SELECT {raw}{kept} FROM ({source}))))"
    )


def calls_ddl(table: str = "raw.calls") -> str:
    columns = ",\n    ".join(
        f"{f.name} {f.sql_type}" + (" NOT NULL" if f.required or f.default else "") for f in FIELDS
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {columns},\n    load_id BIGINT NOT NULL\n)"


def markdown_table() -> str:
    """The field rules as a Markdown table, for the README."""
    lines = ["| field | type | rule |", "|---|---|---|"]
    for f in FIELDS:
        rule = []
        if f.required:
            rule.append("required")
        if f.values:
            rule.append("one of " + ", ".join(f"`{v}`" for v in f.values))
        if f.kind == "int":
            rule.append(f"integer, 0 to {f.maximum}")
        if f.kind == "float":
            rule.append("finite number >= 0")
        if f.kind in ("text", "enum"):
            rule.append("a string or number, no NUL characters")
        if f.kind == "bool":
            rule.append("true/false (also t/f, 1/0, yes/no)")
        if f.kind == "timestamp":
            rule.append(
                "ISO-8601 with an offset up to ±14:00 (none means UTC; no zone names) or epoch milliseconds; "
                f"{TS_MIN} to {TS_MAX}; stored in UTC"
            )
        if f.default is not None:
            rule.append(f"default `{f.default.strip(chr(39))}`")
        if f.doc:
            rule.append(f.doc)
        lines.append(f"| `{f.name}` | {f.sql_type} | {'; '.join(rule)} |")
    for rule in ROW_RULES:
        lines.append(f"| (row) | | {rule.doc} |")
    return "\n".join(lines)
