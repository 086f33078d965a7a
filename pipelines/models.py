"""The SQL model runner: discover `sql/` models, read their headers, order them by what they read, build them.

A model is one SELECT in `sql/<layer>/<name>.sql`, built as `<layer>.<name>`. What it
reads is found by parsing it with sqlglot, never declared beside it (as SQLMesh does).
What it *is* is declared in its header, a small YAML block in the leading comment, in
the spirit of SQLMesh's `MODEL (...)`:

    -- model:
    --   materialized: table            # table | view (default: marts tables, others views)
    --   grain: [week, route]           # the columns that identify a row: audited unique
    --   audits:                        # blocking checks, see pipelines/audits.py
    --     - accepted_range: {columns: [fallback_rate], min: 0, max: 1}
    --   incremental: {by: week}        # a table of calls partitioned by this date column (week or day):
    --                                  # an incremental build recomputes only the weeks that changed
    --                                  # ({by: day, unit: day}: only the days the changed actions ran on)
    --
    -- One row per (week, route): ...  (prose for people, after a bare `--` line)

A mart's columns are described once beside it, in `<name>.yml` (pipelines/columns.py).
"""

from __future__ import annotations

import graphlib
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp

from pipelines import cache, incremental
from pipelines.errors import UserError, first_line
from pipelines.raw import SOURCES
from pipelines.resources import SQL_DIR, load_yaml
from pipelines.spark.transpile import check_transpiles

LAYERS = ("staging", "intermediate", "marts")
HEADER_START = re.compile(r"^--\s*model:\s*$")


class Incremental(BaseModel):
    """How an incremental build recomputes a table: the date column whose weeks it replaces."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str
    # week: the build's weeks are computed again; day: only the days the changed actions
    # have calls in (for a table whose rows of a day depend on that day's calls and their actions)
    unit: Literal["week", "day"] = "week"


class Header(BaseModel):
    """A model's declared shape: how it is stored, what identifies a row, what must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    materialized: Literal["table", "view"] | None = None
    grain: list[str] = Field(min_length=1)
    audits: list[dict[str, Any]] = []
    # on_demand: too heavy for every build (a view of millions of rows); `routeledger audit` runs them
    audits_run: Literal["build", "on_demand"] = "build"
    incremental: Incremental | None = None


@dataclass(frozen=True)
class Model:
    name: str  # schema.table
    path: Path
    sql: str
    reads: frozenset[str]
    materialized: str  # table | view
    grain: tuple[str, ...] = ()
    audits: tuple[dict[str, Any], ...] = ()
    audits_on_build: bool = True
    columns: tuple = field(default=(), compare=False)  # the column spec (columns.Column), marts only
    incremental: str | None = None  # the date column an incremental build replaces the weeks of
    incremental_unit: str = "week"  # or day: the days of the changed actions alone

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True)
class Built:
    name: str
    materialized: str
    rows: int | None
    seconds: float
    weeks: int | None = None  # an incremental table: the weeks computed again; None: built in full


def discover(sql_dir: Path | None = None) -> list[Model]:
    """Every model under sql_dir, in build order. No model at all is an error: a build of nothing is a bug."""
    from pipelines.columns import load_columns

    sql_dir = sql_dir or SQL_DIR
    paths = [p for layer in LAYERS for p in sorted((sql_dir / layer).glob("*.sql"))]
    if not paths:
        raise UserError(f"{sql_dir}: no SQL models found (expected sql/staging, sql/intermediate, sql/marts)")
    names = {f"{p.parent.name}.{p.stem}" for p in paths}
    models = {}
    known = _ReadsCache()
    for path in paths:
        name = f"{path.parent.name}.{path.stem}"
        sql = path.read_text()
        reads = known.tables_read(sql, path)
        unknown = sorted(reads - names - SOURCES)
        if unknown:
            raise UserError(f"{path}: reads {', '.join(unknown)}, which is neither a model nor a raw table")
        header = read_header(sql, path)
        materialized = header.materialized or ("table" if path.parent.name == "marts" else "view")
        if header.incremental and materialized != "table":
            raise UserError(f"{path}: model header: incremental applies to tables only; views stay views")
        columns = tuple(load_columns(path.with_suffix(".yml")))
        models[name] = Model(
            name,
            path,
            sql,
            frozenset(reads),
            materialized,
            tuple(header.grain),
            tuple(header.audits),
            header.audits_run == "build",
            columns,
            header.incremental.by if header.incremental else None,
            header.incremental.unit if header.incremental else "week",
        )
    known.save()
    check_transpiles((m.sql, m.path) for m in models.values())  # every model runs on Spark too: it must transpile
    ordered = [models[name] for name in _order(models)]
    sources = incremental.sources_read(ordered)
    for model in ordered:
        why = incremental.check_incremental(model, sources[model.name]) if model.incremental else None
        if why:
            raise UserError(f"{model.path}: {why}")
    return ordered


