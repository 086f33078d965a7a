"""routeledger's Streamlit app: navigation only. Pages live in app/pages/."""

import os
import sys
from pathlib import Path

import streamlit as st

# Pages import the app's helpers as `app.data` and `app.charts`, from the project root.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

HERE = Path(__file__).parent
PAGES = HERE / "pages"

# The favicon is a local image, and pages have no icon: a `:material/...` icon has the browser fetch a font from a CDN,
# and nothing the app serves may reach past 127.0.0.1.
st.set_page_config(page_title="routeledger", page_icon=str(HERE / "favicon.png"), layout="wide")
# `routeledger app --host` on another address than loopback sets this, once OIDC login is configured
# (.streamlit/secrets.toml [auth]): nothing is read before the visitor has logged in.
if os.environ.get("ROUTELEDGER_REQUIRE_LOGIN") == "1":
    if not st.user.get("is_logged_in"):
        st.title("routeledger")
        st.write("Log in to see the team's LLM spend.")
        st.button("Log in", on_click=st.login)
        st.stop()
    st.sidebar.button("Log out", on_click=st.logout)

page = st.navigation(
    {
        "Review": [
            st.Page(PAGES / "weekly_review.py", title="Weekly review", default=True),
            st.Page(PAGES / "routes_by_week.py", title="Routes by week"),
        ],
        "Explore": [
            st.Page(PAGES / "spend_explorer.py", title="Spend explorer"),
            st.Page(PAGES / "regression_debugger.py", title="Regression debugger"),
            st.Page(PAGES / "providers.py", title="Providers"),
        ],
        "Check": [
            st.Page(PAGES / "reconciliation.py", title="Reconciliation"),
            st.Page(PAGES / "data_health.py", title="Data health"),
        ],
    }
)
page.run()
