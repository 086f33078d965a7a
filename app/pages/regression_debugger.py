"""Regression debugger: one route, one week, and everything that explains its cost.

Arrive from a mover on the Weekly review (?route=...&week=...) or pick a route here.
"""

import polars as pl
import streamlit as st

from app import charts, columns, data, frame

snapshot = frame.snapshot("Regression debugger")
left, right = st.columns(2)
with left:
    week = frame.week_picker(snapshot)
with right:
    route = st.selectbox("Route", data.values(snapshot, data.ROUTES, week), bind="query-params", key="route")

# The route's weeks, with their policy versions and spend decompositions when the snapshot holds those marts.
combined = data.has(snapshot, "marts.policy_compare") and data.has(snapshot, "marts.spend_deltas")
history = data.frame(snapshot, data.ROUTE_WEEKS if combined else data.ROUTE_HISTORY, route)
this_week = history.filter(pl.col("week") == week)
if this_week.is_empty():
    st.info(f"{route} has no actions in the week of {week:%Y-%m-%d}. Pick another week or route.")
    st.stop()

# Policy versions the route ran, week by week, marked where they change; and the price changes of its models.
marks = []
if data.has(snapshot, "marts.policy_compare"):
    versions = (
        history.select("week", "policy_versions").drop_nulls()
        if combined
        else data.frame(snapshot, data.ROUTE_POLICY_VERSIONS, route)
    )
    previous = None
    for version_week, listed in versions.iter_rows():
        if previous is not None and listed != previous:
            marks.append((version_week, f"policy {listed}"))
        previous = listed
prices = pl.DataFrame()
if data.has(snapshot, "marts.price_changes"):
    prices = data.frame(snapshot, data.ROUTE_PRICE_CHANGES, route, history["week"].min(), history["week"].max())
    for change in prices.iter_rows(named=True):
        tier = "" if change["service_tier"] == "default" else f" ({change['service_tier']})"
        marks.append((change["effective_from"].date(), f"price {change['model']}{tier}"))

st.subheader("Cost per completed action")
st.plotly_chart(
    charts.route_history(history, "cost_per_completed_action_usd", "USD per completed action", marks),
    width="stretch",
)
if not prices.is_empty():
    with st.expander(f"Price changes of the route's models in these weeks ({prices.height})"):
        frame.table(prices, "marts.price_changes", f"price-changes-{route}")

if data.has(snapshot, "marts.policy_compare"):
    compared = data.frame(snapshot, data.ROUTE_POLICY_COMPARE, week, route)
    if compared.height > 1:
        st.subheader("Policy versions this week")
        st.caption("A canary beside its control, with 95% intervals (marts.policy_compare).")
        frame.table(compared, "marts.policy_compare", f"policy-versions-{route}-{week}")

left, right = st.columns(2)
with left:
    st.subheader("What changed the spend")
    if not data.has(snapshot, "marts.spend_deltas"):
        frame.missing("spend decomposition (marts.spend_deltas)", "It arrives with the analysis marts.")
    else:
        parts = (
            this_week.filter(pl.col("has_decomposition"))
            if combined
            else data.frame(snapshot, data.ROUTE_DECOMPOSITION, week, route)
        )
        if parts.is_empty():
            st.info("No week before this one to compare with.")
        else:
            st.plotly_chart(charts.spend_waterfall(parts.row(0, named=True)), width="stretch")
with right:
    st.subheader("Latency percentiles")
    st.plotly_chart(charts.latency_percentiles(history), width="stretch")