def read_header(sql: str, path: Path) -> Header:
    """The `-- model:` block of a model's leading comment, validated; missing or broken is an error naming the file."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line)
    start = next((i for i, line in enumerate(lines) if HEADER_START.match(line)), None)
    if start is None:
        raise UserError(f"{path}: no model header: start the file with a `-- model:` block that declares its grain")
    block = []
    for line in lines[start:]:
        if line.strip() == "--":
            break
        block.append(line[3:] if line.startswith("-- ") else line[2:])
    try:
        parsed = load_yaml("\n".join(block))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: the model header is not valid YAML: {first_line(exc)}") from exc
    try:
        return Header.model_validate((parsed or {}).get("model") or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'model'}: {e['msg']}" for e in exc.errors())
        raise UserError(f"{path}: model header: {problems}") from exc


def tables_read(sql: str, path: Path) -> set[str]:
    """The schema-qualified tables a SELECT reads, CTE names excluded."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise UserError(f"{path}: not valid SQL: {first_line(exc)}") from exc
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise UserError(f"{path}: must be exactly one SELECT statement")
    tree = statements[0]
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    reads = set()
    for table in tree.find_all(exp.Table):
        if not table.name or (not table.db and table.name in ctes):
            continue
        if not table.db:
            raise UserError(f"{path}: table {table.name} must be schema-qualified (for example marts.{table.name})")
        reads.add(f"{table.db}.{table.name}".lower())
    return reads


class _ReadsCache:
    """tables_read, remembered by the sha256 of the SQL, sqlglot's version and this file.

    Parsing every model with sqlglot took most of `discover`, at every build, for SQL that
    rarely changes (pipelines/cache.py: a shortcut only; a model that fails is never remembered).
    """

    NAME, ENTRIES = "reads.json", 2000

    def __init__(self) -> None:
        stored = cache.read(self.NAME)
        self.known: dict[str, list[str]] = stored if isinstance(stored, dict) else {}
        self.new: dict[str, list[str]] = {}
        self.version = cache.code_key(sqlglot.__version__, __file__)

    def tables_read(self, sql: str, path: Path) -> set[str]:
        key = hashlib.sha256(f"{self.version}\n{sql}".encode()).hexdigest()
        found = self.known.get(key)
        if isinstance(found, list) and all(isinstance(name, str) for name in found):
            return set(found)
        reads = tables_read(sql, path)
        self.new[key] = sorted(reads)
        return reads

    def save(self) -> None:
        if self.new:
            kept = [(k, v) for k, v in self.known.items() if k not in self.new]
            cache.write(self.NAME, dict((kept + list(self.new.items()))[-self.ENTRIES :]))


def _order(models: dict[str, Model]) -> list[str]:
    graph = {name: {r for r in model.reads if r in models} for name, model in models.items()}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        files = " -> ".join(str(models[name].path.relative_to(models[name].path.parents[1])) for name in cycle)
        raise UserError(f"models read each other in a cycle: {files}") from exc


def build(
    con: duckdb.DuckDBPyConnection,
    models: list[Model],
    on_built: Callable[[Built], None] | None = None,
    scope: incremental.Scope | None = None,
) -> list[Built]:
    """Create every model in order, with its column comments. The caller owns the transaction.

    With a scope (an incremental build), an incremental table that exists already has only
    what changed replaced (see _build_weeks), computed from the calls it needs alone (see _scoped).
    """
    from pipelines.columns import comment_statements

    for schema in sorted({m.layer for m in models}):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    sources = incremental.sources_read(models)
    # what an incremental model reads in place of raw.calls and the models built on it: by
    # week (scoped), and for the tables of calls or actions, the changed actions (changed)
    scoped: dict[str, str] = {}
    changed: dict[str, str] = {}
    calls: tuple[incremental.Calls, incremental.Calls] | None = None
    if scope is not None:
        calls = incremental.scope_calls(con, scope)
        scoped["raw.calls"], changed["raw.calls"] = calls[0].query, calls[1].query
    built = []
    for model in models:
        started = time.perf_counter()
        if scope is not None and model.incremental and _table_exists(con, model.name):
            assert calls is not None
            result = _build_weeks(con, model, scope, (scoped, changed), calls, started)
            built.append(result)
            if on_built:
                on_built(result)
            continue
        kind = "TABLE" if model.materialized == "table" else "VIEW"
        other = "VIEW" if kind == "TABLE" else "TABLE"
        exists_as_other = con.execute(
            f"SELECT 1 FROM duckdb_{other.lower()}s() WHERE schema_name = ? AND {other.lower()}_name = ?",
            model.name.split("."),
        ).fetchone()
        if exists_as_other:
            con.execute(f"DROP {other} {model.name}")
        try:
            con.execute(f"CREATE OR REPLACE {kind} {model.name} AS\n{model.sql}")
        except duckdb.Error as exc:
            raise UserError(f"{model.path}: {first_line(exc)}") from exc
        if model.columns:
            _check_columns(con, model)
            for statement in comment_statements(model.name, model.columns):
                con.execute(statement)
        if scope is not None and kind == "VIEW" and "raw.calls" in sources[model.name]:
            for prefix, reads in (("scoped_", scoped), ("changed_", changed)):
                name = prefix + model.name.replace(".", "_")
                con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS\n{_scoped(model, reads)}")
                reads[model.name] = f"select * from {name}"
        rows = con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0] if kind == "TABLE" else None
        result = Built(model.name, model.materialized, rows, time.perf_counter() - started)
        built.append(result)
        if on_built:
            on_built(result)
    return built


