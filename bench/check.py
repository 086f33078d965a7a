"""Do the hand-written query and pandas agree with `marts.route_weekly` for every (week, route)?

Cost per completed action within 1e-6 relative, plus half a unit in the last place of
the mart's DECIMAL(18, 9) (5e-10 USD: a cheap route's cost is rounded there); the
fallback, retry and prompt-cache hit rates within 1e-9; NULL only where the mart has NULL.
"""

from __future__ import annotations

from pathlib import Path

COST = "cost_per_completed_action_usd"
RATES = ("fallback_rate", "retry_rate", "prompt_cache_hit_rate")
COST_RELATIVE_TOLERANCE = 1e-6
MART_ROUNDING_USD = 5e-10
RATE_TOLERANCE = 1e-9


def check_against_mart(warehouse: Path, outputs: dict[str, Path]) -> tuple[list[str], list[str]]:
    """(mismatches, one summary line per output), each output a Parquet file of route-weeks."""
    import duckdb

    metrics = (COST, *RATES)
    columns = "week, route, " + ", ".join(f"cast({m} as double) as {m}" for m in metrics)
    agrees = " and ".join(
        [
            f"coalesce(abs(m.{COST} - o.{COST}) <= {COST_RELATIVE_TOLERANCE} * abs(m.{COST}) + {MART_ROUNDING_USD}, "
            f"m.{COST} is null and o.{COST} is null)",
            *(f"coalesce(abs(m.{r} - o.{r}) <= {RATE_TOLERANCE}, m.{r} is null and o.{r} is null)" for r in RATES),
        ]
    )
    both = f"m as (select {columns} from marts.route_weekly), o as (select {columns} from read_parquet(?))"
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute("SET enable_progress_bar = false")
    problems, summary = [], []
    try:
        for name, path in outputs.items():
            rows = con.execute(
                f"""with {both}
                select coalesce(m.week, o.week), coalesce(m.route, o.route), m.route is not null,
                    o.route is not null, {", ".join(f"m.{x}, o.{x}" for x in metrics)}
                from m full join o on m.week = o.week and m.route = o.route
                where m.route is null or o.route is null or not ({agrees})
                order by 1, 2""",
                [str(path)],
            ).fetchall()
            for week, route, in_mart, in_output, *values in rows:
                if not (in_mart and in_output):
                    missing_from = "marts.route_weekly" if in_output else f"the {name} result"
                    problems.append(f"{name}: ({week}, {route}) is missing from {missing_from}")
                    continue
                pairs = zip(metrics, values[0::2], values[1::2], strict=True)
                shown = "; ".join(f"{metric}: mart {m!r}, {name} {o!r}" for metric, m, o in pairs if m != o)
                problems.append(f"{name}: ({week}, {route}) differs: {shown}")
            compared, cost_diff, *rate_diffs = con.execute(
                f"""with {both}
                select count(*), max(abs(m.{COST} - o.{COST}) / nullif(abs(m.{COST}), 0)),
                    {", ".join(f"max(abs(m.{r} - o.{r}))" for r in RATES)}
                from m join o on m.week = o.week and m.route = o.route""",
                [str(path)],
            ).fetchone()
            summary.append(
                f"{name}: {compared} (week, route) rows compared, {len(rows)} mismatches; largest relative "
                f"difference in cost per completed action {cost_diff or 0:.1e}, largest rate difference "
                f"{max(d or 0 for d in rate_diffs):.1e}"
            )
    finally:
        con.close()
    return problems, summary
