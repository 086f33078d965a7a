"""A model's SQL in Spark's dialect: sqlglot from DuckDB's, refusing what it cannot translate.

One SQL file per model serves both engines. sqlglot translates the SQL; the few DuckDB
constructs it passes through untranslated are rewritten here into their exact Spark
equivalents (SPARK_FUNCTIONS and _rewrite), and anything else it does not know (a DuckDB-only
function, a construct sqlglot reports as unsupported) stops the build with the model's file
and the construct: write that model in SQL both engines run, never a second copy.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from pipelines import cache
from pipelines.errors import UserError, first_line


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    call = exp.Anonymous(this=name, expressions=list(args))
    call.meta["spark"] = True  # already Spark's: never rewritten again
    return call


def _glob_regex(pattern: exp.Expression) -> exp.Expression:
    """A GLOB pattern (`*`, `?`) as an anchored Java regex: the other regex characters escaped."""
    escaped = _call("regexp_replace", pattern, exp.Literal.string(r"([\\.+^$(){}|\[\]])"), exp.Literal.string(r"\\$1"))
    star = _call("replace", escaped, exp.Literal.string("*"), exp.Literal.string(".*"))
    mark = _call("replace", star, exp.Literal.string("?"), exp.Literal.string("."))
    return exp.Concat(expressions=[exp.Literal.string("^"), mark, exp.Literal.string("$")])


# DuckDB functions sqlglot leaves as they are, with the Spark expression that computes the same value.
SPARK_FUNCTIONS: dict[str, Callable[[list[exp.Expression]], exp.Expression]] = {
    # microseconds since the epoch of a TIMESTAMPTZ
    "epoch_us": lambda a: _call("unix_micros", a[0]),
    # the wall-clock time in a zone of a UTC instant (the session is UTC)
    "timezone": lambda a: _call("from_utc_timestamp", a[1], a[0]),
    # every element of the second list is in the first
    "list_has_all": lambda a: exp.EQ(
        this=_call("size", _call("array_except", a[1], a[0])), expression=exp.Literal.number(0)
    ),
    # neither NaN nor ±infinity (NULL stays NULL)
    "isfinite": lambda a: exp.And(
        this=exp.Not(this=_call("isnan", a[0])),
        expression=exp.Not(
            this=exp.In(
                this=_call("abs", a[0].copy()),
                expressions=[exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE"))],
            )
        ),
    ),
    # a scalar as JSON text (NULL stays NULL): Spark's to_json takes only structs and arrays
    "to_json": lambda a: exp.Case(
        ifs=[exp.If(this=exp.Is(this=a[0].copy(), expression=exp.Null()), true=exp.Null())],
        default=_call(
            "regexp_extract",
            _call("to_json", _call("array", a[0])),
            exp.Literal.string(r"^\[(.*)\]$"),
            exp.Literal.number(1),
        ),
    ),
}


def view_name(table: str) -> str:
    """The Spark temp view of a schema-qualified table: `raw.calls` -> `raw__calls` (temp views are unqualified)."""
    schema, name = table.lower().split(".")
    return f"{schema}__{name}"


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() in SPARK_FUNCTIONS and not node.meta.get("spark"):
        return SPARK_FUNCTIONS[node.name.lower()]([a.copy() for a in node.expressions])
    if isinstance(node, exp.ArrayOverlaps):  # DuckDB's list_has_any (sqlglot writes `&&`)
        return _call("arrays_overlap", node.this, node.expression)
    if isinstance(node, exp.RegexpFullMatch):  # the whole text matches: an anchored RLIKE
        anchored = exp.Concat(
            expressions=[exp.Literal.string("^(?:"), node.expression.copy(), exp.Literal.string(")$")], safe=True
        )
        return exp.RegexpLike(this=node.this.copy(), expression=anchored)
    if isinstance(node, exp.Glob):
        return exp.RegexpLike(this=node.this, expression=_glob_regex(node.expression))
    if isinstance(node, exp.DayOfWeekIso):  # sqlglot writes (dayofweek % 7) + 1, which is not ISO (Monday = 1)
        return exp.Add(this=_call("weekday", node.this), expression=exp.Literal.number(1))
    if isinstance(node, exp.PercentileCont):  # DuckDB's quantile_cont, interpolated as DuckDB does
        return _quantile_cont(node)
    if isinstance(node, exp.IntDiv) and not node.meta.get("spark"):
        return _integer_division(node)
    if isinstance(node, exp.Div) and not node.meta.get("spark"):
        # DuckDB's `/` is a DOUBLE division for every numeric type (DECIMAL too); Spark's keeps
        # decimals decimal (another rounding): divide the same doubles
        return _spark_node(
            exp.Div(this=_to("DOUBLE", node.this), expression=_to("DOUBLE", node.expression), typed=False, safe=False)
        )
    if isinstance(node, exp.JSONObject):  # json_object(k, v, ...): keys in order, NULL values kept
        pairs = [part for kv in node.expressions for part in (kv.this, kv.expression)]
        options = _call("map", exp.Literal.string("ignoreNullFields"), exp.Literal.string("false"))
        return _call("to_json", _call("named_struct", *pairs), options)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order):
        return _distinct_string_agg(node)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build("DECIMAL(38, 0)")  # HUGEINT: Spark's widest exact integer
    return node


def _spark_node(node: exp.Expression) -> exp.Expression:
    node.meta["spark"] = True  # already Spark's: never rewritten again
    return node


def _to(kind: str, value: exp.Expression) -> exp.Expression:
    return exp.Cast(this=value.copy(), to=exp.DataType.build(kind))


def _integer_division(node: exp.IntDiv) -> exp.Expression:
    """`a // b` of whole numbers (HUGEINT included), truncated toward zero as DuckDB does, exactly.

    Spark's `a DIV b` returns a BIGINT and silently wraps a larger quotient (a hugeint of 1e-21 USD
    divided by a count), so: (a - a % b) / b, an exact multiple divided exactly, as DECIMAL(38, 0).
    With b as DECIMAL(20, 0) (every BIGINT) Spark's exact division keeps 28 integer digits: a
    larger quotient or divisor is an overflow error (ANSI), never a wrong number.
    """
    dividend = _to("DECIMAL(38, 0)", node.this)
    divisor = _to("DECIMAL(20, 0)", node.expression)
    multiple = exp.Sub(this=dividend, expression=exp.Mod(this=dividend.copy(), expression=divisor.copy()))
    quotient = _spark_node(exp.Div(this=exp.paren(multiple, copy=False), expression=divisor, typed=False, safe=False))
    return _to("DECIMAL(38, 0)", quotient)


# DuckDB's quantile_cont of the sorted values s (n of them) at q: RN = (n - 1) * q as a double,
# lo = s[floor(RN)], hi = s[ceil(RN)], d = RN - floor(RN), lo x (1 - d) + hi x d, which DuckDB's
# build computes as one fused multiply-add, fma(lo, 1 - d, hi x d) (rounded once): Java's Math.fma,
# through Spark's java_method (its result as text, Java's shortest round-tripping decimal). Spark's
# own percentile interpolates otherwise, a last digit apart.
_QUANTILE = """
CASE WHEN SIZE(_s) = 0 THEN NULL ELSE CAST(JAVA_METHOD(
    'java.lang.Math',
    'fma',
    CAST(ELEMENT_AT(_s, CAST(FLOOR(CAST(_q AS DOUBLE) * (SIZE(_s) - 1)) AS INT) + 1) AS DOUBLE),
    CAST(1 AS DOUBLE) - (CAST(_q AS DOUBLE) * (SIZE(_s) - 1) - FLOOR(CAST(_q AS DOUBLE) * (SIZE(_s) - 1))),
    CAST(ELEMENT_AT(_s, CAST(CEIL(CAST(_q AS DOUBLE) * (SIZE(_s) - 1)) AS INT) + 1) AS DOUBLE)
    * (CAST(_q AS DOUBLE) * (SIZE(_s) - 1) - FLOOR(CAST(_q AS DOUBLE) * (SIZE(_s) - 1)))
) AS DOUBLE) END
"""


def _quantile_cont(node: exp.PercentileCont) -> exp.Expression:
    """quantile_cont(x, q) or quantile_cont(x, [q1, q2, ...]) (a list of quantiles): the values sorted
    once per group (bound to a lambda), each quantile interpolated as DuckDB does. NULLs are skipped."""
    quantiles = node.expression
    many = isinstance(quantiles, exp.Array)
    qs = quantiles.expressions if many else [quantiles]

    def at(q: exp.Expression) -> exp.Expression:
        template = sqlglot.parse_one(_QUANTILE, read="spark")
        return template.transform(lambda n: q.copy() if isinstance(n, exp.Column) and n.name == "_q" else n)

    body = exp.Array(expressions=[at(q) for q in qs]) if many else at(qs[0])
    sorted_values = _call("array_sort", _call("collect_list", node.this.copy()))
    each = exp.Lambda(this=body, expressions=[exp.to_identifier("_s")])
    bound = _call("transform", _call("array", sorted_values), each)
    for part in bound.walk():
        part.meta["spark"] = True
    return _call("element_at", bound, exp.Literal.number(1))


def _distinct_string_agg(node: exp.GroupConcat) -> exp.Expression:
    """string_agg(DISTINCT x, sep ORDER BY x): Spark's listagg(DISTINCT) fails to plan (4.x), so the sorted
    set of values joined, NULL for a group without any (as DuckDB's string_agg)."""
    order = node.this
    distinct = order.this
    keys = order.expressions
    if not (isinstance(distinct, exp.Distinct) and len(distinct.expressions) == 1):
        return node
    value = distinct.expressions[0]
    if len(keys) != 1 or keys[0].this != value or keys[0].args.get("desc"):
        raise UserError(f"string_agg(DISTINCT {value.sql()}) must be ordered by the value itself, ascending")
    values = _call("array_sort", _call("collect_set", value.copy()))
    return exp.Case(
        ifs=[exp.If(this=exp.EQ(this=_call("size", values.copy()), expression=exp.Literal.number(0)), true=exp.Null())],
        default=_call("array_join", values, node.args.get("separator") or exp.Literal.string(",")),
    )


def _union_by_name(union: exp.Union) -> exp.Expression:
    """`a UNION ALL BY NAME b` as a positional union: DuckDB's column order (the first side's columns, then
    each new one), NULL where a side lacks a column. Each side must be `SELECT * FROM <cte>` of a CTE whose
    columns are named, or a SELECT with named columns."""
    sides = []
    for side in (union.this, union.expression):
        if isinstance(side, exp.Union) and side.args.get("by_name"):
            side = _union_by_name(side)
        sides.append(side)
    names = [_output_names(side, union) for side in sides]
    ordered = list(dict.fromkeys(n for side_names in names for n in side_names))
    positional = [
        exp.select(*[exp.column(n) if n in side_names else exp.Null().as_(n) for n in ordered]).from_(
            side.subquery(f"_by_name_{i}")
        )
        for i, (side, side_names) in enumerate(zip(sides, names, strict=True))
    ]
    result = exp.union(*positional, distinct=bool(union.args.get("distinct")))
    for key in ("with_", "with"):  # the query's CTEs hang on its outermost union
        if union.args.get(key):
            result.set(key, union.args[key])
    return result


def _output_names(query: exp.Expression, scope: exp.Expression) -> list[str]:
    if isinstance(query, exp.Union):
        return _output_names(query.this, scope)
    if not isinstance(query, exp.Select):
        raise UserError(f"UNION BY NAME of a {query.key}: name the columns")
    if not query.is_star:
        return list(query.named_selects)
    from_ = query.args.get("from_") or query.args.get("from")
    source = from_.this if from_ else None
    ctes = {cte.alias_or_name: cte.this for cte in scope.root().find_all(exp.CTE)}
    if not isinstance(source, exp.Table) or source.name not in ctes:
        raise UserError("UNION BY NAME of `SELECT *` from something other than a CTE: name the columns")
    return _output_names(ctes[source.name], scope)


@functools.lru_cache(maxsize=512)
def to_spark(sql: str, path: Path, qualified_names: bool = True) -> str:
    """The model's SELECT as Spark SQL; schema-qualified tables become their temp views unless qualified_names."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as exc:
        raise UserError(f"{path}: not valid SQL: {first_line(exc)}") from exc
    unknown = sorted({f.name for f in tree.find_all(exp.Anonymous)} - set(SPARK_FUNCTIONS), key=str.lower)
    if unknown:
        raise UserError(
            f"{path}: does not transpile to Spark SQL: {', '.join(unknown)}() is DuckDB-only or unknown to sqlglot; "
            "write it in SQL both DuckDB and Spark run (one file per model)"
        )
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)  # `AS MATERIALIZED`: a planner hint Spark does not take
    for _ in range(5):  # a rewrite's new node is not walked again: repeat until nothing is left to rewrite
        before = tree.sql()
        tree = tree.transform(_rewrite)
        if tree.sql() == before:
            break
    tree = tree.transform(lambda n: _union_by_name(n) if isinstance(n, exp.Union) and n.args.get("by_name") else n)
    if not qualified_names:
        for table in tree.find_all(exp.Table):
            if table.db:
                table.replace(exp.to_table(view_name(f"{table.db}.{table.name}")).as_(table.alias_or_name))
    try:
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE, pretty=True)
    except UnsupportedError as exc:
        raise UserError(
            f"{path}: does not transpile to Spark SQL: {first_line(exc)}; "
            "write it in SQL both DuckDB and Spark run (one file per model)"
        ) from exc


CACHE_ENTRIES = 2000  # the cache keeps the newest successes: a few per edit of a model


def cache_file() -> Path:
    """Where the models that transpiled are remembered: $XDG_CACHE_HOME/routeledger/, else ~/.cache/routeledger/."""
    return cache.cache_file("transpiled.json")


@functools.cache
def _rules_version() -> str:
    """What decides whether a model transpiles besides its SQL: sqlglot's version and these rewrite rules."""
    return cache.code_key(sqlglot.__version__, __file__)


def check_transpiles(models: Iterable[tuple[str, Path]]) -> None:
    """Raise UserError, naming the file, unless every model (its SQL, its path) transpiles to Spark SQL.

    Transpiling every model takes about a second, at every build of either engine, for SQL that
    rarely changes: a model that transpiled is remembered (the sha256 of its SQL, sqlglot's version
    and these rules) in a small JSON file under the user's cache directory, and not transpiled again.
    A failure is never remembered. The cache is only a shortcut: unreadable or unwritable, it is
    ignored and the models are transpiled.
    """
    known = _read_cache()
    remembered = set(known)
    new = []
    for sql, path in models:
        key = hashlib.sha256(f"{_rules_version()}\n{sql}".encode()).hexdigest()
        if key not in remembered:
            to_spark(sql, path)
            new.append(key)
            remembered.add(key)
    if new:
        _write_cache([k for k in known if k not in new] + new)


def _read_cache() -> list[str]:
    keys = cache.read("transpiled.json")
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def _write_cache(keys: list[str]) -> None:
    cache.write("transpiled.json", keys[-CACHE_ENTRIES:])
