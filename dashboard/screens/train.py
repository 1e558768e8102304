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
    if "initial_config" not in st.session_state:  # a shared link describes the run to start from
        st.session_state["initial_config"] = owner.initial = controls.config_from_url(dict(st.query_params))
    runner, slots = owner.board(), training_slots()
    controls.sidebar(runner, slots)
    live_view(runner, slots)
    config = runner.config
    st.markdown(f"**The game now: {config.loss}**, k = {config.k} — {LOSSES[config.loss].note}")
    d_latex, g_latex = objective_latex(config)  # the loss with every active remedy's term and value
    left, right = st.columns(2)
    with left:
        st.caption("Discriminator")
        st.latex(d_latex)
    with right:
        st.caption("Generator")
        st.latex(g_latex)
    controls.config_to_url(runner.config)
