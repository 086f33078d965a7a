"""Plotly figure builders: a DataFrame in, a Figure out. No queries, no metrics."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl


def cost_per_completed_action_by_route(frame: pl.DataFrame) -> go.Figure:
    data = frame.select("route", pl.col("cost_per_completed_action_usd").cast(pl.Float64)).sort(
        "cost_per_completed_action_usd"
    )
    figure = px.bar(
        data,
        x="cost_per_completed_action_usd",
        y="route",
        orientation="h",
        labels={"cost_per_completed_action_usd": "USD per completed action", "route": ""},
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=320)
    figure.update_xaxes(tickprefix="$")
    return figure


def weekly_trend(frame: pl.DataFrame, column: str, label: str, log_scale: bool = False) -> go.Figure:
    """One line per route across weeks. A log scale shows cheap and dear routes' changes alike."""
    data = frame.select("week", "route", pl.col(column).cast(pl.Float64))
    figure = px.line(
        data, x="week", y=column, color="route", markers=True, labels={column: label, "week": ""}, log_y=log_scale
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=360, legend_title_text="")
    if column.endswith("_rate") or column.endswith("_share"):
        figure.update_yaxes(tickformat=".0%")
    elif column.endswith("_usd"):
        figure.update_yaxes(tickprefix="$", tickformat="~g")
    if log_scale:
        figure.update_yaxes(dtick=1)  # one label per power of ten: Plotly's default repeats 5, 2 between them
    return figure


# The parts of a spend change, in the order marts.spend_deltas substitutes them.
WATERFALL_PARTS = {
    "volume_usd": "Volume",
    "attempts_usd": "Attempts",
    "mix_usd": "Model mix",
    "tokens_usd": "Tokens",
    "cache_usd": "Cache",
    "price_usd": "Price",
}


def spend_waterfall(parts: dict) -> go.Figure:
    """Last week's spend, each part of the change, this week's spend (one row of marts.spend_deltas)."""
    labels = ["Last week", *WATERFALL_PARTS.values(), "This week"]
    values = [float(parts["spend_prev_usd"]), *(float(parts[c]) for c in WATERFALL_PARTS), 0.0]
    measures = ["absolute", *["relative"] * len(WATERFALL_PARTS), "total"]
    figure = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measures,
            text=[f"${abs(v):,.2f}" for v in values[:-1]] + [f"${float(parts['spend_curr_usd']):,.2f}"],
            textposition="outside",
        )
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=340, showlegend=False)
    figure.update_yaxes(tickprefix="$", tickformat=",~r", title="Spend")
    return figure


def stacked_spend(frame: pl.DataFrame, label: str) -> go.Figure:
    """Spend per day, one stacked area per group."""
    data = frame.select("day", "group", pl.col("cost_usd").cast(pl.Float64))
    figure = px.area(
        data, x="day", y="cost_usd", color="group", labels={"cost_usd": "Spend", "day": "", "group": label}
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=380)
    figure.update_yaxes(tickprefix="$", tickformat=",~r")
    return figure


def route_history(frame: pl.DataFrame, column: str, label: str, marks: list[tuple] | None = None) -> go.Figure:
    """One route's weekly figure; `marks` (week, text) are drawn as vertical lines (policy and price changes)."""
    data = frame.select("week", pl.col(column).cast(pl.Float64))
    figure = px.line(data, x="week", y=column, markers=True, labels={column: label, "week": ""})
    for week, text in marks or []:
        figure.add_vline(x=week, line_dash="dot", line_color="gray")
        figure.add_annotation(x=week, y=1, yref="paper", text=text, showarrow=False, yanchor="bottom")
    figure.update_layout(margin={"l": 0, "r": 0, "t": 24, "b": 0}, height=300)
    if column.endswith("_usd"):
        figure.update_yaxes(tickprefix="$", tickformat="~g")
    elif column.endswith("_rate") or column.endswith("_share"):
        figure.update_yaxes(tickformat=".0%")
    return figure


def latency_percentiles(frame: pl.DataFrame) -> go.Figure:
    data = frame.select("week", pl.col("p50_latency_ms").cast(pl.Float64), pl.col("p95_latency_ms").cast(pl.Float64))
    long = data.unpivot(index="week", variable_name="percentile", value_name="ms").with_columns(
        pl.col("percentile").replace({"p50_latency_ms": "p50", "p95_latency_ms": "p95"})
    )
    figure = px.line(
        long, x="week", y="ms", color="percentile", markers=True, labels={"ms": "Latency (ms)", "week": ""}
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=300, legend_title_text="")
    figure.update_yaxes(ticksuffix=" ms", tickformat=",")
    return figure


def provider_weeks(frame: pl.DataFrame) -> go.Figure:
    """Each provider's share of weekly spend, stacked to 100%."""
    data = frame.select("week", "provider", pl.col("cost_usd").cast(pl.Float64))
    figure = px.bar(data, x="week", y="cost_usd", color="provider", labels={"cost_usd": "Spend", "week": ""})
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=340, barnorm="percent")
    figure.update_yaxes(ticksuffix="%", title="Share of spend")
    return figure
