"""routeledger's Streamlit app: navigation only. Pages live in app/pages/."""

import sys
from pathlib import Path

import streamlit as st

# Pages import the app's helpers as `app.data` and `app.charts`, from the project root.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="routeledger", page_icon=":material/receipt_long:", layout="wide")
page = st.navigation(
    [
        st.Page(PAGES / "routes_by_week.py", title="Routes by week", icon=":material/alt_route:", default=True),
    ]
)
page.run()
