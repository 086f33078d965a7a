"""Providers: how much traffic and spend each provider carries, the concentration risk to track."""

import streamlit as st

from app import charts, data, frame

snapshot = frame.snapshot("Providers")
if not data.has(snapshot, "marts.provider_weekly"):
    frame.missing("provider shares (marts.provider_weekly)", "Run `routeledger build` to publish it.")
    st.stop()
week = frame.week_picker(snapshot)

shares = data.frame(snapshot, data.PROVIDER_SHARES, week)
if shares.height:
    top = shares.row(0, named=True)
    st.metric(
        "Largest provider's share of spend",
        "—" if top["share_of_cost"] is None else f"{top['share_of_cost']:.1%}",
        help=f"{top['provider']}, the week of {week:%Y-%m-%d}",
    )
frame.table(shares, "marts.provider_weekly", f"providers-{week}")

st.subheader("Fallbacks between providers")
frame.mart_table(
    snapshot, "marts.provider_fallback_pairs", data.FALLBACK_PAIRS, (week,), f"fallback-pairs-{week}",
    what="fallback pairs", run="Run `routeledger build`.", empty="No fallback this week.",
)  # fmt: skip

st.subheader("Share of spend, week by week")
st.plotly_chart(charts.provider_weeks(data.frame(snapshot, data.PROVIDER_WEEKS)), width="stretch")
