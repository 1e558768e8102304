"""Compare: two configurations over several seeds each, trained in the background, as mean ± std."""

from __future__ import annotations

import csv
import io

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.comparison import CompareJob
from core.config import ConfigError, TrainConfig
from core.losses import LOSSES
from core.presets import PRESETS
from core.sweep import METRICS, SweepResult

from ..controls import LEARNING_RATES, plain
from ..session import session_training

COLOURS = {"A": "#0b6e4f", "B": "#e8590c"}
SHOWN = {
    "modes_captured": "modes captured",
    "high_quality": "high-quality share",
    "jsd": "JSD (nats)",
    "reverse_kl": "reverse KL",
    "d_real": "mean D(x), data",
    "d_fake": "mean D(G(z)), samples",
}


def _side(name: str, column) -> TrainConfig | None:
    with column:
        st.markdown(f"**Configuration {name}**")
        preset = st.selectbox(
            "Preset",
            list(PRESETS),
            key=f"cmp_preset_{name}",
            index=list(PRESETS).index("minimax-saturates" if name == "A" else "ring8"),
        )
        base = PRESETS[preset].config
        loss = st.selectbox("Loss", list(LOSSES), index=list(LOSSES).index(base.loss), key=f"cmp_loss_{name}")
        k = st.slider("k", 1, 20, base.k, key=f"cmp_k_{name}")
        lr_d = st.select_slider(
            "D learning rate",
            sorted(set(LEARNING_RATES) | {base.lr_d}),
            base.lr_d,
            format_func=lambda v: f"{v:g}",
            key=f"cmp_lrd_{name}",
        )
        try:
            return base.replace(loss=loss, k=k, lr_d=lr_d)  # a loss without targets brings label smoothing 0
        except ConfigError as error:
            st.warning(f"Configuration {name}: {plain(error)}")  # a ConfigError echoes values
            return None


def _band_chart(metric: str, results: dict[str, SweepResult]) -> go.Figure:
    fig = go.Figure()
    for name, result in results.items():
        x, values = result.curves["iteration"], result.curves[metric]
        mean, std = values.mean(1), values.std(1, ddof=1) if values.shape[1] > 1 else np.zeros(len(x))
        fig.add_scatter(
            x=np.r_[x, x[::-1]],
            y=np.r_[mean + std, (mean - std)[::-1]],
            fill="toself",
            fillcolor=COLOURS[name],
            opacity=0.18,
            line=dict(width=0),
            hoverinfo="skip",
            showlegend=False,
        )
        fig.add_scatter(x=x, y=mean, name=f"{name}: mean ± std", line=dict(color=COLOURS[name], width=2))
    fig.update_layout(
        title=SHOWN[metric],
        height=260,
        margin=dict(l=40, r=10, t=40, b=30),
        legend=dict(orientation="h", y=-0.25),
        xaxis_title="iteration",
    )
    return fig


def _table(results: dict[str, SweepResult]):
    rows = []
    for name, result in results.items():
        rows += [dict(config=name, row=f"seed {row.pop('seed')}", **row) for row in result.final()]
        summary = result.summary()
        rows += [
            dict(config=name, row=stat, **{m: summary[m][stat] for m in METRICS}) for stat in ("mean", "std", "se")
        ]
    return rows


def compare_page() -> None:
    st.markdown("### Compare two configurations over seeds")
    st.caption(
        "One run is an anecdote. Each configuration is trained for several seeds at once (one batch of "
        "matrix products), and every curve is the mean over seeds with a band of ± one standard deviation."
    )
    left, right = st.columns(2)
    configs = {"A": _side("A", left), "B": _side("B", right)}
    seeds = st.slider("Seeds per configuration", 2, 16, 4, key="cmp_seeds")
    steps = st.select_slider("Iterations", [100, 250, 500, 1000, 2000, 4000, 6000], 1000, key="cmp_steps")
    owner = session_training()
    job = owner.job
    go_col, stop_col = st.columns([1, 1])
    if go_col.button(
        "Run the comparison",
        type="primary",
        disabled=None in configs.values() or bool(job and job.state != "stopped"),
        key="cmp_run",
    ):
        job = CompareJob(configs, seeds, steps)
        owner.compare(job)  # the session's runs pause; the job starts once a training slot is free
    if job and job.state != "stopped" and stop_col.button("Cancel", key="cmp_cancel"):
        owner.cancel_job()

    @st.fragment(run_every=0.5 if job and job.state != "stopped" else None)
    def progress():
        if job is None:
            return
        place = owner.waiting()  # asks for a slot again: one freed since starts the job now
        if place:
            st.info(
                f"Waiting for a training slot: place {place} in line. This server trains at most "
                f"{owner.slots.capacity} run{'s' if owner.slots.capacity > 1 else ''} or comparison"
                f"{'s' if owner.slots.capacity > 1 else ''} at once ({owner.slots.running()} training now); "
                "the comparison starts by itself when one is free."
            )
        st.progress(min(1.0, job.fraction), text=f"{job.done_steps} of {job.steps * len(job.configs)} iterations")
        if job.state == "stopped" and st.session_state.get("cmp_shown") is not job:
            st.session_state["cmp_shown"] = job
            st.rerun()

    progress()
    if job and job.error:
        st.warning(f"The comparison stopped: {plain(job.error)}")  # an exception's text, shown as it is
    if job and not job.running and len(job.results) == len(job.configs):
        columns = st.columns(3)
        for i, metric in enumerate(SHOWN):
            columns[i % 3].plotly_chart(_band_chart(metric, job.results), key=f"cmp_chart_{metric}")
        rows = _table(job.results)
        st.dataframe(rows, hide_index=True, key="cmp_table")
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        st.download_button(
            "Download the table (CSV)",
            text.getvalue(),
            file_name="minimax-compare.csv",
            mime="text/csv",
            key="cmp_csv",
            on_click="ignore",
        )
