"""`routeledger whatif`: a week's real calls re-priced under another catalog or routing map.

Nothing here prices a call: the week's calls are copied into a scratch in-memory DuckDB
(the models they were logged on swapped where a `--remap ROUTE=PROVIDER/MODEL` says so,
tokens kept), the other catalog goes into its raw.prices exactly as `build` loads one, and
the build's own SQL models run there. Actual and what-if are then both
marts.route_weekly, one definition. Quality, retries and fallbacks are not simulated: the
same calls, with the same tokens and outcomes, on other prices or models.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
from rich.table import Table

from pipelines import models, raw
from pipelines.build import build_models
from pipelines.errors import UserError
from pipelines.ingest.fields import quote
from pipelines.prices import PriceBook
from pipelines.warehouse import Warehouse, configure

NOT_SIMULATED = (
    "what-if re-prices the same calls (same tokens, outcomes, retries and fallbacks); "
    "quality, retries and fallbacks on other models are not simulated"
)
REMAPPED_ROLES = ("primary", "retry", "fallback", "validation")  # tool and classifier calls stay

ROUTE_WEEKLY = """SELECT route, cost_usd, cost_per_completed_action_usd, unpriced_calls
FROM marts.route_weekly WHERE week = ? ORDER BY route"""


@dataclass(frozen=True)
class Remap:
    route: str
    provider: str
    model: str


@dataclass(frozen=True)
class RouteWhatIf:
    route: str
    actual_cost_usd: Decimal | None
    whatif_cost_usd: Decimal | None
    actual_cost_per_completed_action_usd: Decimal | None
    whatif_cost_per_completed_action_usd: Decimal | None
    whatif_unpriced_calls: int

    @property
    def delta_usd(self) -> Decimal | None:
        if self.actual_cost_usd is None or self.whatif_cost_usd is None:
            return None
        return self.whatif_cost_usd - self.actual_cost_usd


def parse_remap(text: str) -> Remap:
    """ROUTE=PROVIDER/MODEL."""
    route, equals, target = text.partition("=")
    provider, slash, model = target.partition("/")
    if not (equals and slash and route.strip() and provider.strip() and model.strip()):
        raise UserError(f"--remap {text!r}: expected ROUTE=PROVIDER/MODEL, e.g. classification=openai/gpt-5.4-mini")
    return Remap(route.strip(), provider.strip(), model.strip())


def built_catalog(db: str | Path | None) -> Path | None:
    """The team catalog the warehouse's last build priced with (raw.build_catalog), if it still exists."""
    warehouse = Warehouse.at(db)
    if not warehouse.path.exists():
        return None
    with warehouse.reader() as con:
        try:
            row = con.execute("SELECT catalog_path FROM raw.build_catalog").fetchone()
        except duckdb.CatalogException:  # a warehouse built before builds recorded their catalog
            return None
    path = Path(row[0]) if row else None
    return path if path is not None and path.is_file() else None


def run_whatif(db: str | Path | None, week: date, book: PriceBook, remaps: list[Remap]) -> list[RouteWhatIf]:
    """Per route of `week`: the actual cost (the warehouse's last build) against the what-if."""
    warehouse = Warehouse.at(db)
    with warehouse.reader() as source:
        try:
            actual = {row[0]: row for row in source.execute(ROUTE_WEEKLY, [week]).fetchall()}
        except duckdb.CatalogException as exc:
            raise UserError("the warehouse has not been built yet; run `routeledger build` first") from exc
    if not actual:
        raise UserError(f"no actions in the week of {week}; give --week a week with data")
    unknown = sorted({r.route for r in remaps} - set(actual))
    if unknown:
        raise UserError(f"--remap: no route {', '.join(unknown)} in the week of {week} (routes: {', '.join(actual)})")
    con = duckdb.connect()
    try:
        configure(con)
        raw.create_empty(con)
        con.execute(f"ATTACH {quote(str(warehouse.path))} AS warehouse (READ_ONLY)")
        _copy_week(con, week, remaps)
        con.execute("DETACH warehouse")
        build_models(con, book, models.discover())
        whatif = {row[0]: row for row in con.execute(ROUTE_WEEKLY, [week]).fetchall()}
    finally:
        con.close()
    return [
        RouteWhatIf(route, a[1], w[1], a[2], w[2], w[3])
        for route, a in actual.items()
        for w in [whatif.get(route, (route, None, None, 0))]
    ]


def _copy_week(con: duckdb.DuckDBPyConnection, week: date, remaps: list[Remap]) -> None:
    """The calls of the actions whose earliest call falls in `week`, with the remapped models."""
    roles = ", ".join(f"'{role}'" for role in REMAPPED_ROLES)
    when = " ".join(f"WHEN route = ? AND call_role IN ({roles}) THEN ?" for _ in remaps)
    replace = (
        f"REPLACE (CASE {when} ELSE provider END AS provider, CASE {when} ELSE model END AS model)" if remaps else ""
    )
    params = [value for r in remaps for value in (r.route, r.provider)]
    params += [value for r in remaps for value in (r.route, r.model)]
    con.execute(
        f"""INSERT INTO raw.calls
        SELECT * {replace}
        FROM warehouse.raw.calls
        WHERE action_id IN (
            SELECT action_id FROM warehouse.raw.calls GROUP BY action_id
            HAVING min(ts) >= ?::DATE AND min(ts) < ?::DATE + 7
        )""",
        [*params, week, week],
    )


def as_table(week: date, rows: list[RouteWhatIf], what: str) -> Table:
    table = Table(title=f"what-if, week of {week}: {what}", caption=NOT_SIMULATED)
    for column in ("route", "actual USD", "what-if USD", "change USD", "actual per completed", "what-if per completed"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for r in [*rows, _total(rows)]:
        unpriced = f" ({r.whatif_unpriced_calls} unpriced)" if r.whatif_unpriced_calls else ""
        table.add_row(
            r.route,
            _money(r.actual_cost_usd, 4),
            _money(r.whatif_cost_usd, 4) + unpriced,
            _money(r.delta_usd, 4),
            _money(r.actual_cost_per_completed_action_usd, 6),
            _money(r.whatif_cost_per_completed_action_usd, 6),
        )
    return table


def as_csv(rows: list[RouteWhatIf]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "route",
            "actual_cost_usd",
            "whatif_cost_usd",
            "delta_usd",
            "actual_cost_per_completed_action_usd",
            "whatif_cost_per_completed_action_usd",
            "whatif_unpriced_calls",
        ]
    )
    for r in [*rows, _total(rows)]:
        writer.writerow(
            [
                r.route,
                r.actual_cost_usd,
                r.whatif_cost_usd,
                r.delta_usd,
                r.actual_cost_per_completed_action_usd,
                r.whatif_cost_per_completed_action_usd,
                r.whatif_unpriced_calls,
            ]
        )
    return buffer.getvalue()


def _total(rows: list[RouteWhatIf]) -> RouteWhatIf:
    def total(values: list[Decimal | None]) -> Decimal | None:
        return None if any(v is None for v in values) else sum(values, Decimal(0))

    return RouteWhatIf(
        "(total)",
        total([r.actual_cost_usd for r in rows]),
        total([r.whatif_cost_usd for r in rows]),
        None,
        None,
        sum(r.whatif_unpriced_calls for r in rows),
    )


def _money(value: Decimal | None, places: int) -> str:
    return "" if value is None else f"{value:,.{places}f}"
