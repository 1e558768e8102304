"""The live view: one keyed st.components.v2 component that fetches its own frames.

Measured on this machine (docs/architecture.md, benchmarks/dashboard_live.py): st.plotly_chart remounts on every
data change and Plotly.js needs 30-120 ms per update without a GPU, so the views are canvases in one
component. Feeding it through a 10 Hz fragment still cost a Streamlit rerun and a browser re-render of
every widget per frame; so the component fetches frames from dashboard/frames.py's route itself, and
Streamlit reruns only when something changes the page (a control, or the run pausing by itself).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.runner import Runner
from core.slots import TrainingSlots

from . import controls, frames
from .payload import payload

_HERE = Path(__file__).parent / "components"
# isolate_styles=False: the component lives in the page's DOM, so #minimax-iteration is reachable by tests
live_component = st.components.v2.component(
    "minimax_live", js=(_HERE / "live.js").read_text(), css=(_HERE / "live.css").read_text(), isolate_styles=False
)


def live_view(runner: Runner, slots: TrainingSlots) -> None:
    queued = slots.position(runner)
    if queued:  # the place itself is on the board's badge, kept current by the component (no rerun per second)
        st.info(
            "Every training slot of this server is busy: your run waits in line (its place is on the board) and "
            "starts by itself when a slot frees up."
        )
    token = frames.register(runner, slots)
    scene = controls.scene_view(controls.scene(), runner.config)  # what to watch, under the square views
    frames.describe(runner, scene)  # and on the watch link's page
    result = live_component(
        key="live",
        data=dict(
            url=frames.frame_url(token),
            queue_url=frames.queue_url(token),  # polled once a second while queued: the place, and a slot freed
            refresh=st.session_state.get("refresh", 0.1),
            queued=queued,  # the place in line: the badge says "queued, number N"
            scene=scene,
            present=controls.present(),
            frame=payload(runner.snapshot(), include_static=False),
        ),
        on_add_mode_change=lambda: None,
        on_paint_change=lambda: None,
        on_state_change=lambda: None,
    )
    click = result.get("add_mode") if result else None
    if click:
        controls.add_mode(runner, float(click["x"]), float(click["y"]))
        st.rerun()
    stroke = result.get("paint") if result else None
    if stroke:
        controls.paint(runner, stroke.get("points"))
        st.rerun()
