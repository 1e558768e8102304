"""Compare: two configurations over several seeds each, trained in the background, as mean ± std."""

from __future__ import annotations

import csv
import io
import threading

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.config import ConfigError, TrainConfig
from core.losses import LOSSES
from core.presets import PRESETS
from core.sweep import METRICS, SweepResult, run_sweep

from ..controls import LEARNING_RATES, plain
from ..session import session_runner

COLOURS = {"A": "#0b6e4f", "B": "#e8590c"}
SHOWN = {
    "modes_captured": "modes captured",
    "high_quality": "high-quality share",
    "jsd": "JSD (nats)",
    "reverse_kl": "reverse KL",
    "d_real": "mean D(x), data",
    "d_fake": "mean D(G(z)), samples",
}


class CompareJob:
    """Trains two sweeps one after the other on its own thread; owned by one session, stopped with it."""

    def __init__(self, configs: dict[str, TrainConfig], seeds: int, steps: int):
        self.configs, self.seeds, self.steps = configs, seeds, steps
        self.results: dict[str, SweepResult] = {}
        self.done_steps, self.error = 0, None
        self._cancel = threading.Event()
        self._reason = "cancelled"
        self.thread = threading.Thread(target=self._run, name="minimax-compare", daemon=True)
        self.thread.start()

    def _run(self):
        import torch

        torch.set_num_threads(1)  # as the live runner: leave a core to the server and the browser
        try:
            for offset, (name, config) in enumerate(self.configs.items()):

                def progress(done, total, offset=offset * self.steps):  # after every iteration
                    self.done_steps = offset + done
                    if self._cancel.is_set():
                        raise InterruptedError

                self.results[name] = run_sweep(
                    config, self.seeds, self.steps, max(1, self.steps // 20), progress=progress
                )
        except InterruptedError:
            self.error = self._reason
        except Exception as error:  # shown on the page, never a dead thread with no word
            self.error = f"{type(error).__name__}: {error}"

    @property
    def fraction(self) -> float:
        return self.done_steps / (self.steps * len(self.configs))

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop at the end of the current iteration (the sweep checks after every one); returns at once."""
        if self.thread.is_alive():  # a finished comparison keeps its results and says nothing was cancelled
            self._reason = self.error = reason
            self._cancel.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it has."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


def _release(holder: dict) -> None:
    if holder.get("job"):
        holder["job"].cancel()  # no join: Streamlit calls this on its event loop; the thread ends in an iteration


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _job_holder() -> dict:
    return {"job": None}


def leave_compare() -> None:
    """Called by the other pages: a comparison does not train on behind the user's back."""
    job = _job_holder()["job"]
    if job is not None and job.running:
        job.cancel("cancelled: you left the Compare page while it ran")


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
            changes = dict(loss=loss, k=k, lr_d=lr_d)
            if not LOSSES[loss].targets:
                changes["label_smoothing"] = 0.0
            return base.replace(**changes)
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
    holder = _job_holder()
    job: CompareJob | None = holder["job"]
    go_col, stop_col = st.columns([1, 1])
    if go_col.button(
        "Run the comparison",
        type="primary",
        disabled=None in configs.values() or bool(job and job.running),
        key="cmp_run",
    ):
        session_runner().pause(wait=True)  # one training thread per tab
        if job:
            job.cancel()
        holder["job"] = job = CompareJob(configs, seeds, steps)
    if job and job.running and stop_col.button("Cancel", key="cmp_cancel"):
        job.cancel()

    @st.fragment(run_every=0.5 if job and job.running else None)
    def progress():
        if job is None:
            return
        st.progress(min(1.0, job.fraction), text=f"{job.done_steps} of {job.steps * len(job.configs)} iterations")
        if not job.running and job.fraction > 0 and st.session_state.get("cmp_shown") is not job:
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
