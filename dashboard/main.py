"""The Streamlit script behind dashboard/app.py: a router, one page function per page. It tells the session's
owner of what trains (`dashboard.session.SessionTraining`) which page is on screen before the page runs."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on the path, not the project
    sys.path.insert(0, str(ROOT))

from dashboard.screens.compare import compare_page  # noqa: E402
from dashboard.screens.explore import explore_page  # noqa: E402
from dashboard.screens.papers import papers_page  # noqa: E402
from dashboard.screens.theory import theory_page  # noqa: E402
from dashboard.screens.train import train_page  # noqa: E402
from dashboard.session import session_training  # noqa: E402

# 350 px: the longest scene name (remedy-minibatch-discrimination) shows whole in the sidebar's select; open
# on a desktop, collapsed on a narrow screen (Streamlit's "auto" with a width)
# the icon: an emoji, drawn by the page itself (a data: URL). A material icon is fetched from fonts.gstatic.com,
# and a character Streamlit does not take for an emoji (◐) is fetched from this server as a URL, twice per load
st.set_page_config(page_title="Minimax — GANs, live", page_icon="⚔️", layout="wide", initial_sidebar_state=350)


def explore() -> None:
    """The Explore page, whose "Open on Train" goes to the Train page registered below."""
    explore_page(PAGES["train"])


def papers() -> None:
    """The Papers page, whose "Open" goes to the Train page."""
    papers_page(PAGES["train"])


PAGES = {
    "train": st.Page(train_page, title="Train", icon=":material/play_circle:", url_path="train", default=True),
    "theory": st.Page(theory_page, title="Theory", icon=":material/function:", url_path="theory"),
    "compare": st.Page(compare_page, title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    "explore": st.Page(explore, title="Explore", icon=":material/grid_on:", url_path="explore"),
    "papers": st.Page(papers, title="Papers", icon=":material/menu_book:", url_path="papers"),
}
page = st.navigation(list(PAGES.values()))
# the session's owner pauses or cancels what trains off screen before the page on screen runs
session_training().show(next(name for name, known in PAGES.items() if known.title == page.title))
page.run()
