"""Data health: what was loaded, what was refused and why, what has no price, and the build read here."""

import streamlit as st

from app import data, frame

snapshot = frame.snapshot("Data health")
if not data.has(snapshot, "marts.data_health"):
    frame.missing("data health (marts.data_health)", "Run `routeledger build`.")
    st.stop()

SECTIONS = {
    "rejected rows": ("Rejected rows, by reason", "No row was rejected.", "the first such row and its full reason"),
    "unpriced calls": ("Unpriced models", "Every call has a price.", "`routeledger prices check` says what to add"),
    "unmapped billing names": ("Unmapped billing names", "Every billed model name maps to a logged model.", ""),
    "load": ("Loads", "Nothing loaded yet.", "one row per loaded file, with its counts"),
}
st.caption(f"Build {snapshot.build_id}, published {snapshot.built_at:%Y-%m-%d %H:%M} UTC.")
for check, (title, empty, note) in SECTIONS.items():
    st.subheader(title)
    found = data.frame(snapshot, data.DATA_HEALTH, check)
    if found.is_empty():
        st.success(empty)
        continue
    if note:
        st.caption(note)
    frame.table(found, "marts.data_health", f"data-health-{check.replace(' ', '-')}")
