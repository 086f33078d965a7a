"""Providers: how much traffic and spend each provider carries, the concentration risk to track."""

import streamlit as st

from app import charts, data, frame

snapshot = frame.snapshot("Providers")
if not data.has(snapshot, "marts.spend_daily"):
    frame.missing("spend cube (marts.spend_daily)", "Run `routeledger build` to publish it.")
    st.stop()
week = frame.week_picker(snapshot)

shares = data.frame(snapshot, data.PROVIDER_SHARES, week, week)
if shares.height:
    top = shares.row(0, named=True)
    st.metric(
        "Largest provider's share of spend",
        "—" if top["share_of_cost"] is None else f"{top['share_of_cost']:.1%}",
        help=f"{top['provider']}, the week of {week:%Y-%m-%d}",
    )
st.dataframe(
    shares,
    hide_index=True,
    column_config={
        "provider": "Provider",
        "calls": st.column_config.NumberColumn("Calls", format="localized"),
        "cost_usd": st.column_config.NumberColumn("Spend", format="dollar"),
        "share_of_calls": st.column_config.NumberColumn("Share of calls", format="percent"),
        "share_of_cost": st.column_config.NumberColumn("Share of spend", format="percent"),
        "error_rate": st.column_config.NumberColumn(
            "Failed calls", format="percent", help="calls with a status other than ok / calls"
        ),
        "fallback_calls_received": st.column_config.NumberColumn(
            "Fallbacks received", format="localized", help="fallback calls the router sent to this provider"
        ),
    },
)
frame.downloads(shares, f"providers-{week}")

st.subheader("Fallbacks between providers")
if not data.has(snapshot, "marts.provider_fallback_pairs"):
    frame.missing("fallback pairs (marts.provider_fallback_pairs)", "Run `routeledger build`.")
else:
    pairs = data.frame(snapshot, data.FALLBACK_PAIRS, week)
    if pairs.is_empty():
        st.info("No fallback this week.")
    else:
        frame.table(pairs, "marts.provider_fallback_pairs", f"fallback-pairs-{week}")

st.subheader("Share of spend, week by week")
st.plotly_chart(charts.provider_weeks(data.frame(snapshot, data.PROVIDER_WEEKS)), width="stretch")
