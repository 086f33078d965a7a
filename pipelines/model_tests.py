"""Unit tests for the SQL models: fixture rows for the tables a model reads, the rows it must return.

In the spirit of SQLMesh's YAML tests and dbt's `unit_tests`: no ingest, no build, one
model at a time, so a failure names the model and the rows, not the pipeline. A test
file (`tests/models/<schema>.<name>.yaml`) reads:

    model: marts.route_weekly
    tests:
      - name: cost_per_completed_action
        description: 0.003 over 2 completed actions = 0.0015
        inputs:                       # every table the model reads, by its schema.name
          intermediate.int_route_week_rollup:
            - {grain: actions, week: 2026-03-02, route: rag, actions: 3, completed_actions: 2}
            - {grain: calls, week: 2026-03-02, route: rag, calls: 4, cost_usd: '0.003'}
        expect:                       # the rows it returns, in any order unless order_by
          - {week: 2026-03-02, route: rag, cost_per_completed_action_usd: '0.0015'}
        columns: [week, route, ...]   # optional: the columns compared (default: those named in expect);
                                      # with it, a row may be a list: [2026-03-02, rag, '0.0015']
        order_by: [week, route]       # optional: compare in this order
        xfail: why                    # optional: a known bug in the model, reported and not fixed here

Input tables get the column types they have in the warehouse (learnt once by building
every model on empty raw tables); a column a row leaves out is NULL, or for raw.calls
the default ingest writes. Values are read as text and cast by DuckDB, so money stays
exact: write it as a string ('0.000123'). Expected values compare by the column's type:
DECIMAL exactly, DOUBLE within a relative 1e-12 (a fraction such as '1/7' is allowed),
dates and timestamps from ISO text (UTC when no offset is given), null as NULL.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines import models, raw
from pipelines.errors import UserError, first_line
from pipelines.ingest.fields import BY_NAME
from pipelines.warehouse import configure

TESTS_DIR = Path(__file__).resolve().parent.parent / "tests" / "models"
SCHEMAS = ("raw", *models.LAYERS)
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
FLOAT_TYPES = {"DOUBLE", "FLOAT"}
REL_TOLERANCE = 1e-12


class ModelTestFailure(AssertionError):
    """The model returned other rows than the case expects (or could not run on its inputs)."""


class _CaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    inputs: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any] | list[Any]]
    columns: list[str] | None = None
    order_by: list[str] = []
    xfail: str | None = None

    @model_validator(mode="after")
    def rows_as_mappings(self) -> _CaseSpec:
        """An expected row may be a list of values, in the order of `columns`: a table, read across."""
        for i, row in enumerate(self.expect):
            if isinstance(row, list):
                if self.columns is None or len(row) != len(self.columns):
                    raise ValueError(f"expected row {i + 1} is a list: give `columns` and one value for each")
                self.expect[i] = dict(zip(self.columns, row, strict=True))
        return self


class _FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    tests: list[_CaseSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Case:
    path: Path
    model: str
    name: str
    description: str
    inputs: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any]]
    columns: tuple[str, ...] | None
    order_by: tuple[str, ...]
    xfail: str | None

    @property
    def id(self) -> str:
        return f"{self.model}:{self.name}"

    @property
    def where(self) -> str:
        return f"{self.path}: {self.model}, case {self.name!r}"


class _TextLoader(yaml.SafeLoader):
    """YAML without implicit dates: every date and timestamp stays text, parsed by the column's type."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_cases(path: Path) -> list[Case]:
    """The cases of one test file."""
    try:
        data = yaml.load(path.read_text(), Loader=_TextLoader)
        spec = _FileSpec.model_validate(data)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc  # with its lines
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise UserError(f"{path}: {where}: {error['msg']}") from exc
    names = [case.name for case in spec.tests]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"{path}: case names must be unique, repeated: {', '.join(repeated)}")
    return [
        Case(
            path=path,
            model=spec.model,
            name=case.name,
            description=case.description,
            inputs=case.inputs,
            expect=case.expect,
            columns=tuple(case.columns) if case.columns is not None else None,
            order_by=tuple(case.order_by),
            xfail=case.xfail,
        )
        for case in spec.tests
    ]


def load_all(tests_dir: Path = TESTS_DIR) -> list[Case]:
    """Every case of every test file under tests_dir, file by file."""
    return [case for path in sorted(tests_dir.glob("*.yaml")) for case in load_cases(path)]


