"""What every page shares: the snapshot it reads and says it reads, and tables with their downloads.

A page calls `snapshot()` first: it draws the "data as of" line (or says what to run, and
stops the page, when there is nothing to read), and returns the snapshot the page's queries
take. Tables go through `table()`, which shows them with the labels of the mart's column
spec and offers them as CSV and Parquet.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app import columns, data

NOTHING_PUBLISHED = "No published data yet. Run `routeledger ingest logs PATH` and `routeledger build`."


def snapshot(title: str) -> data.Snapshot:
    """The page's title and data-as-of line; the snapshot to read, or the page stops saying why not."""
    st.title(title)
    try:
        current = data.current_snapshot()
    except data.NoReadableSnapshot as exc:
        st.error(str(exc))
        st.stop()
    if current is None:
        st.info(NOTHING_PUBLISHED)
        st.stop()
    if current.unreadable:
        st.warning(
            f"The latest snapshot ({current.unreadable}) cannot be read, so this page shows the last good one, "
            f"build {current.build_id}. Run `routeledger build` to publish a new snapshot."
        )
    st.caption(f"data as of {current.built_at:%Y-%m-%d %H:%M} UTC · build {current.build_id}")
    return current


def missing(what: str, run: str) -> None:
    """An empty section's one line: what is missing and what would fill it."""
    st.info(f"No {what} in this build. {run}")


def table(frame: pl.DataFrame, model: str, name: str) -> None:
    """`frame` (columns of `model`, schema.table) labelled from its spec, with CSV and Parquet downloads."""
    st.dataframe(frame, hide_index=True, column_config=columns.column_config(model, frame.columns))
    downloads(frame, name)


def mart_table(
    snapshot: data.Snapshot,
    model: str,
    sql: str,
    params: tuple,
    name: str,
    *,
    what: str,
    run: str,
    empty: str,
    good_news: bool = False,
) -> pl.DataFrame | None:
    """A page section that reads one mart: `sql`'s rows as `table()` shows them.

    Without `model` in the snapshot, the line saying what is missing (`what`) and what to `run`,
    and None; with no rows, `empty` (as good news, green, when `good_news`).
    """
    if not data.has(snapshot, model):
        missing(f"{what} ({model})", run)
        return None
    rows = data.frame(snapshot, sql, *params)
    if rows.is_empty():
        (st.success if good_news else st.info)(empty)
    else:
        table(rows, model, name)
    return rows


def downloads(frame: pl.DataFrame, name: str, where: DeltaGenerator | None = None) -> None:
    """`frame` as `name`.csv and `name`.parquet, behind one "Download" popover (in `where`), encoded when clicked.

    One element on the page per table instead of two buttons each holding its bytes: the file is
    written only when asked for (exact: the Parquet keeps DECIMAL money as DECIMAL).
    """
    with (where or st).popover("Download", type="tertiary", key=f"{name}-download"):
        st.download_button(
            "CSV", lambda: frame.write_csv().encode(), f"{name}.csv", "text/csv", key=f"{name}-csv", on_click="ignore"
        )
        st.download_button(
            "Parquet", lambda: _parquet(frame), f"{name}.parquet", "application/vnd.apache.parquet",
            key=f"{name}-parquet", on_click="ignore",
        )  # fmt: skip


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def week_picker(snapshot: data.Snapshot) -> date:
    """The review's week, kept in the URL (?week=YYYY-MM-DD). Default: the last complete week.

    A week is complete once its Sunday has ended before the build; with none complete, the newest.
    """
    weeks = data.weeks(snapshot)
    if not weeks:
        st.info("The latest build has no calls yet. Run `routeledger ingest logs PATH` and `routeledger build`.")
        st.stop()
    built = snapshot.built_at.date()
    complete = [week for week in weeks if week + timedelta(days=7) <= built]
    default = weeks.index(complete[0]) if complete else 0
    return st.selectbox(
        "Week (Monday, UTC)",
        weeks,
        index=default,
        format_func=week_label,
        bind="query-params",
        key="week",
    )


def week_label(week: date) -> str:
    """How a week reads in the picker and in the URL (?week=2026-02-16+(W08)): its Monday and ISO week."""
    return f"{week:%Y-%m-%d} (W{week:%V})"


def money(value: object) -> str:
    """A dollar figure for a KPI: cents above $100, more digits below, '—' when unknown."""
    if value is None:
        return "—"
    amount = float(value)  # display only; the figure itself stays exact in the tables and downloads
    return f"${amount:,.0f}" if abs(amount) >= 100 else f"${amount:,.4f}" if abs(amount) < 1 else f"${amount:,.2f}"


def signed_money(change: object) -> str:
    """A change in dollars with its sign: +$0.0014, -$12.50."""
    if change is None:
        return "—"
    return ("+" if change >= 0 else "-") + money(abs(change))


def restatement_note(restated: dict, build_id: str) -> str:
    """What build `build_id` changed in a week (a row of marts.week_restatements), for the page and the report."""
    return (
        f"This week was restated by build {build_id}: spend {money(restated['cost_before_usd'])} → "
        f"{money(restated['cost_usd'])} ({signed_money(restated['cost_change_usd'])}), actions "
        f"{restated['actions_before']:,} → {restated['actions']:,} ({restated['actions_change']:+,}), against build "
        f"{restated['previous_build_id']} ({restated['previous_built_at']:%Y-%m-%d %H:%M} UTC). "
        "Late logs, a restated bill or a price correction do this."
    )


def latency(ms: float | None) -> str:
    """Milliseconds as people read them: 850 ms, 15.2 s, 9.6 min."""
    if ms is None:
        return "—"
    if ms < 10_000:
        return f"{ms:,.0f} ms"
    return f"{ms / 1000:,.1f} s" if ms < 600_000 else f"{ms / 60_000:,.1f} min"
