"""`routeledger report`: one week's review as a file for the meeting, from the Weekly review's own queries.

HTML is self-contained: Plotly's JavaScript is inlined once, tables are plain HTML, so the
file opens with the network off. Markdown is for meeting notes. Both name the build they
came from. The queries are app/data.py's constants, run on the published snapshot read-only.
"""

from __future__ import annotations

import html
import logging
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import resources
from pipelines.errors import UserError
from pipelines.warehouse import Warehouse, open_snapshot

# No Streamlit runtime here: its caches would warn at each of app.data's decorators.
logging.getLogger("streamlit.runtime.caching.cache_data_api").disabled = True
if str(resources.PROJECT_ROOT) not in sys.path:  # the app's query layer and charts, from the checkout or the wheel
    sys.path.insert(0, str(resources.PROJECT_ROOT))

from app import charts, data, frame  # noqa: E402  (after the path above)

ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

# (label, column of WEEK_KPIS, kind)
KPIS = [
    ("Spend", "cost_usd", "usd"),
    ("Actions", "actions", "count"),
    ("Cost per completed action", "cost_per_completed_action_usd", "usd"),
    ("Completion rate", "completion_rate", "share"),
    ("Fallback rate", "fallback_rate", "share"),
    ("Retry rate", "retry_rate", "share"),
    ("Prompt-cache share of input", "cached_token_share", "share"),
    ("Cache savings", "cache_savings_usd", "usd"),
    ("Worst route p95 latency", "worst_route_p95_latency_ms", "ms"),
    ("Premium share of calls", "premium_share", "share"),
    ("Unpriced calls", "unpriced_calls", "count"),
]


@dataclass(frozen=True)
class Review:
    build_id: str
    built_at: datetime
    week: date
    kpis: list[tuple[str, str, str, str]]  # label, this week, last week, change
    movers: pl.DataFrame
    routes: pl.DataFrame
    waterfall: dict | None
    restated: str | None = None  # what this build changed in the week against an earlier build, if anything


def parse_week(text: str) -> date:
    """2026-W45 or any date in the week: its Monday."""
    if match := ISO_WEEK.match(text):
        try:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError as exc:
            raise UserError(f"--week {text}: {exc}") from exc
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"--week {text}: expected an ISO week (2026-W45) or a date (2026-11-02)") from exc
    return day - timedelta(days=day.weekday())


def collect(db: str | Path | None, week: date | None) -> Review:
    snapshot = Warehouse.at(db).current_snapshot()
    if snapshot is None:
        raise UserError("nothing published yet: run `routeledger ingest logs PATH` and `routeledger build`")
    con = open_snapshot(snapshot)
    try:
        build_id, built_at = con.execute("SELECT build_id, built_at FROM meta.build").fetchone()
        weeks = [row[0] for row in con.execute(data.WEEKS).fetchall()]
        if not weeks:
            raise UserError("the latest build has no calls: run `routeledger ingest logs PATH` and `routeledger build`")
        if week is None:
            complete = [w for w in weeks if w + timedelta(days=7) <= built_at.date()]
            week = (complete or weeks)[0]
        elif week not in weeks:
            shown = ", ".join(f"{w:%G-W%V}" for w in weeks[:8])
            raise UserError(f"no data for the week of {week} ({week:%G-W%V}); weeks with data: {shown}, ...")
        tables = {row[0] for row in con.execute(data.TABLES).fetchall()}

        def query(sql: str, *params: Any) -> pl.DataFrame:
            return con.sql(sql, params=list(params)).pl()

        by_week = {row["week"]: row for row in query(data.WEEK_KPIS, week, week).iter_rows(named=True)}
        waterfall, movers = None, pl.DataFrame(schema=dict.fromkeys(MOVER_COLUMNS, pl.String))
        if "marts.spend_deltas" in tables:
            waterfall, movers = data.spend_change_parts(query(data.SPEND_CHANGE, week))
        restated = None
        if "marts.week_restatements" in tables:
            rows = query(data.RESTATEMENT, week)
            restated = frame.restatement_note(rows.row(0, named=True), build_id) if rows.height else None
        return Review(
            build_id=build_id,
            built_at=built_at,
            week=week,
            kpis=_kpis(by_week[week], by_week.get(week - timedelta(days=7))),
            movers=movers,
            routes=query(data.ROUTE_WEEK, week),
            waterfall=waterfall,
            restated=restated,
        )
    finally:
        con.close()


def _kpis(now: dict, before: dict | None) -> list[tuple[str, str, str, str]]:
    """(label, this week, last week, change) per KPI: figures and changes as marts.review_weekly has them."""
    rows = []
    for label, column, kind in KPIS:
        value, previous = now[column], (before or {}).get(column)
        change = now[data.change_of(column)]
        rows.append((label, _format(value, kind), _format(previous, kind), _format(change, kind, signed=True)))
    return rows