@functools.cache
def table_columns(sql_dir: Path = models.SQL_DIR) -> dict[str, tuple[tuple[str, str], ...]]:
    """(column, type) of every raw table and every model, as a build on empty raw tables makes them."""
    con = duckdb.connect()
    try:
        configure(con)  # UTC, as every warehouse connection
        raw.create_empty(con)
        models.build(con, models.discover(sql_dir))
        found: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, data_type in con.execute(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() ORDER BY schema_name, table_name, column_index"
        ).fetchall():
            found.setdefault(f"{schema}.{table}", []).append((column, data_type))
        return {name: tuple(columns) for name, columns in found.items()}
    finally:
        con.close()


@functools.cache
def _models(sql_dir: Path) -> dict[str, models.Model]:
    return {m.name: m for m in models.discover(sql_dir)}  # parsing every model per case would be most of the time


def run_case(case: Case, sql_dir: Path = models.SQL_DIR) -> None:
    """Run the case's model on its inputs; raise ModelTestFailure naming the rows that differ."""
    by_name = _models(sql_dir)
    model = by_name.get(case.model)
    if model is None:
        raise UserError(f"{case.path}: no model {case.model} under {sql_dir} (models: {', '.join(sorted(by_name))})")
    missing = sorted(model.reads - case.inputs.keys())
    if missing:
        raise UserError(
            f"{case.where}: no input for {', '.join(missing)}; the model reads {', '.join(sorted(model.reads))} "
            "(give [] for an empty table)"
        )
    extra = sorted(case.inputs.keys() - model.reads)
    if extra:
        raise UserError(f"{case.where}: inputs {', '.join(extra)} are not read by the model")
    schema = table_columns(sql_dir)
    con = duckdb.connect()
    try:
        configure(con)  # UTC, as every warehouse connection
        for name in SCHEMAS:
            con.execute(f"CREATE SCHEMA {name}")
        for table, rows in case.inputs.items():
            _create_input(con, case, table, schema[table], rows)
        try:
            con.execute(f"CREATE TEMP TABLE __actual AS\n{model.sql}")
        except duckdb.Error as exc:
            raise ModelTestFailure(f"{case.where}: the model failed on its inputs: {first_line(exc)}") from exc
        types = {column: data_type for column, data_type, *_ in con.execute("DESCRIBE __actual").fetchall()}
        columns = _compared_columns(case, types)
        order = f" ORDER BY {', '.join(_quote(c) for c in case.order_by)}" if case.order_by else ""
        selected = ", ".join(_quote(c) for c in columns)
        returned = con.execute(f"SELECT {selected} FROM __actual{order}").fetchall()
        actual = [dict(zip(columns, row, strict=True)) for row in returned]
    finally:
        con.close()
    expected = [
        {c: _expected_value(case, i, c, row[c], types[c]) for c in columns} for i, row in enumerate(case.expect, 1)
    ]
    report = _compare(expected, actual, columns, types, ordered=bool(case.order_by))
    if report:
        raise ModelTestFailure(f"{case.where} ({case.description.strip() or 'no description'}):\n{report}")


def _create_input(
    con: duckdb.DuckDBPyConnection, case: Case, table: str, columns: tuple[tuple[str, str], ...], rows: list[dict]
) -> None:
    declared = []
    for column, data_type in columns:
        default = BY_NAME[column].default if table == "raw.calls" and column in BY_NAME else None
        declared.append(f"{_quote(column)} {data_type}" + (f" DEFAULT {default}" if default else ""))
    con.execute(f"CREATE TABLE {table} ({', '.join(declared)})")
    types = dict(columns)
    for i, row in enumerate(rows, 1):
        unknown = sorted(set(row) - types.keys())
        if unknown:
            raise UserError(
                f"{case.where}: {table} row {i}: no column {', '.join(unknown)} (columns: {', '.join(types)})"
            )
        if not row:
            con.execute(f"INSERT INTO {table} DEFAULT VALUES")
            continue
        names = ", ".join(_quote(c) for c in row)
        casts = ", ".join(f"CAST(? AS {types[c]})" for c in row)
        try:
            con.execute(f"INSERT INTO {table} ({names}) VALUES ({casts})", [_as_text(v) for v in row.values()])
        except duckdb.Error as exc:
            raise UserError(f"{case.where}: {table} row {i}: {first_line(exc)}") from exc


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compared_columns(case: Case, types: dict[str, str]) -> list[str]:
    if case.columns is not None:
        columns = list(case.columns)
    else:
        columns = list(dict.fromkeys(c for row in case.expect for c in row)) or list(types)
    unknown = [c for c in [*columns, *case.order_by] if c not in types]
    if unknown:
        raise UserError(f"{case.where}: the model returns no column {', '.join(unknown)} (columns: {', '.join(types)})")
    for i, row in enumerate(case.expect, 1):
        lacking = [c for c in columns if c not in row]
        others = [c for c in row if c not in columns]
        if lacking or others:
            problem = f"lacks {', '.join(lacking)} (write null for NULL)" if lacking else f"names {', '.join(others)}"
            raise UserError(f"{case.where}: expected row {i} {problem}; compared columns: {', '.join(columns)}")
    return columns


