"""Explore: phase diagrams of training (core/explore.py). Over a grid of one or two settings with several seeds
per cell, where does training converge, collapse, oscillate, stall or diverge? A diagram is shipped with the dashboard,
uploaded as a result file, or computed here in the background (a `core.exploration_job.ExploreJob`, admitted by the
training slots like any run). Clicking a cell lists its runs; any of them opens on the Train page, ready to start."""

from __future__ import annotations

import io
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import explore as explore_module
from core.config import ConfigError, TrainConfig
from core.data import PLANE_DATASETS
from core.exploration_job import ExploreJob
from core.explore import EVALUATIONS, METRICS, OUTCOMES, SWING, Axis, Exploration, Grid, load, parse_axis
from core.losses import LOSSES
from core.presets import PRESETS

from .. import controls
from ..controls import plain
from ..session import session_training
from .compare import metric_range

SHIPPED = Path(__file__).resolve().parents[1] / "explorations"  # precomputed diagrams, *.npz
MAX_UPLOAD_MB = 16  # an exploration of MAX_RUNS runs is about 1 MB; 16 leaves room and bounds what is read
MAX_PAGE_RUNS = 64  # cells x seeds computed from this page (python -m core explore takes up to 20,000)
STEPS = (100, 3000, 100)  # min, max, step of a run's iterations from this page: ~10-25 s a run here
SEEDS = (1, 8)
DEFAULTS = dict(exp_preset="ring8", exp_x="lr_d=1e-4:1e-2:5log", exp_y="", exp_seeds=2, exp_steps=1000)
REDRAW_S = 2.0  # while an exploration runs, the diagram is redrawn with the runs done at most this often

METRIC_NAMES = {
    "modes_captured": "modes captured",
    "modes_held": "modes held (second half's mean)",
    "high_quality": "high-quality share",
    "reverse_kl": "reverse KL",
    "jsd": "JSD (nats)",
    "d_real": "mean D(x), data",
    "d_fake": "mean D(G(z)), samples",
}
SHORT_NAMES = {  # the metric control's labels
    "modes_captured": "modes captured",
    "modes_held": "modes held",
    "high_quality": "high quality",
    "reverse_kl": "reverse KL",
    "jsd": "JSD",
    "d_real": "D(x)",
    "d_fake": "D(G(z))",
}
LOWER_IS_BETTER = ("reverse_kl", "jsd")  # drawn with the colour scale reversed: bright is good on every map
# One colour per outcome, told apart under the three common colour blindnesses (Okabe and Ito's blue, orange, reddish
# purple and yellow; near-black and a light grey): a cell not done yet stays blank (white).
OUTCOME_COLOURS = {
    "converged": "#0072B2",
    "collapsed": "#E69F00",
    "oscillating": "#CC79A7",
    "stalled": "#F0E442",
    "diverged": "#222222",
    "failed": "#BBBBBB",
}
UNKNOWN_COLOUR = "#7F7F7F"  # a class core/explore.py gained since this page was written
_DEFINITION = re.compile(r"^ {4}([a-z]+) {2,}(\S.*)$")


def outcome_definitions(doc: str | None = explore_module.__doc__) -> dict[str, str]:
    """Each outcome class's definition as core/explore.py's module docstring gives it (the one place it is said,
    so the page stays true to the code), shortened to its first clause: up to a colon, or the end of the entry.
    SWING is written as its value."""
    entries: dict[str, str] = {}
    name = None
    for line in (doc or "").splitlines():
        match = _DEFINITION.match(line)
        if match:
            name = match[1]
            entries[name] = match[2]
        elif name and line.startswith(" " * 8) and line.strip():
            entries[name] += " " + line.strip()
        else:
            name = None
    return {
        name: re.split(r": ", text, maxsplit=1)[0].rstrip(";.").replace("SWING", f"{SWING:.0%}")
        for name, text in entries.items()
    }


def outcome_caption() -> str:
    """The outcome classes under the map, in OUTCOMES' order (a tie between classes goes to the later one)."""
    found = outcome_definitions()
    classes = "; ".join(f"**{name}**: {plain(found.get(name, 'see core/explore.py'))}" for name in OUTCOMES)
    return (
        f"Each run is evaluated at {EVALUATIONS} evenly spaced iterations; its class, from the second half's "
        f"evaluations: {classes}. A cell shows the class of most of its seeds (a tie goes to the later class in this "
        "list); blank: no seed done yet."
    )


