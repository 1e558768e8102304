"""Train: the live lecture board."""

from __future__ import annotations

import streamlit as st

from core.losses import LOSSES
from core.objective import objective_latex

from .. import controls
from ..live import live_view
from ..session import session_training, training_slots


def train_page() -> None:
    owner = session_training()
    if "initial_config" not in st.session_state:  # a shared link describes the run (and the scene) to start from
        params = dict(st.query_params)
        st.session_state["initial_config"] = owner.initial = controls.config_from_url(params)
        st.session_state["preset"] = controls.url_scene(params, owner.initial) or controls.NO_PRESET
        st.session_state["present"] = str(params.get("present", "")).lower() in ("1", "true", "on")
        st.session_state["speed"] = controls.url_speed(params)
    runner, slots = owner.board(), training_slots()
    controls.sidebar(runner, slots)
    controls.show_notices()  # at the top of the page, where the eye is (not at the foot of the sidebar)
    controls.scene_bar(runner, slots)
    live_view(runner, slots)
    config = runner.config
    steps = f"k = {config.k}" + (f", {config.g_steps} G steps" if config.g_steps > 1 else "")
    st.markdown(f"**The game now: {config.loss}**, {steps} — {LOSSES[config.loss].note}")
    d_latex, g_latex = objective_latex(config)  # the loss with every active remedy's term and value
    left, right = st.columns(2)
    with left:
        st.caption("Discriminator")
        st.latex(d_latex)
    with right:
        st.caption("Generator")
        st.latex(g_latex)
    controls.config_to_url(runner.config, controls.scene())
