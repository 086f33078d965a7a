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


def spend_waterfall_svg(parts: dict, width: int = 960, height: int = 320) -> str:
    """spend_waterfall as a plain SVG image: the same bars and dollar labels, drawn without Plotly.

    The landing page draws this one: Plotly's frontend (4.6 MB of JavaScript, parsed on the page's
    first chart) is most of what the Weekly review waited for in the browser. The page puts it in
    the page itself (markdown), not as an image file the browser fetches after the page has run.
    It scales to the width of the page.
    """
    labels = ["Last week", *WATERFALL_PARTS.values(), "This week"]
    steps = [float(parts[column]) for column in WATERFALL_PARTS]
    start, end = float(parts["spend_prev_usd"]), float(parts["spend_curr_usd"])
    bars = [(0.0, start)]  # (bottom, top) of each bar in dollars
    level = start
    for step in steps:
        bars.append((level, level + step))
        level += step
    bars.append((0.0, end))
    texts = [f"${start:,.2f}", *(f"{'+' if s >= 0 else '-'}${abs(s):,.2f}" for s in steps), f"${end:,.2f}"]
    colors = ["#636efa", *("#ef553b" if s > 0 else "#00cc96" for s in steps), "#636efa"]
    low = min(0.0, *(min(b) for b in bars))
    high = max(0.0, *(max(b) for b in bars)) or 1.0
    top, bottom, left = 24, 40, 8
    plot = height - top - bottom
    slot = (width - left) / len(bars)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot

    shapes = [f'<line x1="{left}" y1="{y(0):.1f}" x2="{width}" y2="{y(0):.1f}" stroke="#bbb"/>']
    for index, ((first, second), text, color, label) in enumerate(zip(bars, texts, colors, labels, strict=True)):
        x = left + index * slot + slot * 0.15
        upper, lower = y(max(first, second)), y(min(first, second))
        shapes.append(
            f'<rect x="{x:.1f}" y="{upper:.1f}" width="{slot * 0.7:.1f}" height="{max(lower - upper, 1):.1f}" '
            f'fill="{color}"><title>{label}: {text}</title></rect>'
        )
        shapes.append(f'<text x="{x + slot * 0.35:.1f}" y="{upper - 6:.1f}" text-anchor="middle">{text}</text>')
        shapes.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 14}" text-anchor="middle">{label}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="Spend last week, each part of the change, spend this week" '
        'font-family="sans-serif" font-size="13" fill="#31333f">' + "".join(shapes) + "</svg>"
    )