@dataclass(frozen=True)
class Shown:
    """The diagram on screen: its exploration and a key naming it (another diagram forgets the cell picked)."""

    result: Exploration
    key: str


# ---- the figures (pure: an Exploration in, a figure out) ---------------------------------------------------------
PLOT_HEIGHT = 440
MAP_WIDTH = 640  # two maps side by side on a 1920 px screen with the sidebar open; stacked on a 1280 px one
_REMOVED = ("zoom", "pan", "select", "lasso", "zoomIn", "zoomOut", "autoScale", "resetScale")
MODEBAR = dict(displaylogo=False, modeBarButtonsToRemove=[f"{name}2d" for name in _REMOVED])  # a PNG, no zoom
PLOT_AREA = (500, 320)  # the heat cells' area (px) at 1920 px wide, for the size of the click targets


def labels(axis: Axis) -> list[str]:
    """The axis's values as tick labels, one per value: 3 significant digits where they tell the values apart,
    else `Axis.labels` (6), else repr (two labels alike would fall into one category)."""
    for shown in ([f"{v:.3g}" if isinstance(v, float) else str(v) for v in axis.values], axis.labels()):
        if len(set(shown)) == len(shown):
            return shown
    return [repr(v) for v in axis.values]


def axis_title(axis: Axis) -> str:
    return f"{axis.name} (log-spaced)" if axis.log else axis.name


def _rows(result: Exploration) -> tuple[list[str], str]:
    """The y axis: y's values, or one row named after the preset for a one-axis grid."""
    y = result.grid.y
    return (labels(y), axis_title(y)) if y else ([result.preset or "base config"], "")


def _where(result: Exploration, row: int, column: int) -> str:
    """A cell's settings in words, e.g. 'lr_d = 0.001, k = 3'."""
    grid = result.grid
    text = f"{grid.x.name} = {labels(grid.x)[column]}"
    return text + (f", {grid.y.name} = {labels(grid.y)[row]}" if grid.y else "")


@lru_cache(maxsize=4096)
def _range(metric: str, config: TrainConfig) -> tuple[float, float]:
    return metric_range("modes_captured" if metric == "modes_held" else metric, config)


def z_range(result: Exploration, metric: str) -> tuple[float | None, float | None]:
    """The colour scale's ends: what the metric can take over every cell's config (0 to the most modes, 0 to 1
    for shares and D's probabilities, ...), so diagrams of one metric compare; None (autoscale) when unbounded."""
    rows, columns, _ = result.grid.shape
    ranges = []
    for row in range(rows):
        for column in range(columns):
            try:
                ranges.append(_range(metric, result.grid.config(row, column, 0)))
            except ConfigError:  # a refused cell: its runs failed, nothing to scale
                continue
    low, high = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else (-math.inf, math.inf)
    return (low if math.isfinite(low) else None), (high if math.isfinite(high) else None)


def _probability(result: Exploration) -> bool:
    """D's outputs are probabilities in every cell: a loss with a classifier, and no axis over the loss."""
    axes = (result.grid.x.name, result.grid.y.name if result.grid.y else "")
    return LOSSES[result.grid.base.loss].probability and "loss" not in axes


def _finish(fig: go.Figure, result: Exploration, title: str, hover: list[list[str]], cell) -> go.Figure:
    """What both maps share. Plotly selects no heatmap cell on a click (Streamlit's click handler takes only
    sunburst and treemap points), so a transparent marker over each cell, as large as the cell, is what is hovered
    and clicked; its point's x and y are the cell's labels. Category axes: a log-spaced axis is evenly spaced in its
    index, its log scale. The cell picked is outlined."""
    rows, y_title = _rows(result)
    columns = labels(result.grid.x)
    size = 0.95 * min(PLOT_AREA[0] / len(columns), PLOT_AREA[1] / len(rows))
    fig.update_traces(hoverinfo="skip", selector=dict(type="heatmap"))
    fig.add_scatter(
        x=[x for _ in rows for x in columns],
        y=[y for y in rows for _ in columns],
        text=[text for line in hover for text in line],
        hovertemplate="%{text}<extra></extra>",
        mode="markers",
        marker=dict(symbol="square", size=size, color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(opacity=1)),
        unselected=dict(marker=dict(opacity=1)),
        showlegend=False,
        name="cells",
    )
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        height=PLOT_HEIGHT,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(type="category", title=axis_title(result.grid.x), showgrid=False, range=[-0.5, len(columns) - 0.5]),
        yaxis=dict(type="category", title=y_title, showgrid=False, range=[-0.5, len(rows) - 0.5]),
        plot_bgcolor="white",
        dragmode=False,  # nothing to pan or zoom: a click picks a cell
        hoverlabel=dict(align="left"),
    )
    if cell is not None:
        row, column = cell
        outline = dict(color="#d62728", width=3)
        fig.add_shape(type="rect", x0=column - 0.5, x1=column + 0.5, y0=row - 0.5, y1=row + 0.5, line=outline)
    return fig


