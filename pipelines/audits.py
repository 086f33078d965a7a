"""Blocking audits: queries that return the rows that must not exist.

Every audit is one SELECT returning offending rows; none returned means it passed.
They come from three places:
- each model's header (`pipelines/models.py`): `unique` on its grain (always), and the
  audits it lists:
      unique: [col, ...]
      not_null: [col, ...]
      accepted_values: {column: col, values: [a, b]}
      accepted_range: {columns: [col, ...], min: 0, max: 1}     (min or max may be left out)
      expression_is_true: "sql condition"                        (NULL passes, as in dbt)
      reconciles: {expression: "sum(x)", with: schema.model,
                   other_expression: "sum(y)", where: "...", other_where: "..."}
                                                                 (equal to the last decimal)
- each mart's column spec (`pipelines/columns.py`): `not_null`, `min` and `max`;
- `sql/audits/*.sql`: custom audits, one SELECT each, named after the file.

`build` runs them all inside its transaction, before anything is published: one
failure rolls the build back and leaves the last snapshot in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from pipelines.errors import CheckFailed, UserError, first_line
from pipelines.models import Model, tables_read

SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Audit:
    name: str  # unique(week, route), accepted_range(fallback_rate), a custom file's stem, ...
    model: str  # what it checks
    sql: str  # a SELECT returning the offending rows
    source: Path  # where it is declared


@dataclass(frozen=True)
class AuditResult:
    audit: Audit
    failing_rows: int
    columns: list[str]
    sample: list[tuple]
    seconds: float

    @property
    def passed(self) -> bool:
        return self.failing_rows == 0


def collect(models: list[Model], audits_dir: Path | None = None, on_build: bool = False) -> list[Audit]:
    """Every audit of these models, then the custom audits of `audits_dir` (default sql/audits).

    `on_build`: leave out the audits of models whose header says `audits_run: on_demand`.
    """
    audits = [audit for model in models if model.audits_on_build or not on_build for audit in model_audits(model)]
    names = {m.name for m in models}
    if audits_dir is None:
        audits_dir = models[0].path.parents[1] / "audits" if models else None
    if audits_dir is not None:
        audits += custom_audits(audits_dir, names)
    return audits


def model_audits(model: Model) -> list[Audit]:
    """The model's grain uniqueness, its header's audits and its column spec's checks."""
    audits = [_unique(model, list(model.grain))]
    for entry in model.audits:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise UserError(f"{model.path}: each audit is one `kind: arguments` entry, got {entry!r}")
        ((kind, args),) = entry.items()
        build = BUILDERS.get(kind)
        if build is None:
            raise UserError(f"{model.path}: unknown audit {kind!r} (known: {', '.join(sorted(BUILDERS))})")
        try:
            audits.append(build(model, args))
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{model.path}: audit {kind}: bad arguments {args!r} ({first_line(exc)})") from exc
    not_null = [c.name for c in model.columns if c.not_null]
    if not_null:
        audits.append(replace(_not_null(model, not_null), source=model.path.with_suffix(".yml")))
    bounded = [(c.name, c.min, c.max) for c in model.columns if c.min is not None or c.max is not None]
    if bounded:  # one pass over the model for all its columns' ranges
        audits.append(replace(_bounds(model, bounded), source=model.path.with_suffix(".yml")))
    return audits


def custom_audits(audits_dir: Path, models: set[str]) -> list[Audit]:
    """`sql/audits/*.sql`: each one SELECT that returns offending rows, named after its file."""
    from pipelines.raw import SOURCES

    audits = []
    for path in sorted(audits_dir.glob("*.sql")):
        sql = path.read_text(encoding="utf-8")
        reads = tables_read(sql, path)
        unknown = sorted(reads - models - SOURCES)
        if unknown:
            raise UserError(f"{path}: reads {', '.join(unknown)}, which is neither a model nor a raw table")
        audits.append(Audit(path.stem, ", ".join(sorted(reads)), sql, path))
    return audits


def run(
    con: duckdb.DuckDBPyConnection,
    audits: list[Audit],
    on_done: Callable[[AuditResult], None] | None = None,
) -> list[AuditResult]:
    """Run every audit; raise CheckFailed after the last if any found offending rows."""
    results = []
    for audit in audits:
        started = time.perf_counter()
        try:
            cursor = con.execute(
                f"SELECT count(*) OVER () AS failing_rows, * FROM (\n{audit.sql}\n) AS offending LIMIT {SAMPLE_ROWS}"
            )
            rows = cursor.fetchall()
            columns = [d[0] for d in cursor.description][1:]
        except duckdb.Error as exc:
            raise UserError(
                f"{audit.source}: audit {audit.name} on {audit.model} cannot run: {first_line(exc)}"
            ) from exc
        result = AuditResult(
            audit, rows[0][0] if rows else 0, columns, [row[1:] for row in rows], time.perf_counter() - started
        )
        results.append(result)
        if on_done:
            on_done(result)
    failed = [r for r in results if not r.passed]
    if failed:
        raise AuditsFailed(failed)
    return results