# --- the details: one section at a time, the one chosen in the URL (?section=...) -----------------------
# Only the open tab's section runs and is drawn (tabs bound to the URL run lazily).
tabs = st.tabs(
    ["Sample actions", "Fallbacks and errors", "Tier chains", "Call roles", "User tiers and workloads"],
    key="section",
    bind="query-params",
)
with tabs[1]:
    if tabs[1].open:
        left, right = st.columns(2)
        with left:
            st.subheader("Fallback reasons")
            fallbacks = data.frame(snapshot, data.ROUTE_FALLBACKS, week, route)
            if fallbacks.is_empty():
                st.info("No fallback this week.")
            else:
                frame.table(fallbacks, "marts.route_weekly_fallbacks", f"fallbacks-{route}-{week}")
        with right:
            st.subheader("Errors by type")
            frame.table(data.frame(snapshot, data.ROUTE_STATUSES, week, route), "marts.route_weekly_status",
                        f"statuses-{route}-{week}")  # fmt: skip
with tabs[2]:
    if tabs[2].open:
        st.subheader("How actions went through the tiers")
        frame.mart_table(
            snapshot, "marts.route_week_model_chains", data.MODEL_CHAINS, (week, route), f"chains-{route}-{week}",
            what="tier chains", run="Run `routeledger build`.", empty="No action this week.",
        )  # fmt: skip
with tabs[3]:
    if tabs[3].open:
        st.subheader("Cost by call role")
        frame.mart_table(
            snapshot, "marts.route_weekly_roles", data.ROUTE_ROLES, (week, route), f"roles-{route}-{week}",
            what="cost by call role", run="It arrives with the analysis marts.", empty="No call this week.",
        )  # fmt: skip
with tabs[4]:
    if tabs[4].open:
        st.subheader("By user tier and workload class")
        frame.mart_table(
            snapshot, "marts.route_segment_weekly", data.ROUTE_SEGMENTS, (week, route), f"segments-{route}-{week}",
            what="segments", run="They arrive with the analysis marts.", empty="No action this week.",
        )  # fmt: skip


def choices(calls: pl.DataFrame, column: str) -> list[str]:
    """What a sample filter offers: the values of `column` among the sampled calls."""
    return sorted(calls[column].drop_nulls().unique().to_list())


if not tabs[0].open:
    st.stop()
with tabs[0]:
    st.subheader("Sample actions, call by call")
    st.caption(
        "The week's 5 most expensive actions on the route, and 5 others drawn with a fixed seed. Filter by sample, "
        "or keep the actions with at least one call of the chosen status, call role and model."
    )
    calls = data.frame(snapshot, data.SAMPLE_CALLS, week, route)

    filters = st.columns(4)
    with filters[0]:
        sample = st.selectbox(
            "Sample", ["most expensive", "random"], index=None, placeholder="both", bind="query-params", key="sample"
        )
    with filters[1]:
        status = st.multiselect(
            "Status", choices(calls, "status"), placeholder="any", bind="query-params", key="status"
        )
    with filters[2]:
        role = st.multiselect(
            "Call role", choices(calls, "call_role"), placeholder="any", bind="query-params", key="role"
        )
    with filters[3]:
        model = st.multiselect("Model", choices(calls, "model"), placeholder="any", bind="query-params", key="model")
    # The sampled actions with at least one call of the chosen sample, status, call role and model (none chosen:
    # any), and every call of those actions.
    chosen = {"sample": [sample] if sample else [], "status": status, "call_role": role, "model": model}
    matching = calls.filter(*(pl.col(column).is_in(list(values)) for column, values in chosen.items() if values))
    samples = calls.join(matching.select("sample", "action_id").unique(), on=["sample", "action_id"], how="semi").sort(
        "sample", "sample_rank", "call_seq"
    )
    if samples.is_empty():
        st.info("No sampled action has a call matching these filters.")
        st.stop()
    chains = samples.filter(pl.col("call_seq") == 1).select(
        "sample", "action_id", "action_outcome", "action_model_chain", "action_cost_usd"
    )
    st.dataframe(
        chains,
        hide_index=True,
        column_config=columns.column_config("marts.route_week_sample_calls", chains.columns),
    )
    with st.expander(f"Every call of these {chains.height} actions ({samples.height} calls)"):
        frame.table(samples, "marts.route_week_sample_calls", f"sample-calls-{route}-{week}")
