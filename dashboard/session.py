"""Who owns what: one Runner per browser session, one cap on training runs per server."""

from __future__ import annotations

import streamlit as st

from core.config import TrainConfig
from core.runner import STOPPED, Runner
from core.slots import TrainingSlots

from . import frames

# The dashboard trains with one torch thread: with two, OpenMP workers spin against the server and the
# browser on a 2-core machine and a watched run fell from ~65 to 4 it/s (docs/architecture.md).
TORCH_THREADS = 1
IDLE_TIMEOUT_S = 30.0


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """Server-wide: at most `capacity` runners train at once (MINIMAX_MAX_TRAINING, default cores - 1)."""
    return TrainingSlots()


def _release(runner: Runner) -> None:
    """The session ended (its tab closed, or its caches were cleared): the run's frame token answers 404 from
    now on, its place in line goes and its thread stops, letting go of its torch state."""
    frames.revoke(runner)
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


# The paper's 1-D picture trains its own small GAN on the Theory page (same runner, data dimension 1).
LINE_CONFIG = TrainConfig(
    dataset="line", modes=3, hidden=64, depth=2, latent_dim=1, lr_g=1e-3, lr_d=1e-3, samples_shown=400, arrow_grid=8
)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _line_runner() -> Runner:
    return Runner(LINE_CONFIG, threads=TORCH_THREADS, idle_timeout=IDLE_TIMEOUT_S)


def line_runner() -> Runner:
    """This tab's 1-D run for the Theory page; stopped with the session like the board's."""
    runner = _line_runner()
    if runner.state == STOPPED:
        _line_runner.clear()
        runner = _line_runner()
    return runner
