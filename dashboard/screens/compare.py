"""Compare: two configurations over several seeds each, trained in the background, as mean ± std."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from scipy.stats import ttest_ind

from core.comparison import CompareJob
from core.config import ConfigError, TrainConfig
from core.data import mixture_for
from core.losses import LOSSES
from core.presets import PRESETS
from core.sweep import METRICS, SweepResult

from ..controls import LEARNING_RATES, plain
from ..session import session_training

# Two colours that mean nothing else on the board. The Train page's green and purple are D's "real" and
# "generated", its orange G's samples (and the oranges and browns of p_g's density), lavender p_data, blues the
# manifold, the mode shares and the modes-captured curve, red the high-quality share, grey and black the data
# and the samples on D's surface. Okabe and Ito's palette has nothing left: its bluish green, vermillion, blue
# and sky blue are within 7 CIEDE2000 units of the board's green, orange and blues, its orange is an orange,
# reddish purple a purple (13 from D's surface), black taken, and yellow on white has a contrast of 1.3:1.
# Ochre and wine are at least 25 units from every colour on the Train and Theory pages, stay at least 35 apart
# from each other under simulated protanopia, deuteranopia and tritanopia (Machado et al. 2009), and have
# 3.4:1 and 15:1 contrast on white. A is dashed besides, so the pair reads without colour too.
COLOURS = {"A": "#aa8800", "B": "#550033"}
DASHES = {"A": "dash", "B": "solid"}
SHOWN = {
    "modes_captured": "modes captured",
    "high_quality": "high-quality share",
    "jsd": "JSD (nats)",
    "reverse_kl": "reverse KL",
    "d_real": "mean D(x), data",
    "d_fake": "mean D(G(z)), samples",
}
# The default comparison: the paper's section 3 remark as an experiment. The same discriminator for both, five
# steps of it per step of G (the strong-discriminator preset: k 5, lr_D 5e-4), and G either minimising
# log(1 - D(G(z))) (A, the minimax loss, which saturates once D rejects the samples) or maximising log D(G(z))
# (B); only the loss differs. Over seeds 0-5 here B ends 300 iterations ahead on both stated metrics, by more
# than 6 standard errors, in about 35 s (README, the Compare page); the line under the charts says each time.
DEFAULTS = {"A": ("strong-discriminator", "minimax"), "B": ("strong-discriminator", "nonsaturating")}
DEFAULT_SEEDS, DEFAULT_STEPS = 6, 300
STEPS = [100, 200, 300, 500, 1000, 2000, 4000, 6000]
# each final metric stated under the charts, and whether more is better
STATED = {"modes_captured": ("modes captured", True, 2), "jsd": ("JSD", False, 3)}


def _settings(name: str, preset: str, config: TrainConfig) -> dict:
    """The side's widget values for `preset` with `config`'s loss, k and D learning rate."""
    return {
        f"cmp_preset_{name}": preset,
        f"cmp_loss_{name}": config.loss,
        f"cmp_k_{name}": config.k,
        f"cmp_lrd_{name}": config.lr_d,
    }


def _load_preset(name: str) -> None:
    """A preset picked brings its own loss, k and D learning rate (the widgets keep their values otherwise)."""
    preset = st.session_state[f"cmp_preset_{name}"]
    st.session_state.update(_settings(name, preset, PRESETS[preset].config))


def _side(name: str, column) -> TrainConfig | None:
    preset, loss = DEFAULTS[name]
    for key, value in _settings(name, preset, PRESETS[preset].config.replace(loss=loss)).items():
        st.session_state.setdefault(key, value)  # the widgets below take their values from here
    with column:
        st.markdown(f"**Configuration {name}**")
        preset = st.selectbox("Preset", list(PRESETS), key=f"cmp_preset_{name}", on_change=_load_preset, args=(name,))
        base = PRESETS[preset].config
        loss = st.selectbox("Loss", list(LOSSES), key=f"cmp_loss_{name}")
        k = st.slider("k", 1, 20, key=f"cmp_k_{name}")
        lr_d = st.select_slider(
            "D learning rate",
            sorted(set(LEARNING_RATES) | {base.lr_d, st.session_state[f"cmp_lrd_{name}"]}),
            format_func=lambda v: f"{v:g}",
            key=f"cmp_lrd_{name}",
        )
        try:
            return base.replace(loss=loss, k=k, lr_d=lr_d)  # a loss without targets brings label smoothing 0
        except ConfigError as error:
            st.warning(f"Configuration {name}: {plain(error)}")  # a ConfigError echoes values
            return None


def describe(config: TrainConfig, prefer: str | None = None) -> str:
    """The configuration in a few words: the preset it is (`prefer` first, if it fits) with the three settings
    the page changes, e.g. 'minimax-saturates (loss minimax, k 5, lr_D 0.002)'."""

    def fits(name: str) -> bool:
        try:
            return PRESETS[name].config.replace(loss=config.loss, k=config.k, lr_d=config.lr_d) == config
        except ConfigError:
            return False

    names = ([prefer] if prefer in PRESETS else []) + list(PRESETS)
    preset = next((name for name in names if fits(name)), "own settings")
    return f"{preset} (loss {config.loss}, k {config.k}, lr_D {config.lr_d:g})"


def metric_range(metric: str, config: TrainConfig) -> tuple[float, float]:
    """The values `metric` can take for `config`: 0 to its mixture's number of modes for modes captured, 0 to 1
    for shares and D's probabilities, 0 to log 2 for the JSD, 0 to log(1 / the least mode weight) for the reverse
    KL (all of G's mass on that mode); a critic's scores and the losses are unbounded."""
    mixture = mixture_for(config).modal  # the modes the metrics count
    if metric == "modes_captured":
        return 0.0, float(mixture.n_modes)
    if metric == "high_quality" or (metric in ("d_real", "d_fake") and LOSSES[config.loss].probability):
        return 0.0, 1.0
    if metric == "jsd":
        return 0.0, math.log(2)
    if metric == "reverse_kl":
        least = float(mixture.weights.min())
        return 0.0, -math.log(least) if least > 0 else math.inf
    return -math.inf, math.inf


def band(values: np.ndarray, bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds (the columns) and the band mean ± one standard deviation, clipped to `bounds`: a
    mean of 0.5 modes with a standard deviation of 0.6 is not evidence of -0.1 modes."""
    mean = values.mean(1)
    std = values.std(1, ddof=1) if values.shape[1] > 1 else np.zeros(len(mean))
    return mean, np.clip(mean - std, *bounds), np.clip(mean + std, *bounds)


def _band_chart(
    metric: str, results: dict[str, SweepResult], labels: dict[str, str], configs: dict[str, TrainConfig]
) -> go.Figure:
    fig = go.Figure()
    for name, result in results.items():
        x = result.curves["iteration"]
        mean, low, high = band(result.curves[metric], metric_range(metric, configs[name]))
        fig.add_scatter(
            x=np.r_[x, x[::-1]],
            y=np.r_[high, low[::-1]],
            fill="toself",
            fillcolor=COLOURS[name],
            opacity=0.18,
            line=dict(width=0),
            hoverinfo="skip",
            showlegend=False,
            legendgroup=name,
        )
        fig.add_scatter(
            x=x,
            y=mean,
            name=labels[name],
            legendgroup=name,
            line=dict(color=COLOURS[name], width=2.5, dash=DASHES[name]),
        )
    fig.update_layout(
        title=SHOWN[metric],
        height=320,
        margin=dict(l=40, r=10, t=40, b=30),
        legend=dict(orientation="h", y=-0.22, font=dict(size=11)),
        xaxis_title="iteration",
    )
    return fig


@dataclass(frozen=True)
class Difference:
    """Two groups of final values (one per seed): each mean with its standard error, B - A with the standard
    error of the difference, and Welch's t-test (unequal variances) on it."""

    mean_a: float
    se_a: float
    mean_b: float
    se_b: float
    n_a: int
    n_b: int
    p: float  # two-sided; nan when there is no spread to test

    @property
    def diff(self) -> float:
        return self.mean_b - self.mean_a

    @property
    def se(self) -> float:
        return math.hypot(self.se_a, self.se_b)

    @property
    def significant(self) -> bool:
        return self.p < 0.05


def difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    se = lambda v: float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
    spread = len(x) > 1 and len(y) > 1 and not (np.allclose(x, x[0], 0, 1e-12) and np.allclose(y, y[0], 0, 1e-12))
    p = float(ttest_ind(y, x, equal_var=False).pvalue) if spread else math.nan
    return Difference(float(x.mean()), se(x), float(y.mean()), se(y), len(x), len(y), p)


def difference_line(what: str, a: Sequence[float], b: Sequence[float], higher_is_better: bool, iteration: int,
                    digits: int = 2) -> str:  # fmt: skip
    """One sentence on the final values of A and B (one per seed): which is ahead, by how much, in standard
    errors of the difference, and whether Welch's t-test finds it significant at the 5% level."""
    d, f = difference(a, b), lambda v: f"{v:.{digits}f}"
    seeds = f"{d.n_a} seeds each" if d.n_a == d.n_b else f"{d.n_a} and {d.n_b} seeds"
    text = (
        f"{what[:1].upper()}{what[1:]} at iteration {iteration:,}: B {f(d.mean_b)} ± {f(d.se_b)}, A {f(d.mean_a)} ± "
        f"{f(d.se_a)} (mean ± standard error over {seeds})."
    )
    if abs(d.diff) < 1e-12:  # equal but for rounding
        return f"{text} No difference."
    leader = "B" if (d.diff > 0) == higher_is_better else "A"
    text += f" {leader} is ahead: {f(abs(d.diff))} {'higher' if higher_is_better else 'lower'}"
    if math.isnan(d.p):
        return f"{text}, with no spread over seeds to test it against."
    verdict = (
        "significant at the 5% level" if d.significant else "not significant at the 5% level (more seeds may tell)"
    )
    p = "p < 0.001" if d.p < 0.001 else f"p = {d.p:.2g}"
    return f"{text}, {abs(d.diff) / d.se:.1f} standard errors of the difference; Welch's t-test {p}: {verdict}."


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
        "matrix products), and every curve is the mean over seeds; its shaded band is ± one standard deviation, "
        "cut at what the metric can take (0 to the number of modes, 0 to 1 for shares and D's probabilities, "
        "0 to log 2 for the JSD). The default pits the paper's minimax loss (A) against the non-saturating one "
        "(B), with the same discriminator taking five steps for each of G's."
    )
    left, right = st.columns(2)
    configs = {"A": _side("A", left), "B": _side("B", right)}
    seeds = st.slider("Seeds per configuration", 2, 16, DEFAULT_SEEDS, key="cmp_seeds")
    steps = st.select_slider("Iterations", STEPS, DEFAULT_STEPS, key="cmp_steps")
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
        labels = {
            name: f"{name}: {describe(config, st.session_state.get(f'cmp_preset_{name}'))}"
            for name, config in job.configs.items()
        }
        columns = st.columns(3)
        for i, metric in enumerate(SHOWN):
            chart = _band_chart(metric, job.results, labels, job.configs)
            columns[i % 3].plotly_chart(chart, key=f"cmp_chart_{metric}")
        a, b = job.results["A"], job.results["B"]
        for metric, (what, higher, digits) in STATED.items():
            iteration = int(a.curves["iteration"][-1])
            st.markdown(difference_line(what, a.curves[metric][-1], b.curves[metric][-1], higher, iteration, digits))
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
