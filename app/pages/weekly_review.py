"""Weekly review: the FinOps meeting's page. One ISO week against the week before."""

from datetime import timedelta

import polars as pl
import streamlit as st

from app import charts, columns, data, frame

snapshot = frame.snapshot("Weekly review")
week = frame.week_picker(snapshot)
previous = week - timedelta(days=7)

# --- headline figures --------------------------------------------------------------------------------
kpis = {row["week"]: row for row in data.frame(snapshot, data.WEEK_KPIS, week, week).iter_rows(named=True)}
now, before = kpis[week], kpis.get(previous)


def delta(column: str, kind: str) -> str | None:
    """The change against the week before (marts.review_weekly), as a KPI's delta text; None without one."""
    change = now[data.change_of(column)]
    if change is None:
        return None
    if kind == "usd":
        return f"{'+' if change >= 0 else '-'}{frame.money(abs(change))}"
    if kind == "share":
        points = float(change) * 100  # a change under 0.1 pp keeps two decimals: no "-0.0 pp"
        return f"{points:+.2f} pp" if abs(points) < 0.1 else f"{points:+.1f} pp"
    if kind == "ms":
        return ("+" if change >= 0 else "-") + frame.latency(abs(float(change)))
    return f"{change:+,}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


st.caption(
    f"Week of {week:%Y-%m-%d} (W{week:%V}) against the week of {previous:%Y-%m-%d}."
    + ("" if before else " The week before has no data, so no changes are shown.")
)
restated = data.restatement(snapshot, week)
if restated:
    st.warning(frame.restatement_note(restated, snapshot.build_id))
# Costs rising, rates of trouble rising, latency rising: red ("inverse"); completion and cache rising: green.
first = st.columns(5)
first[0].metric("Spend", frame.money(now["cost_usd"]), delta("cost_usd", "usd"), delta_color="inverse")
first[1].metric("Actions", f"{now['actions']:,}", delta("actions", "count"), delta_color="off")
first[2].metric(
    "Cost per completed action",
    frame.money(now["cost_per_completed_action_usd"]),
    delta("cost_per_completed_action_usd", "usd"),
    delta_color="inverse",
)
first[3].metric("Completion rate", pct(now["completion_rate"]), delta("completion_rate", "share"))
first[4].metric(
    "Premium share of calls", pct(now["premium_share"]), delta("premium_share", "share"), delta_color="inverse"
)
second = st.columns(5)
second[0].metric("Fallback rate", pct(now["fallback_rate"]), delta("fallback_rate", "share"), delta_color="inverse")
second[1].metric("Retry rate", pct(now["retry_rate"]), delta("retry_rate", "share"), delta_color="inverse")
second[2].metric(
    "Prompt-cache share of input",
    pct(now["cached_token_share"]),
    delta("cached_token_share", "share"),
    help="cached input tokens / input tokens, response-cache hits left out",
)
second[3].metric("Cache savings", frame.money(now["cache_savings_usd"]), delta("cache_savings_usd", "usd"))
second[4].metric(
    "Worst route p95 latency",
    frame.latency(now["worst_route_p95_latency_ms"]),
    delta("worst_route_p95_latency_ms", "ms"),
    delta_color="inverse",
    help="the highest p95 latency of the week's routes (a p95 across routes cannot be added up from them)",
)
if now["unpriced_calls"]:
    st.warning(
        f"{now['unpriced_calls']:,} calls this week have no price: spend covers the priced calls only. "
        "`routeledger prices check` lists the models."
    )

# --- findings: what to open next -----------------------------------------------------------------------
FINDING_KINDS = {
    "policy_breach": "Policy breach",
    "cost_regression": "Cost regression",
    "canary": "Canary",
    "reconciliation": "Bill out of tolerance",
}
if data.has(snapshot, "marts.review_findings"):
    findings = data.frame(snapshot, data.FINDINGS)
    st.subheader("Findings this week")
    found = False
    for row in findings.iter_rows(named=True):
        if row["week"] != week:
            continue
        found = True
        label = f"{FINDING_KINDS[row['kind']]}: {row['subject']}, {row['detail']} →"
        if row["kind"] == "reconciliation":
            st.page_link("pages/reconciliation.py", label=label)
        else:
            st.page_link(
                "pages/regression_debugger.py",
                label=label,
                query_params={"route": row["subject"], "week": frame.week_label(week)},
            )
    if not found:
        st.success("No policy breach, cost regression, canary or bill out of tolerance this week.")
    other_weeks: dict = {}
    for row in findings.iter_rows(named=True):
        if row["week"] != week:
            other_weeks.setdefault(row["week"], []).append(f"{FINDING_KINDS[row['kind']].lower()} {row['subject']}")
    if other_weeks:
        with st.expander(f"Other weeks with findings ({len(other_weeks)})", expanded=True):
            for other, what in other_weeks.items():
                st.page_link(
                    "pages/weekly_review.py",
                    label=f"{frame.week_label(other)}: {'; '.join(what)}",
                    query_params={"week": frame.week_label(other)},
                )