def metric_figure(result: Exploration, metric: str, cell: tuple[int, int] | None = None) -> go.Figure:
    """The mean over the seeds done of `metric` per cell, hover: mean ± std and the seeds done."""
    stats = result.summary()["stats"][metric]
    mean, std = stats["mean"], stats["std"]
    done = (result.outcome >= 0).sum(axis=2)
    seeds = len(result.grid.seeds)
    name = METRIC_NAMES[metric]
    hover = [
        [
            f"{_where(result, r, c)}<br>"
            + (f"{name}: {mean[r, c]:.3g} ± {std[r, c]:.2g}" if done[r, c] else f"{name}: not done yet")
            + f"<br>seeds done: {done[r, c]} of {seeds}"
            for c in range(mean.shape[1])
        ]
        for r in range(mean.shape[0])
    ]
    low, high = z_range(result, metric)
    if metric in ("d_real", "d_fake") and _probability(result):  # D = 1/2 is the equilibrium: a diverging scale
        scale = dict(colorscale="RdBu", zmid=0.5, zmin=0.0, zmax=1.0)
    else:
        scale = dict(colorscale="Viridis", reversescale=metric in LOWER_IS_BETTER, zmin=low, zmax=high)
    heat = go.Heatmap(
        z=mean,
        x=labels(result.grid.x),
        y=_rows(result)[0],
        xgap=1,
        ygap=1,
        colorbar=dict(title=dict(text="mean", side="right"), thickness=14),
        **scale,
    )
    return _finish(go.Figure(heat), result, f"{name}: mean over seeds", hover, cell)


def outcome_figure(result: Exploration, cell: tuple[int, int] | None = None) -> go.Figure:
    """The majority outcome per cell, one colour per class (the legend names them), blank where no seed is done;
    hover: every class's count."""
    majority = result.majority()
    counts = result.summary()["counts"]
    done = (result.outcome >= 0).sum(axis=2)
    n = len(OUTCOMES)
    scale = [
        [edge, OUTCOME_COLOURS.get(name, UNKNOWN_COLOUR)]
        for i, name in enumerate(OUTCOMES)
        for edge in (i / n, (i + 1) / n)
    ]
    hover = [
        [
            f"{_where(result, r, c)}<br>"
            + (f"most seeds: {OUTCOMES[majority[r, c]]}<br>" if majority[r, c] >= 0 else "not done yet<br>")
            + " · ".join(f"{name} {counts[name][r, c]}" for name in OUTCOMES if counts[name][r, c])
            + f"<br>seeds done: {done[r, c]} of {len(result.grid.seeds)}"
            for c in range(majority.shape[1])
        ]
        for r in range(majority.shape[0])
    ]
    heat = go.Heatmap(
        z=np.where(majority >= 0, majority, np.nan),
        x=labels(result.grid.x),
        y=_rows(result)[0],
        colorscale=scale,
        zmin=-0.5,
        zmax=n - 0.5,
        showscale=False,
        xgap=1,
        ygap=1,
    )
    fig = go.Figure(heat)
    for name in OUTCOMES:  # the legend: one square per class
        square = dict(symbol="square", size=13, color=OUTCOME_COLOURS.get(name, UNKNOWN_COLOUR))
        fig.add_scatter(x=[None], y=[None], mode="markers", name=name, marker=square, hoverinfo="skip")
    fig.update_layout(legend=dict(x=1.02, xanchor="left", y=0.5, yanchor="middle", title=dict(text="outcome")))
    return _finish(fig, result, "outcome: the class of most seeds", hover, cell)


def describe(result: Exploration) -> str:
    """One line on the diagram (Markdown; a file's preset name goes through `plain`)."""
    grid = result.grid
    axes = [f"{grid.x.name} across ({len(grid.x.values)} values{', log-spaced' if grid.x.log else ''})"]
    if grid.y:
        axes.append(f"{grid.y.name} down ({len(grid.y.values)} values{', log-spaced' if grid.y.log else ''})")
    preset = f"preset {plain(result.preset)}" if result.preset else "its own base config"
    return (
        f"From {preset}: {' and '.join(axes)}, {len(grid.seeds)} seed{'s' if len(grid.seeds) > 1 else ''} per cell, "
        f"{grid.steps:,} iterations each; {result.done} of {len(grid.runs())} runs done."
    )