class AuditsFailed(CheckFailed):
    def __init__(self, failed: list[AuditResult]) -> None:
        self.failed = failed
        first = failed[0]
        more = f" (and {len(failed) - 1} more failed audits)" if len(failed) > 1 else ""
        super().__init__(
            f"audit {first.audit.name} failed on {first.audit.model}: {first.failing_rows:,} offending row(s){more}"
        )


# -- the built-in audits ----------------------------------------------------------------------


def _columns(args: Any) -> list[str]:
    if isinstance(args, str):
        return [args]
    if isinstance(args, dict):
        return _columns(args.get("columns", args.get("column")))
    if isinstance(args, list) and args and all(isinstance(a, str) for a in args):
        return args
    raise ValueError("expected a column or a list of columns")


def _unique(model: Model, args: Any) -> Audit:
    columns = _columns(args)
    listed = ", ".join(columns)
    sql = f"SELECT {listed}, count(*) AS rows_with_this_key FROM {model.name} GROUP BY ALL HAVING count(*) > 1"
    return Audit(f"unique({listed})", model.name, sql, model.path)


def _not_null(model: Model, args: Any) -> Audit:
    columns = _columns(args)
    condition = " OR ".join(f"{c} IS NULL" for c in columns)
    return Audit(
        f"not_null({', '.join(columns)})", model.name, f"SELECT * FROM {model.name} WHERE {condition}", model.path
    )


def _accepted_values(model: Model, args: dict) -> Audit:
    column = args["column"]
    values = ", ".join(_literal(v) for v in args["values"])
    sql = f"SELECT {column}, count(*) AS n_rows FROM {model.name} WHERE {column} NOT IN ({values}) GROUP BY ALL"
    return Audit(f"accepted_values({column})", model.name, sql, model.path)


def _range(model: Model, args: dict) -> Audit:
    low, high = args.get("min"), args.get("max")
    if low is None and high is None:
        raise ValueError("give min, max or both")
    return _bounds(model, [(column, low, high) for column in _columns(args)])


def _bounds(model: Model, bounds: list[tuple[str, object, object]]) -> Audit:
    """Rows with any column outside its [min, max] (either may be None: unbounded); NULL passes."""
    conditions = [f"{column} < {_literal(low)}" for column, low, _ in bounds if low is not None]
    conditions += [f"{column} > {_literal(high)}" for column, _, high in bounds if high is not None]
    spans = {(_bound(low), _bound(high)) for _, low, high in bounds}
    if len(spans) == 1:  # one span for all: accepted_range(a, b in [0, 1])
        ((low, high),) = spans
        shown = f"{', '.join(column for column, *_ in bounds)} in [{low}, {high}]"
    else:
        shown = ", ".join(f"{column} in [{_bound(low)}, {_bound(high)}]" for column, low, high in bounds)
    sql = f"SELECT * FROM {model.name} WHERE {' OR '.join(conditions)}"
    return Audit(f"accepted_range({shown})", model.name, sql, model.path)


def _expression_is_true(model: Model, args: Any) -> Audit:
    expression = args if isinstance(args, str) else args["expression"]
    return Audit(
        f"expression_is_true({expression})",
        model.name,
        f"SELECT * FROM {model.name} WHERE NOT ({expression})",
        model.path,
    )


def _reconciles(model: Model, args: dict) -> Audit:
    expression = args["expression"]
    other = args["with"]
    other_expression = args.get("other_expression", expression)
    where = f" WHERE {args['where']}" if args.get("where") else ""
    other_where = f" WHERE {args['other_where']}" if args.get("other_where") else ""
    sql = (
        f"SELECT this_value, other_value, this_value - other_value AS difference FROM "
        f"(SELECT {expression} AS this_value FROM {model.name}{where}), "
        f"(SELECT {other_expression} AS other_value FROM {other}{other_where}) "
        "WHERE this_value IS DISTINCT FROM other_value"
    )
    return Audit(f"reconciles({expression} = {other}.{other_expression})", model.name, sql, model.path)


BUILDERS: dict[str, Callable[[Model, Any], Audit]] = {
    "unique": _unique,
    "not_null": _not_null,
    "accepted_values": _accepted_values,
    "accepted_range": _range,
    "expression_is_true": _expression_is_true,
    "reconciles": _reconciles,
}


def _bound(value: object) -> str:
    return "" if value is None else str(value)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
