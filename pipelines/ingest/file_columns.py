"""A file's own columns against the contract: which need parsing from text, which are nested, the record as JSON."""

from __future__ import annotations

from pipelines.ingest.fields import BY_NAME, quote

INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}
FLOAT_TYPES = INT_TYPES | {"FLOAT", "DOUBLE"}
TIMESTAMP_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}

# canonical field -> (the file's column name, its DuckDB type)
Columns = dict[str, tuple[str, str]]


def typed_fields(columns: Columns) -> frozenset[str]:
    """Fields whose Parquet column already has a type that needs no parsing from text."""
    typed = set()
    for name, (_, type_) in columns.items():
        kind = BY_NAME[name].kind
        base = type_.split("(")[0]
        if (
            (kind in ("text", "enum") and type_ == "VARCHAR")
            or (kind == "int" and base in INT_TYPES)
            or (kind == "float" and (base in FLOAT_TYPES or base == "DECIMAL"))
            or (kind == "bool" and type_ == "BOOLEAN")
            or (kind == "timestamp" and type_ in TIMESTAMP_TYPES)
        ):
            typed.add(name)
    return frozenset(typed)


def nested_kinds(columns: Columns) -> dict[str, str]:
    """fields.validate_sql's `kinds` for the Parquet columns that hold a struct, list or map."""
    return {
        name: f"CASE WHEN {ident(column)} IS NOT NULL THEN {quote(nested(type_))} END"
        for name, (column, type_) in columns.items()
        if nested(type_)
    }


def nested(type_: str) -> str:
    """STRUCT, LIST, MAP or UNION for a nested DuckDB type, else ''."""
    if type_.endswith("]"):
        return "LIST"
    base = type_.split("(")[0].strip()
    return base if base in ("STRUCT", "MAP", "UNION") else ""


def raw_columns(columns: Columns, typed: frozenset[str]) -> dict[str, str]:
    raw = {}
    for name, (column, _) in columns.items():
        quoted = ident(column)
        raw[name] = quoted if name in typed else f"CAST({quoted} AS VARCHAR)"
    return raw


def record_json(columns: Columns) -> str:
    """SQL: a record as JSON text, from the canonical columns only (never prompt text)."""
    if not columns:
        return "'{}'"
    pairs = ", ".join(
        f"{quote(column)}: " + (quote(f"[{nested(type_).lower()} withheld]") if nested(type_) else ident(column))
        for column, type_ in columns.values()
    )
    return f"to_json({{{pairs}}})::VARCHAR"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