# ---- where a diagram comes from ------------------------------------------------------------------------------
FIRST_SHIPPED = "ring8-learning-rates"  # shown first: the diagram behind "GANs are sensitive to hyperparameters"


def shipped_files() -> list[Path]:
    files = SHIPPED.glob("*.npz") if SHIPPED.is_dir() else ()
    return sorted(files, key=lambda path: (path.stem != FIRST_SHIPPED, path.stem))


@st.cache_resource(max_entries=16, show_spinner=False)
def _read_shipped(path: str, mtime: float) -> Exploration:
    """A shipped file, read once per server (and again when it changes): never written to, an ExploreJob copies."""
    return load(path)


def _shipped() -> Shown | None:
    files = {path.stem: path for path in shipped_files()}
    name = st.selectbox("Diagram", list(files), key="exp_shipped")
    if name is None:
        return None
    path = files[name]
    try:
        return Shown(_read_shipped(str(path), path.stat().st_mtime), f"shipped:{name}")
    except (OSError, ValueError) as error:  # a file replaced by something else since
        st.error(f"Not loaded ({plain(path.name)}): {plain(error)}")
        return None


def read_upload(name: str, data: bytes) -> Exploration | str:
    """An uploaded result file, or why it was refused (plain text: the reason may quote the file)."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        return f"Not loaded ({plain(name)}): larger than {MAX_UPLOAD_MB} MB."
    try:
        return load(io.BytesIO(data))
    except ValueError as error:  # ConfigError included: a setting the file's config gets wrong
        return f"Not loaded ({plain(name)}): {plain(error)}"


def _uploaded() -> Shown | None:
    upload = st.file_uploader(
        "Result file (.npz from python -m core explore, or downloaded here)",
        type=["npz"],
        max_upload_size=MAX_UPLOAD_MB,
        key="exp_upload",
    )
    if upload is None:
        return None
    cached = st.session_state.get("exp_uploaded")
    if cached is None or cached[0] != upload.file_id:  # read once per file, not on every rerun
        cached = (upload.file_id, read_upload(upload.name, upload.getvalue()))
        st.session_state["exp_uploaded"] = cached
    result = cached[1]
    if isinstance(result, str):
        st.error(result)
        return None
    return Shown(result, f"upload:{upload.file_id}")


def new_grid(preset: str, x: str, y: str, seeds: int, steps: int) -> Grid | str:
    """The grid the inputs describe, or what is wrong with them in one line of plain text."""
    try:
        x_axis = parse_axis(x)
    except ValueError as error:
        return f"x axis: {plain(error)}"
    try:
        y_axis = parse_axis(y) if y.strip() else None
    except ValueError as error:
        return f"y axis: {plain(error)}"
    try:
        grid = Grid(PRESETS[preset].config, x_axis, y_axis, tuple(range(seeds)), steps)
    except ValueError as error:
        return plain(error)
    runs = math.prod(grid.shape)
    if runs > MAX_PAGE_RUNS:
        return f"{runs} runs (cells × seeds): at most {MAX_PAGE_RUNS} from this page; python -m core explore runs more."
    return grid


def _inputs() -> Grid | str:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    left, middle, right = st.columns([2, 3, 3])
    left.selectbox("Preset (the base config)", list(PRESETS), key="exp_preset")
    middle.text_input("x axis", key="exp_x", help="setting=lo:hi:N, lo:hi:Nlog (log-spaced) or v1,v2,... e.g. k=1,2,5")
    right.text_input("y axis (optional)", key="exp_y", placeholder="e.g. lr_g=1e-4:1e-2:4log", help="the same forms")
    left, middle, _ = st.columns([2, 3, 3])
    left.number_input("Seeds per cell", min_value=SEEDS[0], max_value=SEEDS[1], step=1, key="exp_seeds")
    middle.number_input("Iterations per run", min_value=STEPS[0], max_value=STEPS[1], step=STEPS[2], key="exp_steps")
    state = st.session_state
    return new_grid(
        state["exp_preset"], state["exp_x"], state["exp_y"], int(state["exp_seeds"]), int(state["exp_steps"])
    )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def progress_text(job: ExploreJob) -> str:
    """'3 of 10 runs · 4.1 runs/min · about 1 min 42 s left', or what the job waits for."""
    text = f"{job.done} of {job.total} runs"
    if job.cancelling:
        return f"{text} · cancelling"
    rate, eta = job.runs_per_minute(), job.eta_seconds()
    if job.state == "stopped":
        return text + (" · done" if job.error is None else f" · stopped ({plain(job.error)})")
    if rate is None or eta is None:
        return f"{text} · timing the first run"
    return f"{text} · {rate:.1f} runs/min · about {_duration(eta)} left"


def _progress(job: ExploreJob) -> None:
    """The job's progress, refreshed every 0.5 s while it trains; the page redraws the diagram as runs finish."""
    owner = session_training()

    @st.fragment(run_every=0.5 if job.state != "stopped" else None)
    def progress() -> None:
        place = owner.waiting("explore")  # asks for a slot again: one freed since starts the job now
        if place:
            st.info(
                f"Waiting for a training slot: place {place} in line. This server trains at most "
                f"{owner.slots.capacity} run{'s' if owner.slots.capacity > 1 else ''} at once "
                f"({owner.slots.running()} training now); the exploration starts by itself when one is free."
            )
        st.progress(min(1.0, job.fraction), text=progress_text(job))
        drawn, at = st.session_state["exp_drawn"]
        if drawn != (id(job), job.done, job.state) and (job.state == "stopped" or time.monotonic() - at > REDRAW_S):
            st.rerun()  # the whole page: the diagram with the runs done since

    st.session_state["exp_drawn"] = ((id(job), job.done, job.state), time.monotonic())  # what this run draws
    progress()


