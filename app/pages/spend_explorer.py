"""Spend explorer: spend by any dimension over a date range, against the period of equal length before it."""

from datetime import timedelta

import polars as pl
import streamlit as st

from app import charts, data, frame

snapshot = frame.snapshot("Spend explorer")
if not data.has(snapshot, "marts.spend_daily"):
    frame.missing("spend cube (marts.spend_daily)", "Run `routeledger build` to publish it.")
    st.stop()
first_day, last_day = data.row(snapshot, data.SPEND_DAYS)
if first_day is None:
    st.info("The latest build has no calls yet. Run `routeledger ingest logs PATH` and `routeledger build`.")
    st.stop()

left, right = st.columns([2, 1])
with left:
    chosen = st.date_input(
        "Days (UTC)",
        value=(max(first_day, last_day - timedelta(days=27)), last_day),
        min_value=first_day,
        max_value=last_day,
        bind="query-params",
        key="days",
    )
with right:
    dimension = st.selectbox(
        "Group by", list(data.DIMENSIONS), format_func=data.DIMENSIONS.get, bind="query-params", key="by"
    )
if len(chosen) != 2:
    st.info("Pick the last day of the range too.")
    st.stop()
start, end = chosen
label = data.DIMENSIONS[dimension]
length = (end - start).days + 1
st.caption(
    f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({length} days), against {start - timedelta(days=length):%Y-%m-%d} "
    f"to {start - timedelta(days=1):%Y-%m-%d}. Spend is the exact cost of priced calls, in USD."
)

rows = data.frame(snapshot, data.SPEND_TOTALS[dimension], start, end)
total = rows.row(0, named=True)  # the selection as a whole (is_total): the query puts it first
totals = rows.filter(~pl.col("is_total")).drop("is_total")
over_time = data.frame(snapshot, data.SPEND_OVER_TIME[dimension], start, end)

kpi = st.columns(3)
kpi[0].metric(
    "Spend",
    frame.money(total["cost_usd"]),
    f"{frame.signed_money(total['delta_usd'])} vs previous period" if total["cost_prev_usd"] else None,
    delta_color="inverse",
)
kpi[1].metric("Calls", f"{total['calls']:,}")
kpi[2].metric("Actions", f"{total['actions']:,}")

st.plotly_chart(charts.stacked_spend(over_time, label), width="stretch")
st.dataframe(
    totals,
    hide_index=True,
    column_config={
        "group": st.column_config.TextColumn(label),
        "cost_usd": st.column_config.NumberColumn("Spend", format="dollar"),
        "cost_prev_usd": st.column_config.NumberColumn("Spend, previous period", format="dollar"),
        "delta_usd": st.column_config.NumberColumn("Change", format="dollar"),
        "change": st.column_config.NumberColumn("Change %", format="percent"),
        "calls": st.column_config.NumberColumn("Calls", format="localized"),
        "actions": st.column_config.NumberColumn(
            "Actions", format="localized", help="actions counted where their first call was"
        ),
        "tokens": st.column_config.NumberColumn("Tokens (in + out)", format="localized"),
    },
)
frame.downloads(totals.rename({"group": dimension}), f"spend-by-{dimension}-{start}-{end}")
