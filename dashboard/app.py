"""streamlit run dashboard/app.py

Streamlit serves the pages (dashboard/main.py, a router) and, beside them, one route for the live frames:
the Train page's component fetches `/minimax/frame/<token>` itself at the refresh rate. Measured here
(benchmarks/dashboard_live.py): pushing each frame through a Streamlit fragment re-renders the page's
~40 widgets in the browser and reruns the script on the server at 10 Hz, and that halved training while
watched; a plain HTTP fetch per frame costs the server ~2 ms and the browser only the drawing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard.frames import FRAME_ROUTE, frame_endpoint  # noqa: E402

app = st.App("main.py", routes=[Route(FRAME_ROUTE, frame_endpoint)])
