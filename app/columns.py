"""Column labels, help texts and formats for the app's tables, from the marts' column specs.

A mart's columns are declared once (`sql/marts/<name>.yml`); a page shows them with the
label and definition written there, in a format chosen by the column's unit.
"""

from __future__ import annotations

import streamlit as st

from pipelines.columns import Column, load_columns
from pipelines.models import SQL_DIR

# unit -> NumberColumn format
FORMATS = {
    "USD": "dollar",
    "USD per action": "$%.5f",
    "share": "percent",
    "ms": "%.0f ms",
    "count": "localized",
    "tokens": "localized",
}


@st.cache_resource(show_spinner=False)
def _spec(model: str) -> tuple[Column, ...]:
    schema, table = model.split(".")
    return tuple(load_columns(SQL_DIR / schema / f"{table}.yml"))


def column_config(model: str, shown: list[str]) -> dict:
    """st.dataframe's column_config for the columns `shown` of `model` (schema.table)."""
    config = {}
    for column in _spec(model):
        if column.name not in shown:
            continue
        if column.type == "BOOLEAN":
            config[column.name] = st.column_config.CheckboxColumn(column.title, help=column.help)
        elif column.type == "DATE":
            config[column.name] = st.column_config.DateColumn(column.title, help=column.help, format="YYYY-MM-DD")
        elif column.type.startswith("TIMESTAMP"):
            config[column.name] = st.column_config.DatetimeColumn(
                column.title, help=column.help, format="YYYY-MM-DD HH:mm", timezone="UTC"
            )
        elif column.unit in FORMATS or column.type.startswith(("DECIMAL", "DOUBLE", "BIGINT")):
            config[column.name] = st.column_config.NumberColumn(
                column.title, help=column.help, format=FORMATS.get(column.unit)
            )
        else:
            config[column.name] = st.column_config.TextColumn(column.title, help=column.help)
    return config