def _new() -> Shown | None:
    """New exploration: the inputs, Start / Cancel, the job's progress and, once it stopped, its file."""
    owner = session_training()
    grid = _inputs()
    job = owner.explore_job
    if isinstance(grid, str):
        st.error(grid)
    else:
        runs = math.prod(grid.shape)
        st.caption(f"{runs} run{'s' if runs > 1 else ''} of {grid.steps:,} iterations (at most {MAX_PAGE_RUNS}).")
    buttons = st.container(horizontal=True)
    busy = bool(job and job.state != "stopped")
    start = buttons.button("Start", type="primary", disabled=isinstance(grid, str) or busy, key="exp_start")
    if start and not isinstance(grid, str):  # a disabled button is never clicked; the check is for the type
        job = ExploreJob(Exploration(grid, st.session_state["exp_preset"]))
        owner.explore(job)  # the session's runs pause; the job starts once a training slot is free
    if job and job.state != "stopped" and buttons.button("Cancel", key="exp_cancel"):
        owner.cancel_job("cancelled", "explore")
    if job is None:
        return None
    _progress(job)
    if job.state == "stopped":
        buttons.download_button(
            "Download the result (.npz)",
            job.snapshot.to_bytes(),
            file_name="minimax-explore.npz",
            mime="application/octet-stream",
            key="exp_download",
            on_click="ignore",
        )
    return Shown(job.snapshot, f"job:{id(job)}")


SOURCES: dict[str, Callable[[], Shown | None]] = {
    "Shipped diagrams": _shipped,
    "A result file": _uploaded,
    "New exploration": _new,
}


# ---- a cell's runs, and opening one on the Train page ------------------------------------------------------------
def _pick(key: str, result: Exploration, chart: str) -> None:
    """A click on a chart (its selection changed): the cell under it becomes the one picked."""
    points = st.session_state[chart].selection.points
    cell = cell_of(points[0], result) if points else None
    if cell is not None:
        st.session_state["exp_cell"] = (key, *cell)


def cell_of(point: dict, result: Exploration) -> tuple[int, int] | None:
    """(row, column) of a clicked heatmap point from its x and y labels (None for anything else)."""
    columns, (rows, _) = labels(result.grid.x), _rows(result)
    x, y = str(point.get("x")), str(point.get("y"))
    if x in columns and y in rows:
        return rows.index(y), columns.index(x)
    return None


def open_on_train(config: TrainConfig, preset: str, train: st.Page | None, note: str | None = None) -> None:
    """This run on the board, from iteration 0 and paused: the board's runner loads the config, the Train page's
    widgets are re-read from it (`resync`), the scene is the exploration's preset, and the Train page opens with
    the link to that config, so the widgets, the runner and the URL say the same. `note`: where it came from."""
    scene = preset if preset in PRESETS else None
    session_training().board().load(config)
    st.session_state["preset"] = scene or controls.NO_PRESET
    st.session_state["resync"] = True
    note = note or f"From Explore: seed {config.seed} of this cell."
    controls.notify(f"{note} From iteration 0: press Start to train it.")
    if train is not None:
        st.switch_page(train, query_params=controls.url_params(config, scene))


