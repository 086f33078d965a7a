"""`routeledger export focus`: the estimated costs (marts.focus_export) as a FOCUS 1.3 file.

The rows are computed in SQL (sql/marts/focus_export.sql); this module writes them to
Parquet or CSV (by the file's suffix), reads the written file back and checks it against
the FOCUS 1.3 column rules below (presence, type, nulls, allowed values, periods that
end after they start, custom columns prefixed `x_` and placed last). Only a file that
passes is moved to its name; a failing one is removed and the command exits 1.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipelines.errors import CheckFailed, UserError, first_line
from pipelines.ingest.fields import quote
from pipelines.warehouse import Warehouse, configure

FORMATS = {".parquet": "parquet", ".csv": "csv"}
FOCUS_VERSION = "1.3"
ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"  # FOCUS date/time: YYYY-MM-DDTHH:mm:ssZ
DECIMAL_TEXT = r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$"  # plain or E-notation, no separators or signs

SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
    "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
    "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
    "Storage", "Web", "Other",
)  # fmt: skip


@dataclass(frozen=True)
class FocusColumn:
    """One FOCUS 1.3 column rule: its type, whether it may be null, and its allowed values."""

    name: str
    kind: str  # Decimal | String | DateTime | JSON
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None


# The Mandatory columns of FOCUS 1.3 (all required to be present), then the Conditional and
# Recommended ones the export fills. Null rules from the specification's column summary.
RULES = (
    FocusColumn("BilledCost", "Decimal", nullable=False),
    FocusColumn("BillingAccountId", "String", nullable=False),
    FocusColumn("BillingAccountName", "String"),
    FocusColumn("BillingCurrency", "String", nullable=False, pattern=r"^[A-Z]{3}$"),
    FocusColumn("BillingPeriodEnd", "DateTime", nullable=False),
    FocusColumn("BillingPeriodStart", "DateTime", nullable=False),
    FocusColumn(
        "ChargeCategory", "String", nullable=False, allowed=("Usage", "Purchase", "Tax", "Credit", "Adjustment")
    ),
    FocusColumn("ChargeClass", "String", allowed=("Correction",)),
    FocusColumn("ChargeDescription", "String"),
    FocusColumn("ChargePeriodEnd", "DateTime", nullable=False),
    FocusColumn("ChargePeriodStart", "DateTime", nullable=False),
    FocusColumn("ContractedCost", "Decimal", nullable=False),
    FocusColumn("EffectiveCost", "Decimal", nullable=False),
    FocusColumn("HostProviderName", "String"),
    FocusColumn("InvoiceIssuerName", "String", nullable=False),
    FocusColumn("ListCost", "Decimal", nullable=False),
    FocusColumn("PricingQuantity", "Decimal"),
    FocusColumn("PricingUnit", "String"),
    FocusColumn("ProviderName", "String", nullable=False),
    FocusColumn("PublisherName", "String", nullable=False),
    FocusColumn("ServiceCategory", "String", nullable=False, allowed=SERVICE_CATEGORIES),
    FocusColumn("ServiceName", "String", nullable=False),
    FocusColumn("ServiceProviderName", "String", nullable=False),
)
OPTIONAL_RULES = (
    FocusColumn("ChargeFrequency", "String", nullable=False, allowed=("One-Time", "Recurring", "Usage-Based")),
    FocusColumn("ConsumedQuantity", "Decimal"),
    FocusColumn("ConsumedUnit", "String"),
    FocusColumn("PricingCategory", "String", allowed=("Standard", "Dynamic", "Committed", "Other")),
    FocusColumn("RegionId", "String"),
    FocusColumn("RegionName", "String"),
    FocusColumn("ServiceSubcategory", "String", nullable=False),
    FocusColumn("SkuId", "String"),
    FocusColumn("SkuMeter", "String"),
    FocusColumn("SkuPriceDetails", "JSON"),
    FocusColumn("Tags", "JSON"),
)
KNOWN = {rule.name for rule in RULES + OPTIONAL_RULES}


def export_focus(db: str | Path | None, path: Path, since: date | None = None) -> int:
    """Write marts.focus_export (from `since`) to `path`, validated; the number of rows written."""
    file_format = FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise UserError(f"{path}: name a .parquet or .csv file (the format follows the suffix)")
    if path.is_dir():
        raise UserError(f"{path}: is a directory; name the file to write")
    partial = path.with_name(f".{path.name}.partial")
    where = f"WHERE ChargePeriodStart >= {quote(since.isoformat())}::DATE" if since else ""
    options = (
        "FORMAT parquet" if file_format == "parquet" else "FORMAT csv, HEADER, TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ'"
    )
    with Warehouse.at(db).reader() as con:
        known = con.execute(
            "SELECT 1 FROM duckdb_views() WHERE schema_name = 'marts' AND view_name = 'focus_export'"
        ).fetchone()
        if not known:
            raise UserError("the warehouse has no marts.focus_export yet; run `routeledger build` first")
        order = "ChargePeriodStart, ServiceProviderName, x_ModelIdLogged, SkuMeter"
        query = f"SELECT * FROM marts.focus_export {where} ORDER BY {order}"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({query}) TO {quote(str(partial))} ({options})")
        except (duckdb.Error, OSError) as exc:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise UserError(f"{path}: cannot write: {first_line(exc)}") from exc
    try:
        problems, written = validate_focus(partial, file_format)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if problems:
        partial.unlink(missing_ok=True)
        raise CheckFailed(f"{path}: not valid FOCUS {FOCUS_VERSION}, not written: " + "; ".join(problems))
    os.replace(partial, path)
    return written


def validate_focus(path: Path, file_format: str | None = None) -> tuple[list[str], int]:
    """The FOCUS 1.3 rules `path` breaks (none: valid), and its row count, read back from the file."""
    file_format = file_format or FORMATS.get(path.suffix.lower(), "csv")
    con = duckdb.connect()
    try:
        configure(con)
        reader = "read_parquet" if file_format == "parquet" else "read_csv"
        options = "" if file_format == "parquet" else ", header = true, all_varchar = true"
        con.execute(f"CREATE VIEW focus AS SELECT * FROM {reader}({quote(str(path))}{options})")
        columns = [(row[0], row[1]) for row in con.execute("DESCRIBE focus").fetchall()]
        rows = con.execute("SELECT count(*) FROM focus").fetchone()[0]
        return _problems(con, columns, file_format == "csv"), rows
    finally:
        con.close()


def _problems(con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], as_text: bool) -> list[str]:
    names = [name for name, _ in columns]
    types = dict(columns)
    problems = [
        f"{rule.name}: missing (mandatory in FOCUS {FOCUS_VERSION})" for rule in RULES if rule.name not in types
    ]
    custom = [i for i, name in enumerate(names) if name not in KNOWN]
    problems += [f"{names[i]}: a custom column must be named x_..." for i in custom if not names[i].startswith("x_")]
    if custom and any(name in KNOWN for name in names[custom[0] :]):
        problems.append("custom x_ columns must come after every FOCUS column")
    for rule in RULES + OPTIONAL_RULES:
        if rule.name in types:
            problems += _column_problems(con, rule, types[rule.name], as_text)
    if not problems:
        for start, end in (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd")):
            bad = _count(con, f"{_timestamp(start, as_text)} >= {_timestamp(end, as_text)}")
            if bad:
                problems.append(f"{start}: not before {end} in {bad} row(s)")
    return problems


def _column_problems(con: duckdb.DuckDBPyConnection, rule: FocusColumn, type_: str, as_text: bool) -> list[str]:
    column = f'"{rule.name}"'
    problems = []
    if not rule.nullable and (bad := _count(con, f"{column} IS NULL")):
        problems.append(f"{rule.name}: NULL in {bad} row(s), never allowed")
    checks = []
    if rule.kind == "Decimal":
        if as_text:
            checks.append((f"NOT regexp_matches({column}, '{DECIMAL_TEXT}')", "not a decimal number"))
        elif not (type_.startswith("DECIMAL") or type_ in ("DOUBLE", "BIGINT", "INTEGER", "HUGEINT")):
            problems.append(f"{rule.name}: type {type_}, expected a decimal number")
    elif rule.kind == "DateTime":
        if as_text:
            checks.append((f"NOT regexp_matches({column}, '{ISO_UTC}')", "not a UTC date/time YYYY-MM-DDTHH:mm:ssZ"))
        elif not type_.startswith("TIMESTAMP"):
            problems.append(f"{rule.name}: type {type_}, expected a date/time")
    elif rule.kind == "JSON":
        checks.append((f"NOT coalesce(json_type(try_cast({column} AS JSON)) = 'OBJECT', false)", "not a JSON object"))
    elif not as_text and type_ != "VARCHAR":
        problems.append(f"{rule.name}: type {type_}, expected a string")
    if rule.allowed:
        values = ", ".join(quote(v) for v in rule.allowed)
        checks.append((f"{column} NOT IN ({values})", "not one of " + ", ".join(rule.allowed)))
    if rule.pattern:
        checks.append((f"NOT regexp_matches({column}, '{rule.pattern}')", f"does not match {rule.pattern}"))
    for condition, what in checks:
        bad = _count(con, f"{column} IS NOT NULL AND {condition}")
        if bad:
            problems.append(f"{rule.name}: {what} in {bad} row(s)")
    return problems


def _timestamp(name: str, as_text: bool) -> str:
    return f"strptime(\"{name}\", '%Y-%m-%dT%H:%M:%SZ')" if as_text else f'"{name}"'


def _count(con: duckdb.DuckDBPyConnection, condition: str) -> int:
    return con.execute(f"SELECT count(*) FROM focus WHERE {condition}").fetchone()[0]
