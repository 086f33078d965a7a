"""Routes by week: marts.route_weekly for one ISO week, the weekly review's first table."""

import streamlit as st

from app import charts, columns, data, frame

# What the trend chart can show: label -> (column of marts.route_weekly, log scale)
TRENDS = {
    "cost / completed action": ("cost_per_completed_action_usd", True),
    "fallbacks": ("fallback_rate", False),
    "retries": ("retry_rate", False),
    "premium": ("premium_share", False),
    "cache hits": ("prompt_cache_hit_rate", False),
    "cost": ("cost_usd", True),
}

snapshot = frame.snapshot("Routes by week")

weeks = data.weeks(snapshot)
if not weeks:
    st.info("The latest build has no calls yet.")
    st.stop()
week = st.selectbox(
    "Week (Monday, UTC)", weeks, format_func=lambda w: f"{w:%Y-%m-%d} (W{w:%V})", bind="query-params", key="week"
)

table = data.route_week(snapshot, week)
st.dataframe(table, hide_index=True, column_config=columns.column_config("marts.route_weekly", table.columns))
frame.downloads(table, f"routes-{week}")
partial = table.filter(~table["is_cost_complete"])
if partial.height:
    routes = ", ".join(
        f"{route} ({n:,} call{'' if n == 1 else 's'})"
        for route, n in partial.select("route", "unpriced_calls").iter_rows()
    )
    st.warning(
        f"Calls without a price at their time: {routes}. These routes' cost covers their priced calls only; "
        "add the models to pricing/catalog.yaml (`routeledger prices check` lists them)."
    )

left, right = st.columns(2)
with left:
    st.subheader("Cost per completed action")
    st.plotly_chart(charts.cost_per_completed_action_by_route(table), width="stretch")
with right:
    st.subheader("Across weeks")
    measure = st.radio(
        "Measure", list(TRENDS), horizontal=True, label_visibility="collapsed", bind="query-params", key="measure"
    )
    column, log_scale = TRENDS[measure]
    trend = data.route_trend(snapshot)
    st.plotly_chart(charts.weekly_trend(trend, column, measure, log_scale), width="stretch")