def _expected_value(case: Case, row: int, column: str, value: Any, data_type: str) -> Any:
    """The YAML value as the type DuckDB returns for the column."""
    if value is None:
        return None
    try:
        if data_type.startswith("DECIMAL"):
            return Decimal(str(value))
        if data_type in FLOAT_TYPES:
            return float(Fraction(value)) if isinstance(value, str) else float(value)
        if data_type in INTEGER_TYPES and not isinstance(value, bool):
            return int(value)
        if data_type == "DATE":
            return date.fromisoformat(str(value))
        if data_type.startswith("TIMESTAMP"):
            parsed = datetime.fromisoformat(str(value))
            aware = data_type == "TIMESTAMP WITH TIME ZONE"
            return parsed.replace(tzinfo=UTC) if aware and parsed.tzinfo is None else parsed
        if data_type == "BOOLEAN" and not isinstance(value, bool):
            raise ValueError("write true or false")
        if data_type == "VARCHAR" and not isinstance(value, str):
            raise ValueError("quote text values")
    except (ValueError, ZeroDivisionError, InvalidOperation) as exc:
        raise UserError(
            f"{case.where}: expected row {row}: {column} = {value!r} is not a {data_type}: {first_line(exc)}"
        ) from exc
    return value


def _same(expected: Any, actual: Any, data_type: str) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if data_type in FLOAT_TYPES:
        return math.isclose(expected, actual, rel_tol=REL_TOLERANCE)
    if isinstance(expected, bool) or isinstance(actual, bool):  # True == 1 in Python, not here
        return expected is actual
    return expected == actual


def _compare(expected: list[dict], actual: list[dict], columns: list[str], types: dict[str, str], ordered: bool) -> str:
    """What differs, as text for a person; empty when the rows match."""

    def agree(e: dict, a: dict) -> int:
        return sum(_same(e[c], a[c], types[c]) for c in columns)

    if ordered:
        pairs = list(zip(expected, actual, strict=False))  # the longer one's rest is missing or unexpected
        differing = [(i, e, a) for i, (e, a) in enumerate(pairs, 1) if agree(e, a) < len(columns)]
        missing, unexpected = expected[len(actual) :], actual[len(expected) :]
    else:
        unmatched = list(actual)
        leftover = []
        for e in expected:
            match = next((a for a in unmatched if agree(e, a) == len(columns)), None)
            if match is None:
                leftover.append(e)
            else:
                unmatched.remove(match)
        differing, missing = [], []
        for e in leftover:  # pair each with the returned row that agrees most, so a reader sees one cell differ
            best = max(unmatched, key=lambda a: agree(e, a), default=None)
            if best is not None and agree(e, best) > 0:
                unmatched.remove(best)
                differing.append((expected.index(e) + 1, e, best))
            else:
                missing.append(e)
        unexpected = unmatched
    if not (differing or missing or unexpected):
        return ""
    lines = [
        f"  {len(expected)} rows expected, {len(actual)} returned: {len(differing)} differ, "
        f"{len(missing)} missing, {len(unexpected)} unexpected"
    ]
    width = max(len(c) for c in columns)
    for i, e, a in differing:
        lines.append(f"  expected row {i} differs from the returned row:")
        lines.append(f"      {'column':<{width}}  {'expected':<24}  actual")
        for c in columns:
            mark = "  <-- differs" if not _same(e[c], a[c], types[c]) else ""
            lines.append(f"      {c:<{width}}  {_show(e[c]):<24}  {_show(a[c])}{mark}")
    lines += [f"  missing (expected, not returned): {_show_row(e)}" for e in missing]
    lines += [f"  unexpected (returned, not expected): {_show_row(a)}" for a in unexpected]
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"  # 0.003000000000000000000 reads as 0.003
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _show_row(row: dict) -> str:
    return "{" + ", ".join(f"{c}: {_show(v)}" for c, v in row.items()) + "}"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
