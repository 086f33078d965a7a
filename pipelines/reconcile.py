"""`routeledger reconcile`: estimated vs billed, worst rows first, from the published snapshot.

The numbers are marts.reconciliation_daily's and marts.reconciliation_monthly's (one
definition, in SQL); this module reads them from the snapshot the last build published,
read-only, and lays them out. Out-of-tolerance rows make the command exit 1, so it can
alert from cron or CI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
from rich.table import Table

from pipelines.errors import UserError
from pipelines.warehouse import Warehouse, open_snapshot

# Worst first: out of tolerance before within, then the largest |delta| (an unconvertible
# bill, whose delta is unknown, before any other).
DAILY = """
SELECT day, provider, model, billed_models, is_model_mapped, status, is_within_tolerance,
       calls, unpriced_calls, billed_lines, billing_currencies,
       estimated_cost_usd, billed_cost_usd, delta_usd, delta_pct, tolerance_usd,
       token_gap_usd, price_gap_usd, residual_usd
FROM marts.reconciliation_daily
WHERE CAST($since AS DATE) IS NULL OR day >= CAST($since AS DATE)
ORDER BY is_within_tolerance, abs(delta_usd) DESC NULLS FIRST, day, provider, model
"""

MONTHLY = """
SELECT month, provider, status, is_within_tolerance, model_days, model_days_out_of_tolerance,
       estimated_cost_usd, billed_cost_usd, delta_usd, delta_pct, share_explained,
       other_charges_usd, total_billed_usd
FROM marts.reconciliation_monthly
WHERE CAST($since AS DATE) IS NULL OR month >= date_trunc('month', CAST($since AS DATE))
ORDER BY month, provider
"""


@dataclass(frozen=True)
class Reconciliation:
    snapshot: Path
    daily: list[dict]
    monthly: list[dict]

    @property
    def out_of_tolerance(self) -> list[dict]:
        return [row for row in self.daily if not row["is_within_tolerance"]]


def read_reconciliation(db: str | Path | None, since: date | None = None) -> Reconciliation:
    """The reconciliation marts of the current published snapshot, from `since` on."""
    warehouse = Warehouse.at(db)
    snapshot = warehouse.current_snapshot()
    if snapshot is None:
        raise UserError(f"{warehouse.path}: nothing published yet; run `routeledger build` first")
    con = open_snapshot(snapshot)
    try:
        tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "reconciliation_daily" not in tables:
            raise UserError(f"{snapshot}: built by an older routeledger, without reconciliation; run `build` again")
        daily = _dicts(con.execute(DAILY, {"since": since}))
        monthly = _dicts(con.execute(MONTHLY, {"since": since}))
    finally:
        con.close()
    return Reconciliation(snapshot, daily, monthly)


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_json(result: Reconciliation) -> str:
    """Every row, money as exact decimal strings, dates as ISO text."""

    def plain(value: object) -> object:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def rows(items: list[dict]) -> list[dict]:
        return [{key: plain(value) for key, value in row.items()} for row in items]

    payload = {
        "snapshot": result.snapshot.name,
        "out_of_tolerance": len(result.out_of_tolerance),
        "daily": rows(result.daily),
        "monthly": rows(result.monthly),
    }
    return json.dumps(payload, indent=2)


def daily_table(rows: list[dict], limit: int) -> Table:
    shown = rows[:limit]
    more = f" (the worst {len(shown)} of {len(rows)})" if len(rows) > len(shown) else ""
    table = Table(title=f"estimated vs billed, per day and model, worst first{more}", title_justify="left")
    for name in ("day", "provider", "model", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("estimated", "billed", "delta", "delta %", "token gap", "price gap", "residual"):
        table.add_column(name, justify="right")
    for row in shown:
        model = row["model"] if row["is_model_mapped"] else f"{row['model']} (unmapped)"
        status = row["status"] if row["is_within_tolerance"] else f"[bold red]{row['status']}[/]"
        table.add_row(
            str(row["day"]),
            row["provider"],
            model,
            status,
            *(_usd(row[k]) for k in ("estimated_cost_usd", "billed_cost_usd", "delta_usd")),
            _pct(row["delta_pct"]),
            *(_usd(row[k]) for k in ("token_gap_usd", "price_gap_usd", "residual_usd")),
        )
    return table


def monthly_table(rows: list[dict]) -> Table:
    table = Table(title="per provider and month", title_justify="left")
    for name in ("month", "provider", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("estimated", "billed", "delta", "delta %", "explained", "days out", "other charges"):
        table.add_column(name, justify="right")
    for row in rows:
        status = row["status"] if row["is_within_tolerance"] else f"[bold red]{row['status']}[/]"
        table.add_row(
            f"{row['month']:%Y-%m}",
            row["provider"],
            status,
            *(_usd(row[k]) for k in ("estimated_cost_usd", "billed_cost_usd", "delta_usd")),
            _pct(row["delta_pct"]),
            _pct(row["share_explained"]),
            f"{row['model_days_out_of_tolerance']:,} of {row['model_days']:,}",
            _usd(row["other_charges_usd"]),
        )
    return table


def _usd(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.0001')) + 0:,.4f}"  # + 0: no "-0.0000"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"
