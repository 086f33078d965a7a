"""`routeledger check`: a week's policy violations, cost regressions and budget breaches.

The findings are rows of marts the build computed (marts.policy_violations,
marts.cost_regressions, marts.budget_status); this module only picks the week's and
lays them out. A finding is a `breach` (exit 1, for cron and CI) or a `warning` (a rule
the policy lists under warn_only, a month projected over budget, shown, exit 0).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal

import duckdb
from rich.table import Table

from pipelines.errors import UserError

ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

FINDINGS_SQL = """
SELECT 'policy' AS kind, scope, rule, limit_value, actual_value, severity,
       CASE WHEN offending IS NOT NULL THEN offending || ' ' || offending_unit END AS detail
FROM marts.policy_violations WHERE week = $week
UNION ALL
SELECT 'regression', route, 'cost_per_completed_action_usd', cost_per_completed_action_prev_usd,
       cost_per_completed_action_usd, 'breach',
       format('up {:.0f}% (threshold {:.0f}%); largest part {} {} USD; fallback rate {:.2f} -> {:.2f}; models {}',
              100 * cost_per_completed_action_change, 100 * cast(threshold AS DOUBLE), coalesce(largest_part, '-'),
              coalesce(cast(round(largest_part_usd, 2) AS VARCHAR), '-'), fallback_rate_prev, fallback_rate,
              coalesce(models, '-'))
FROM marts.cost_regressions WHERE week = $week
UNION ALL
SELECT 'budget', scope_kind || ' ' || scope, period_kind || ' ' || period_start,
       round(cap_usd, 9), round(if(is_breached, spent_usd, projected_usd), 9),
       if(is_breached, 'breach', 'warning'),
       if(is_breached, 'spent over the cap', 'month projected over the budget')
FROM marts.budget_status
WHERE period_start < $week + 7 AND period_end > $week AND (is_breached OR coalesce(is_projected_over, false))
ORDER BY severity, kind, scope, rule
"""


@dataclass(frozen=True)
class Finding:
    kind: str  # policy | regression | budget
    scope: str
    rule: str
    limit: Decimal | None
    actual: Decimal | None
    severity: str  # breach | warning
    detail: str | None


def parse_week(text: str) -> date:
    """The Monday of an ISO week (`2026-W45`) or of the week holding a date (`2026-11-04`)."""
    match = ISO_WEEK.match(text.strip())
    try:
        if match:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise UserError(f"--week {text!r}: {exc}") from exc
    return day - timedelta(days=day.weekday())


def last_complete_week(con: duckdb.DuckDBPyConnection, today: date) -> date | None:
    """The latest week with actions that ended before this one began; None without any."""
    this_week = today - timedelta(days=today.weekday())
    row = con.execute("SELECT max(week) FROM marts.route_weekly WHERE week < ?", [this_week]).fetchone()
    return row[0] if row else None


def findings(con: duckdb.DuckDBPyConnection, week: date) -> list[Finding]:
    try:
        found = con.execute(FINDINGS_SQL, {"week": week}).fetchall()
    except duckdb.CatalogException as exc:
        raise UserError("the warehouse has no policy marts yet; run `routeledger build` first") from exc
    return [Finding(*row) for row in found]


def as_table(week: date, found: list[Finding]) -> Table:
    iso_year, iso_week, _ = week.isocalendar()
    table = Table(title=f"{iso_year}-W{iso_week:02d} (week of {week}): {len(found)} finding(s)")
    for column in ("severity", "kind", "scope", "rule", "limit", "actual", "detail"):
        table.add_column(column, justify="right" if column in ("limit", "actual") else "left")
    for f in found:
        table.add_row(f.severity, f.kind, f.scope, f.rule, _number(f.limit), _number(f.actual), f.detail or "")
    return table


def as_json(week: date, found: list[Finding]) -> str:
    return json.dumps(
        {
            "week": week.isoformat(),
            "breaches": sum(f.severity == "breach" for f in found),
            "warnings": sum(f.severity == "warning" for f in found),
            "findings": [asdict(f) for f in found],
        },
        default=str,
        indent=2,
    )


def _number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"
