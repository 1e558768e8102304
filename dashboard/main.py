"""The Streamlit script behind dashboard/app.py: a router, one page function per page."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on the path, not the project
    sys.path.insert(0, str(ROOT))

from dashboard.screens.compare import compare_page  # noqa: E402
from dashboard.screens.theory import theory_page  # noqa: E402
from dashboard.screens.train import train_page  # noqa: E402

st.set_page_config(page_title="Minimax — GANs, live", page_icon="◐", layout="wide", initial_sidebar_state="expanded")
st.navigation(
    [
        st.Page(train_page, title="Train", icon=":material/play_circle:", url_path="train", default=True),
        st.Page(theory_page, title="Theory", icon=":material/function:", url_path="theory"),
        st.Page(compare_page, title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    ]
).run()