def _cell(result: Exploration, row: int, column: int, train: st.Page | None) -> None:
    """The cell's runs (seed, outcome, metrics) and a button per seed that opens it on the Train page."""
    grid = result.grid
    st.markdown(f"**Cell {_where(result, row, column)}**: its runs")
    rows = [run_row(result, row, column, k) for k in range(len(grid.seeds))]
    st.dataframe(rows, hide_index=True, key="exp_runs")
    buttons = st.container(horizontal=True)
    for k, seed in enumerate(grid.seeds):
        try:
            config = grid.config(row, column, k)
        except ConfigError as error:
            st.caption(f"This cell's settings are refused together ({plain(error)}): nothing to open.")
            return
        if config.dataset not in PLANE_DATASETS:
            st.caption("The Train page draws a plane's data set; this run is the Theory page's 1-D one.")
            return
        if buttons.button(f"Open seed {seed} on Train", key=f"exp_open_{k}"):
            open_on_train(config, result.preset, train)


def run_row(result: Exploration, row: int, column: int, k: int) -> dict:
    """One run of a cell as the table lists it (a number not measured is left empty)."""
    code = int(result.outcome[row, column, k])
    diverged = code == OUTCOMES.index("diverged")
    return dict(
        seed=result.grid.seeds[k],
        outcome=OUTCOMES[code] if code >= 0 else "not done",
        **{METRIC_NAMES[m]: _number(result.values[m][row, column, k]) for m in METRICS},
        diverged_at=int(result.diverged_at[row, column, k]) if diverged else None,
        seconds=_number(result.values["seconds"][row, column, k]),
        message=str(result.message[row, column, k]),
    )


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ---- the page ----------------------------------------------------------------------------------------------------
def show_diagram(shown: Shown, train: st.Page | None) -> None:
    """The metric's heatmap and the outcome map side by side; a click on either picks a cell, listed below."""
    result = shown.result
    st.caption(describe(result))
    st.session_state.setdefault("exp_metric", METRICS[0])
    metric = st.segmented_control("Metric", list(METRICS), format_func=SHORT_NAMES.get, key="exp_metric", required=True)
    picked = st.session_state.get("exp_cell")
    cell = picked[1:] if picked and picked[0] == shown.key else None
    maps = st.container(horizontal=True, gap="large")  # side by side when the page is wide enough, else stacked
    metric_caption = (
        "Each cell: the mean over its seeds done (blank: no number yet, or every seed diverged or failed); hover "
        "for mean ± std. Click a cell on either map to list its runs."
    )
    for name, figure, caption in (
        ("exp_chart_metric", metric_figure(result, metric, cell), metric_caption),
        ("exp_chart_outcome", outcome_figure(result, cell), outcome_caption()),
    ):
        box = maps.container(width=MAP_WIDTH)
        pick = partial(_pick, shown.key, result, name)
        box.plotly_chart(figure, key=name, on_select=pick, selection_mode="points", width="stretch", config=MODEBAR)
        box.caption(caption)
    picked = st.session_state.get("exp_cell")
    if picked and picked[0] == shown.key:
        _cell(result, picked[1], picked[2], train)


def explore_page(train: st.Page | None = None) -> None:
    """`train`: the Train page as the router registered it, where "Open on Train" goes (None: load the run on the
    board and stay)."""
    st.markdown("### Explore: phase diagrams of training")
    st.caption(
        "Where, over a grid of one or two settings, a GAN finds every mode, collapses, oscillates, stalls or "
        "diverges, over several seeds per cell (one run is an anecdote). Each run is trained from its own seed "
        "with the preset's other settings; click a cell for its runs and open any of them on the Train page."
    )
    sources = [name for name in SOURCES if name != "Shipped diagrams" or shipped_files()]
    st.session_state.setdefault("exp_source", sources[0])
    if st.session_state["exp_source"] not in sources:
        st.session_state["exp_source"] = sources[0]
    source = st.radio("Source", sources, key="exp_source", horizontal=True, label_visibility="collapsed")
    shown = SOURCES[source]()
    if shown is not None:
        show_diagram(shown, train)