def _format(value: Any, kind: str, signed: bool = False) -> str:
    """A figure as the app shows it; `signed` for a change (+ or -, shares in percentage points)."""
    if value is None:
        return "—"
    sign = ("+" if value >= 0 else "-") if signed else ("-" if value < 0 else "")
    magnitude = abs(value)
    if kind == "usd":
        amount = Decimal(str(magnitude))
        return f"{sign}${amount:,.2f}" if amount >= 1 else f"{sign}${amount:,.4f}"
    if kind == "share":
        if not signed:
            return f"{sign}{float(magnitude):.1%}"
        points = float(magnitude) * 100  # a change under 0.1 pp keeps two decimals: no "-0.0 pp"
        return f"{sign}{points:.2f} pp" if points < 0.1 else f"{sign}{points:.1f} pp"
    if kind == "ms":
        return sign + frame.latency(float(magnitude))
    return f"{sign}{magnitude:,}"


def write(review: Review, path: Path, fmt: str) -> None:
    text = render_html(review) if fmt == "html" else render_markdown(review)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from exc


def _title(review: Review) -> str:
    return f"Weekly FinOps review, week of {review.week:%Y-%m-%d} ({review.week:%G-W%V})"


def _source(review: Review) -> str:
    return f"build {review.build_id}, data as of {review.built_at:%Y-%m-%d %H:%M} UTC"


MOVER_COLUMNS = {"route": "Route", "cost_prev_usd": "Last week", "cost_usd": "This week", "delta_usd": "Change"}
ROUTE_COLUMNS = {
    "route": "Route",
    "cost_usd": "Spend",
    "cost_per_completed_action_usd": "Per completed action",
    "actions": "Actions",
    "completed_actions": "Completed",
    "fallback_rate": "Fallback rate",
    "retry_rate": "Retry rate",
    "premium_share": "Premium share",
    "p95_latency_ms": "p95 latency",
}
KINDS = {"_usd": "usd", "_rate": "share", "_share": "share", "_ms": "ms"}


def _cells(frame: pl.DataFrame, columns: dict[str, str]) -> list[list[str]]:
    rows = []
    for row in frame.select(list(columns)).iter_rows(named=True):
        cells = []
        for name, value in row.items():
            kind = next((k for suffix, k in KINDS.items() if name.endswith(suffix)), "count")
            cells.append(value if isinstance(value, str) else _format(value, kind, signed=name.startswith("delta")))
        rows.append(cells)
    return rows


def render_markdown(review: Review) -> str:
    def table(header: list[str], rows: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]

    lines = [f"# {_title(review)}", "", f"From {_source(review)}.", ""]
    if review.restated:
        lines += [f"> **Restated.** {review.restated}", ""]
    lines += ["## Headline figures", ""]
    lines += table(["", "This week", "Last week", "Change"], [list(row) for row in review.kpis])
    if review.waterfall:
        lines += ["", "## What changed the spend", ""]
        parts = [(label, review.waterfall[column]) for column, label in charts.WATERFALL_PARTS.items()]
        lines += table(["Driver", "USD"], [[label, _format(value, "usd", signed=True)] for label, value in parts])
    lines += ["", "## Top movers", ""]
    lines += table(list(MOVER_COLUMNS.values()), _cells(review.movers, MOVER_COLUMNS))
    lines += ["", "## Routes", ""]
    lines += table(list(ROUTE_COLUMNS.values()), _cells(review.routes, ROUTE_COLUMNS))
    return "\n".join(lines) + "\n"


def render_html(review: Review) -> str:
    def table(header: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    figures = []
    if review.waterfall:
        figures.append(("What changed the spend", charts.spend_waterfall(review.waterfall)))
    figures.append(("Cost per completed action", charts.cost_per_completed_action_by_route(review.routes)))
    # Plotly's JavaScript inlined with the first chart only: the file needs no network.
    charts_html = "".join(
        f"<h2>{html.escape(title)}</h2>" + figure.to_html(full_html=False, include_plotlyjs=(i == 0))
        for i, (title, figure) in enumerate(figures)
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 10px}"
        "td{text-align:right}td:first-child{text-align:left}th{background:#f4f4f4}.source{color:#666}"
        ".restated{background:#fff4e5;border-left:4px solid #f0a020;padding:8px 12px}"
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(_title(review))}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(_title(review))}</h1>"
        f"<p class='source'>From {html.escape(_source(review))}.</p>"
        + (f"<p class='restated'><b>Restated.</b> {html.escape(review.restated)}</p>" if review.restated else "")
        + "<h2>Headline figures</h2>"
        + table(["", "This week", "Last week", "Change"], [list(row) for row in review.kpis])
        + charts_html
        + "<h2>Top movers</h2>"
        + table(list(MOVER_COLUMNS.values()), _cells(review.movers, MOVER_COLUMNS))
        + "<h2>Routes</h2>"
        + table(list(ROUTE_COLUMNS.values()), _cells(review.routes, ROUTE_COLUMNS))
        + "</body></html>\n"
    )
