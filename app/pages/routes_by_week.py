"""Routes by week: marts.route_weekly for one ISO week, the weekly review's first table."""

import streamlit as st

from app import charts, columns, data

# What the trend chart can show: label -> (column of marts.route_weekly, log scale)
TRENDS = {
    "cost / completed action": ("cost_per_completed_action_usd", True),
    "fallbacks": ("fallback_rate", False),
    "retries": ("retry_rate", False),
    "premium": ("premium_share", False),
    "cache hits": ("prompt_cache_hit_rate", False),
    "cost": ("cost_usd", True),
}

st.title("Routes by week")
try:
    snapshot = data.current_snapshot()
except data.NoReadableSnapshot as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
if snapshot is None:
    st.info("No published data yet. Run `routeledger ingest logs PATH` and `routeledger build`.")
    st.stop()
if snapshot.unreadable:
    st.warning(
        f"The latest snapshot ({snapshot.unreadable}) cannot be read, so this page shows the last good one, "
        f"build {snapshot.build_id}. Run `routeledger build` to publish a new snapshot.",
        icon=":material/warning:",
    )
st.caption(f"data as of {snapshot.built_at:%Y-%m-%d %H:%M} UTC · build {snapshot.build_id}")

weeks = data.weeks(snapshot)
if not weeks:
    st.info("The latest build has no calls yet.")
    st.stop()
week = st.selectbox(
    "Week (Monday, UTC)", weeks, format_func=lambda w: f"{w:%Y-%m-%d} (W{w:%V})", bind="query-params", key="week"
)

table = data.route_week(snapshot, week)
st.dataframe(table, hide_index=True, column_config=columns.column_config("marts.route_weekly", table.columns))
partial = table.filter(~table["is_cost_complete"])
if partial.height:
    routes = ", ".join(
        f"{route} ({n:,} call{'' if n == 1 else 's'})"
        for route, n in partial.select("route", "unpriced_calls").iter_rows()
    )
    st.warning(
        f"Calls without a price at their time: {routes}. These routes' cost covers their priced calls only; "
        "add the models to pricing/catalog.yaml (`routeledger prices check` lists them).",
        icon=":material/warning:",
    )

left, right = st.columns(2)
with left:
    st.subheader("Cost per completed action")
    st.plotly_chart(charts.cost_per_completed_action_by_route(table), width="stretch")
with right:
    st.subheader("Across weeks")
    measure = st.radio("Measure", list(TRENDS), horizontal=True, label_visibility="collapsed")
    column, log_scale = TRENDS[measure]
    trend = data.route_trend(snapshot)
    st.plotly_chart(charts.weekly_trend(trend, column, measure, log_scale), width="stretch")
