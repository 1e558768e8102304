"""streamlit run dashboard/app.py

Streamlit serves the pages (dashboard/main.py, a router) and, beside them, the live routes: the Train page's
component fetches `/minimax/frame/<token>` itself at the refresh rate, a queued tab asks
`/minimax/queue/<token>` for its place, and a watch link (`/minimax/watch/<token>`, dashboard/watch.py) is a
plain page for a class. Measured here (benchmarks/dashboard_live.py): pushing each frame through a Streamlit
fragment re-renders the page's ~40 widgets in the browser and reruns the script on the server at 10 Hz, and
that halved training while watched; a plain HTTP fetch per frame costs the server ~2 ms and the browser only
the drawing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard.replica import ReplicaMiddleware  # noqa: E402
from dashboard.server import LiveRoutes, no_delay_on_listening_sockets  # noqa: E402

no_delay_on_listening_sockets()  # uvicorn imports this file once the port is bound (dashboard/server.py)
app = st.App(
    "main.py",
    # outermost first: the replica's id on every answer, then the live routes ahead of Streamlit's middleware
    middleware=[Middleware(ReplicaMiddleware), Middleware(LiveRoutes)],
)