def _build_weeks(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    scope: incremental.Scope,
    reads: tuple[dict[str, str], dict[str, str]],
    calls: tuple[incremental.Calls, incremental.Calls],
    started: float,
) -> Built:
    """Replace what changed of an incremental table (DELETE, then INSERT it computed again):

    a table of calls or of actions (grain call_id or action_id), the rows of the changed
    actions, from their calls alone; any other table, the scope's weeks.
    """
    scoped, changed = reads
    scoped_calls, changed_calls = calls
    key = next((k for k in ("call_id", "action_id") if model.grain == (k,)), None)
    column = model.incremental or ""
    weeks = scope.condition(column)
    inside = scope.condition(column, unit=model.incremental_unit)  # the weeks, or the changed days
    # the rows of the changed actions, their weeks first so that zone maps skip the others
    of_changed = f"{changed_calls.within(column)} and action_id in (select action_id from changed_calls)"
    try:
        if key:
            con.execute(f"DELETE FROM {model.name} WHERE {of_changed}")
            con.execute(f"INSERT INTO {model.name}\n{_scoped(model, changed)}")
        elif scope.weeks:
            con.execute(f"DELETE FROM {model.name} WHERE {inside}")
            con.execute(f"INSERT INTO {model.name}\nSELECT * FROM (\n{_scoped(model, scoped)}\n) WHERE {inside}")
    except duckdb.Error as exc:
        raise UserError(f"{model.path}: {first_line(exc)}") from exc
    if key:
        changed[model.name] = f"select * from {model.name} where {of_changed}"
        # the calls or actions of the scope's calls (every call of their actions), as raw.calls is
        # scoped: its weeks, and the actions crossing their edges (no semi-join on every row)
        scoped[model.name] = (
            f"select * from {model.name} where {scoped_calls.within(column)} "
            f"and ({weeks} or action_id in (select action_id from scoped_actions_outside))"
        )
    else:
        scoped[model.name] = f"select * from {model.name} where {weeks}"
    rows = con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0]
    return Built(model.name, model.materialized, rows, time.perf_counter() - started, len(scope.weeks))


def _scoped(model: Model, scoped: dict[str, str]) -> str:
    """The model's SELECT with each table it reads that has a scoped form read in that form.

    The filter reaches the scan of raw.calls: the scope's calls are read once into a temp
    table, and the views over raw.calls are read as temp views of the same SQL over it,
    never filtered after computing every week. One SQL file per
    model still: the scoping is done here, on sqlglot's tree, not in the model.
    """
    tree = sqlglot.parse_one(model.sql, read="duckdb")

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.db:
            name = f"{node.db}.{node.name}".lower()
            if name in scoped:
                query = sqlglot.parse_one(scoped[name], read="duckdb")
                return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name)))
        return node

    return tree.transform(swap).sql(dialect="duckdb")


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return bool(
        con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()
    )


def _check_columns(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    """The model builds exactly the columns its spec declares, in order and type, or the build stops."""
    built = [(row[0], row[1]) for row in con.execute(f"DESCRIBE {model.name}").fetchall()]
    declared = [(c.name, c.type) for c in model.columns]
    if built == declared:
        return
    spec = model.path.with_suffix(".yml")
    missing = [f"{n} {t}" for n, t in declared if (n, t) not in built]
    extra = [f"{n} {t}" for n, t in built if (n, t) not in declared]
    if missing or extra:
        detail = "; ".join(
            part
            for part in (
                f"declared but not built: {', '.join(missing)}" if missing else "",
                f"built but not declared: {', '.join(extra)}" if extra else "",
            )
            if part
        )
    else:
        detail = "the same columns in another order"
    raise UserError(f"{spec}: does not match what {model.name} builds: {detail}")
