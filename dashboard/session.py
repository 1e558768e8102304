"""Who owns what: one Runner per browser session, one cap on training runs per server."""
from __future__ import annotations

import streamlit as st

from core.config import TrainConfig
from core.runner import STOPPED, Runner
from core.slots import TrainingSlots

# The dashboard trains with one torch thread: with two, OpenMP workers spin against the server and the
# browser on a 2-core machine and a watched run fell from ~65 to 4 it/s (DESIGN.md).
TORCH_THREADS = 1
IDLE_TIMEOUT_S = 30.0


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """Server-wide: at most `capacity` runners train at once (MINIMAX_MAX_TRAINING, default cores - 1)."""
    return TrainingSlots()


def _release(runner: Runner) -> None:
    training_slots().cancel(runner)
    runner.stop()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_runner() -> Runner:
    config = st.session_state.get("initial_config") or TrainConfig()
    return Runner(config, threads=TORCH_THREADS, idle_timeout=IDLE_TIMEOUT_S)


def session_runner() -> Runner:
    """This tab's runner: made on first use, stopped and freed when the session ends (tab closed)."""
    runner = _session_runner()
    if runner.state == STOPPED:  # stopped by its owner (server shutdown, a test): never hand out a dead one
        _session_runner.clear()
        runner = _session_runner()
    return runner