# --- what moved the spend ----------------------------------------------------------------------------
st.header("What changed the spend")
# The week's spend change and its top movers (marts.spend_deltas), in one query; no rows before the second week.
change = data.frame(snapshot, data.SPEND_CHANGE, week) if data.has(snapshot, "marts.spend_deltas") else None
parts, movers = data.spend_change_parts(change) if change is not None else (None, pl.DataFrame())
if change is None:
    frame.missing(
        "spend decomposition (marts.spend_deltas)", "It arrives with the analysis marts: `routeledger build`."
    )
elif parts is None:
    frame.missing("change against the week before", "The first week of data has nothing to compare with.")
else:
    # An SVG image, not a Plotly chart: the landing page loads no Plotly (what its first paint waited for).
    st.markdown(charts.spend_waterfall_svg(parts), unsafe_allow_html=True)

# --- route health ------------------------------------------------------------------------------------
st.header("Route health")
if not data.has(snapshot, "marts.route_health_weekly"):
    frame.missing("route health (marts.route_health_weekly)", "Run `routeledger build` to publish it.")
else:
    health = data.frame(snapshot, data.ROUTE_HEALTH, week)
    config = columns.column_config("marts.route_health_weekly", health.columns)
    config["trend_8w"] = st.column_config.LineChartColumn("Cost per completed action, 8 weeks")
    st.dataframe(health, hide_index=True, column_config=config)
    frame.downloads(health.drop("trend_8w"), f"route-health-{week}")


# --- the details: one at a time, the one chosen in the URL (?detail=...) --------------------------------
# Only the open tab's section runs and is drawn (tabs bound to the URL run lazily): the landing page draws its
# headline figures, findings, waterfall and route health, and one table more, so that it settles quickly.
st.header("Details")
tabs = st.tabs(
    ["Top movers", "Cost regressions", "Policy violations", "Budgets", "Canaries", "Reconciliation"],
    key="detail",
    bind="query-params",
)
with tabs[0]:
    if tabs[0].open:
        if movers.is_empty():
            st.info("No week before this one: nothing moved against it.")
        else:
            st.dataframe(
                movers,
                hide_index=True,
                column_config={
                    "route": "Route",
                    "cost_prev_usd": st.column_config.NumberColumn("Last week", format="dollar"),
                    "cost_usd": st.column_config.NumberColumn("This week", format="dollar"),
                    "delta_usd": st.column_config.NumberColumn("Change", format="dollar"),
                    "cost_per_completed_action_prev_usd": st.column_config.NumberColumn(
                        "Per completed, last week", format="$%.5f"
                    ),
                    "cost_per_completed_action_usd": st.column_config.NumberColumn(
                        "Per completed, this week", format="$%.5f"
                    ),
                },
            )
            links = st.container(horizontal=True)
            frame.downloads(movers, f"movers-{week}", links)
            for route in movers["route"].head(3):
                links.page_link(
                    "pages/regression_debugger.py",
                    label=f"Debug {route} →",
                    query_params={"route": route, "week": frame.week_label(week)},
                )
with tabs[1]:
    if tabs[1].open:
        frame.mart_table(
            snapshot, "marts.cost_regressions", data.REGRESSIONS, (week,), f"regressions-{week}",
            what="regression check", run="It arrives with the analysis marts.",
            empty="No route's cost per completed action rose past its threshold this week.", good_news=True,
        )  # fmt: skip
with tabs[2]:
    if tabs[2].open:
        frame.mart_table(
            snapshot, "marts.policy_violations", data.VIOLATIONS, (week,), f"violations-{week}",
            what="policy check", run="Add pricing/policy.yaml and run `routeledger build`.",
            empty="No route broke its policy this week.", good_news=True,
        )  # fmt: skip
with tabs[3]:
    if tabs[3].open:
        frame.mart_table(
            snapshot, "marts.budget_status", data.BUDGETS, (week, week), f"budgets-{week}",
            what="budget status", run="Add budgets to pricing/policy.yaml and run `routeledger build`.",
            empty="No budget covers this week.",
        )  # fmt: skip
with tabs[4]:
    if tabs[4].open:
        st.caption("Routes that ran more than one policy version this week: a canary beside its control.")
        frame.mart_table(
            snapshot, "marts.policy_compare", data.POLICY_COMPARE, (week, week), f"policy-compare-{week}",
            what="policy comparison", run="It arrives with the analysis marts.",
            empty="Every route ran one policy version this week.",
        )  # fmt: skip
with tabs[5]:
    if tabs[5].open:
        if not data.has(snapshot, "marts.reconciliation_weekly"):
            frame.missing(
                "provider bills (marts.reconciliation_weekly)",
                "Run `routeledger ingest billing PATH` and `routeledger build`.",
            )
        else:
            recon = data.frame(snapshot, data.WEEK_RECONCILIATION, week)
            if recon.is_empty():
                st.info(
                    "No bill covers this week yet: load the providers' exports with `routeledger ingest billing PATH`."
                )
            else:
                out = [row for row in recon.iter_rows(named=True) if row["model_days_out_of_tolerance"]]
                if out:
                    st.error(
                        "Out of tolerance this week: "
                        + ", ".join(
                            f"{row['provider']} ({row['model_days_out_of_tolerance']:,} model-days)" for row in out
                        )
                        + ". The Reconciliation page lists the days."
                    )
                frame.table(recon, "marts.reconciliation_weekly", f"reconciliation-{week}")
                st.page_link("pages/reconciliation.py", label="Open reconciliation")
