"""Reconciliation: what routeledger estimated against what the providers billed, out-of-tolerance first."""

import streamlit as st

from app import data, frame

snapshot = frame.snapshot("Reconciliation")
if not data.has(snapshot, "marts.reconciliation_daily"):
    frame.missing(
        "reconciliation (marts.reconciliation_daily)",
        "Load the providers' bills with `routeledger ingest billing PATH`, then run `routeledger build`.",
    )
    st.stop()

daily = data.frame(snapshot, data.RECONCILIATION_DAILY)
if daily.is_empty():
    frame.missing(
        "bill lines", "Load the providers' bills with `routeledger ingest billing PATH`, then `routeledger build`."
    )
    st.stop()
out = daily.filter(~daily["is_within_tolerance"])
if out.height:
    st.error(f"{out.height:,} provider-model-days are out of tolerance; they are listed first.")
else:
    st.success("Every provider-model-day is within tolerance.")

st.subheader("By month and provider")
if data.has(snapshot, "marts.reconciliation_monthly"):
    frame.table(
        data.frame(snapshot, data.RECONCILIATION_MONTHLY), "marts.reconciliation_monthly", "reconciliation-monthly"
    )

st.subheader("By day, provider and model")
st.caption("Billed minus estimated, split into the token gap, the price gap and what neither explains.")
frame.table(daily, "marts.reconciliation_daily", "reconciliation-daily")

st.subheader("Other charges")
frame.mart_table(
    snapshot, "marts.billing_other_charges", data.OTHER_CHARGES, (), "billing-other-charges",
    what="other charges", run="They arrive with the billing marts.",
    empty="The bills hold no charge other than model usage.",
)  # fmt: skip
