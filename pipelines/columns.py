"""Each mart's columns, declared once beside the model (`sql/marts/<name>.yml`).

One spec per column (name, type, description, unit, label, and optional `not_null`,
`min`, `max`) generates:
- the README's column tables (`readme_table`, checked by tests/test_docs.py),
- `COMMENT ON COLUMN` in the warehouse and in each published snapshot,
- the app's column labels and help texts (app/columns.py),
- the `not_null` and range audits where declared (pipelines/audits.py).
A test fails when the spec and the model's output disagree on names, order or types.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.errors import UserError, first_line
from pipelines.resources import load_yaml


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # snake_case, or a standard's own names (FOCUS's BilledCost in marts.focus_export)
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: str  # as DuckDB describes it: DATE, VARCHAR, DOUBLE, DECIMAL(38,21), ...
    description: str = Field(min_length=1)
    unit: str | None = None  # USD, tokens, ms, share (0..1), count, ...
    label: str | None = None  # how the app titles it; default: from the name
    not_null: bool = False
    min: Decimal | None = None
    max: Decimal | None = None

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def help(self) -> str:
        """The definition with its unit: the column's comment in the warehouse and its help in the app."""
        return self.description + (f" [{self.unit}]" if self.unit else "")


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[Column] = Field(min_length=1)


def load_columns(path: Path) -> list[Column]:
    """The columns declared in `path`, or none when the model has no spec file."""
    if not path.exists():
        return []
    try:
        parsed = load_yaml(path.read_text(encoding="utf-8"))
        spec = ColumnSpec.model_validate(parsed)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {first_line(exc)}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UserError(f"{path}: {problems}") from exc
    names = [c.name for c in spec.columns]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"{path}: columns declared twice: {', '.join(twice)}")
    return spec.columns


def comment_statements(relation: str, columns: tuple[Column, ...] | list[Column]) -> list[str]:
    """`COMMENT ON COLUMN` for each declared column of `relation` (schema.table)."""
    return [f"COMMENT ON COLUMN {relation}.{c.name} IS {_literal(c.help)}" for c in columns]


def readme_table(columns: list[Column] | tuple[Column, ...]) -> str:
    """A mart's columns as a Markdown table, for the README."""
    lines = ["| column | type | unit | definition |", "|---|---|---|---|"]
    for c in columns:
        checks = []
        if c.not_null:
            checks.append("never NULL")
        if c.min is not None or c.max is not None:
            low = "" if c.min is None else f"{c.min} ≤ "
            high = "" if c.max is None else f" ≤ {c.max}"
            checks.append(f"{low}value{high}")
        audited = f" (audited: {', '.join(checks)})" if checks else ""
        lines.append(f"| `{c.name}` | {c.type} | {c.unit or ''} | {c.description}{audited} |")
    return "\n".join(lines)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
