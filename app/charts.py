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
    return figure
