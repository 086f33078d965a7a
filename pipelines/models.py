"""The SQL model runner: discover `sql/` models, order them by what they read, build them.

A model is one SELECT in `sql/<layer>/<name>.sql`, built as `<layer>.<name>`. What it
reads is found by parsing it with sqlglot, never declared beside it (as SQLMesh does).
Staging and intermediate models are views, marts are tables; a model may say otherwise
in its header (`-- materialized: table`).
"""

from __future__ import annotations

import graphlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from pipelines.errors import UserError, first_line
from pipelines.resources import SQL_DIR

LAYERS = ("staging", "intermediate", "marts")
SOURCES = frozenset({"raw.calls", "raw.loads", "raw.rejects", "raw.prices", "raw.model_map"})
MATERIALIZED = re.compile(r"^\s*--\s*materialized:\s*(table|view)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Model:
    name: str  # schema.table
    path: Path
    sql: str
    reads: frozenset[str]
    materialized: str  # table | view

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True)
class Built:
    name: str
    materialized: str
    rows: int | None
    seconds: float


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    """Every model under sql_dir, in build order."""
    paths = [p for layer in LAYERS for p in sorted((sql_dir / layer).glob("*.sql"))]
    names = {f"{p.parent.name}.{p.stem}" for p in paths}
    models = {}
    for path in paths:
        name = f"{path.parent.name}.{path.stem}"
        sql = path.read_text()
        reads = tables_read(sql, path)
        unknown = sorted(reads - names - SOURCES)
        if unknown:
            raise UserError(f"{path}: reads {', '.join(unknown)}, which is neither a model nor a raw table")
        found = MATERIALIZED.search(sql)
        materialized = found.group(1) if found else ("table" if path.parent.name == "marts" else "view")
        models[name] = Model(name, path, sql, frozenset(reads), materialized)
    return [models[name] for name in _order(models)]


def tables_read(sql: str, path: Path) -> set[str]:
    """The schema-qualified tables a SELECT reads, CTE names excluded."""
    try:
        statements = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise UserError(f"{path}: not valid SQL: {first_line(exc)}") from exc
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise UserError(f"{path}: a model must be exactly one SELECT statement")
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
) -> list[Built]:
    """Create every model in order. The caller owns the transaction."""
    for schema in sorted({m.layer for m in models}):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    built = []
    for model in models:
        started = time.perf_counter()
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
        rows = con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0] if kind == "TABLE" else None
        result = Built(model.name, model.materialized, rows, time.perf_counter() - started)
        built.append(result)
        if on_built:
            on_built(result)
    return built
