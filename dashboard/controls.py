"""The sidebar: widgets <-> the session runner's TrainConfig, presets, and the config in the URL.

Every widget writes one setting through `runner.update`, so the page, the CLI and the tests share one
validation. Widget keys are "w_<setting>"; their values are re-read from the runner after every change,
so a change that brings others along (a new data set brings its own defaults) shows them at once.
"""

from __future__ import annotations

import math

import streamlit as st

from core.config import FIELDS, TYPES, ConfigError, TrainConfig, coerce, discriminator_fields, validate
from core.data import PLANE_DATASETS
from core.export import run_archive
from core.losses import LOSSES
from core.models import ACTIVATIONS, LATENTS
from core.presets import PRESETS
from core.remedies import MINIBATCH, MINIBATCH_LABELS, REMEDIES
from core.runner import DIVERGED, IDLE, PAUSED, RUNNING, Runner, live_runners
from core.slots import TrainingSlots

LEARNING_RATES = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048]
WIDTHS = [4, 8, 16, 32, 64, 128, 256, 512]
STDS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
CLIPS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BETA2S = [0.9, 0.99, 0.999, 0.9999]
AVERAGING_WEIGHTS = [0.0, 0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0]
REMEDY_WIDGETS = (
    "feature_matching",
    "minibatch_discrimination",
    "historical_averaging",
    "unrolled",
    "pack",
    "spectral_norm",
)
REFRESH_S = [0.05, 0.1, 0.2, 0.5, 1.0]
NO_PRESET = "(your own settings)"


def key(field: str) -> str:
    return f"w_{field}"


def notify(message: str, kind: str = "info") -> None:
    st.session_state.setdefault("notices", []).append((kind, message))


def show_notices(where=st) -> None:
    for kind, message in st.session_state.pop("notices", []):
        getattr(where, kind)(message)


def sync_widgets(config: TrainConfig) -> None:
    """Put the config's values into the widgets' state (call before the widgets are drawn)."""
    for name in FIELDS:
        st.session_state[key(name)] = getattr(config, name)
    st.session_state[key("grid_side")] = round(math.sqrt(config.modes)) if config.dataset == "grid" else 5
    st.session_state["w_components_rows"] = [dict(x=r[0], y=r[1], std=r[2], weight=r[3]) for r in config.components]


def apply(runner: Runner, preset: str | None = None, **changes) -> None:
    """One change from the page: validated by core, applied by the runner, and said when it rebuilds.
    The widgets are re-read from the runner on the next run (they may not be written once drawn)."""
    if "loss" in changes and not LOSSES[changes["loss"]].targets and runner.config.label_smoothing > 0:
        changes["label_smoothing"] = 0.0
        notify(f"Label smoothing set to 0: the {changes['loss']} loss has no targets to smooth.")
    try:
        rebuilt = runner.update(**changes)
    except ConfigError as error:
        notify(f"Not applied: {error.field.replace('_', ' ')} {error.message}.", "warning")
    else:
        if rebuilt:
            notify(
                f"New {', '.join(f.replace('_', ' ') for f in rebuilt)}: the networks were rebuilt and the run "
                "restarted from iteration 0."
            )
        elif discriminator_fields(changes):
            notify(
                f"New {', '.join(f.replace('_', ' ') for f in discriminator_fields(changes))}: D has a new "
                "shape, so a fresh D was built; G keeps its weights and training goes on."
            )
        st.session_state["preset_pending"] = preset or NO_PRESET
    st.session_state["resync"] = True


def _on_change(runner: Runner, field: str) -> None:
    value = st.session_state[key(field)]
    if field == "grid_side":
        field, value = "modes", int(value) ** 2
    apply(runner, **{field: value})


def _load_preset(runner: Runner) -> None:
    name = st.session_state["preset"]
    if name != NO_PRESET:
        apply(runner, preset=name, **runner.config.changed(PRESETS[name].config))


def widget(runner: Runner, kind, field: str, label: str, where=st, **kwargs):
    """A widget bound to one setting; its tooltip is the setting's one-line theory from TrainConfig."""
    return getattr(where, kind)(
        label,
        key=key(field),
        help=FIELDS[field].metadata["help"] if field in FIELDS else kwargs.pop("help_text", None),
        on_change=_on_change,
        args=(runner, field),
        **kwargs,
    )


def _options(values, current):
    return sorted(set(values) | {current})


def _fmt(v) -> str:
    return f"{v:g}"


def run_buttons(runner: Runner, slots: TrainingSlots) -> None:
    state = runner.state
    queued = st.session_state.get("queued", False)
    label = (
        "Cancel waiting"
        if queued
        else {IDLE: "Start", RUNNING: "Pause", PAUSED: "Resume", DIVERGED: "Resume"}.get(state, "Start")
    )
    left, right = st.columns(2)
    if left.button(
        label,
        type="primary",
        width="stretch",
        key="run_button",
        help="Start or pause training. Every setting below can change while it trains.",
    ):
        if queued:
            slots.cancel(runner)
            st.session_state["queued"] = False
        elif state == RUNNING:
            runner.pause(wait=True)
        else:
            position = slots.request(runner)
            st.session_state["queued"] = position > 0
            if position:
                notify(
                    f"Every training slot of this server is busy: you are number {position} in line. "
                    "Training starts by itself when a slot frees up.",
                    "warning",
                )
        st.rerun()
    if right.button(
        "Reset",
        width="stretch",
        key="reset_button",
        help="Back to iteration 0: fresh networks from the same seed and settings.",
    ):
        slots.cancel(runner)
        st.session_state["queued"] = False
        runner.reset()
        runner.wait_parked(10)
        st.rerun()
    st.caption("Step while paused, as in GAN Lab:")
    d, g, both = st.columns(3)
    stepping = state != RUNNING and not queued
    for column, kind, text, tip in (
        (d, "d", "D step", "One update of the discriminator."),
        (g, "g", "G step", "One update of the generator."),
        (both, "iteration", "k·D + G", "One iteration: k updates of D, then one of G."),
    ):
        if column.button(text, key=f"step_{kind}", disabled=not stepping, width="stretch", help=tip):
            runner.step(1, kind, wait=True, timeout=10)
            st.rerun()


def sidebar(runner: Runner, slots: TrainingSlots) -> None:
    config = runner.config
    if st.session_state.pop("resync", "w_loss" not in st.session_state):
        sync_widgets(config)
    if "preset_pending" in st.session_state:
        st.session_state["preset"] = st.session_state.pop("preset_pending")
    with st.sidebar:
        st.markdown("### Minimax")
        run_buttons(runner, slots)
        st.selectbox(
            "Lecture preset",
            [NO_PRESET, *PRESETS],
            key="preset",
            on_change=_load_preset,
            args=(runner,),
            help="A scenario from the lecture: loads its settings and says what to watch.",
        )
        if st.session_state.get("preset", NO_PRESET) != NO_PRESET:
            st.caption(PRESETS[st.session_state["preset"]].watch)

        with st.expander("The game", expanded=True):
            widget(runner, "selectbox", "loss", "Loss", options=list(LOSSES))
            widget(runner, "slider", "k", "k: D steps per G step", min_value=1, max_value=20)
            loss = LOSSES[config.loss]
            widget(
                runner,
                "slider",
                "label_smoothing",
                "One-sided label smoothing ε",
                min_value=0.0,
                max_value=0.5,
                step=0.05,
                disabled=not loss.targets,
            )
            if loss.clip_weights:
                widget(
                    runner,
                    "select_slider",
                    "clip",
                    "Weight clip c",
                    options=_options(CLIPS, config.clip),
                    format_func=_fmt,
                )
            if loss.gradient_penalty:
                widget(runner, "slider", "gp_lambda", "Gradient penalty λ", min_value=0.0, max_value=50.0, step=1.0)

        with st.expander("Optimisation", expanded=True):
            widget(
                runner,
                "select_slider",
                "lr_d",
                "D learning rate",
                options=_options(LEARNING_RATES, config.lr_d),
                format_func=_fmt,
            )
            widget(
                runner,
                "select_slider",
                "lr_g",
                "G learning rate",
                options=_options(LEARNING_RATES, config.lr_g),
                format_func=_fmt,
            )
            widget(
                runner, "select_slider", "batch_size", "Batch size", options=_options(BATCH_SIZES, config.batch_size)
            )
            widget(runner, "radio", "optimizer", "Optimizer", options=["adam", "sgd"], horizontal=True)
            if config.optimizer == "adam":
                widget(runner, "slider", "beta1", "Adam β₁", min_value=0.0, max_value=0.95, step=0.05)
                widget(
                    runner,
                    "select_slider",
                    "beta2",
                    "Adam β₂",
                    options=_options(BETA2S, config.beta2),
                    format_func=_fmt,
                )

        remedies_section(runner)

        with st.expander("Data (rebuilds the run)", expanded=False):
            widget(runner, "radio", "dataset", "Target p_data", options=list(PLANE_DATASETS), horizontal=True)
            if config.dataset == "ring":
                widget(runner, "slider", "modes", "Modes on the ring", min_value=2, max_value=32)
                widget(runner, "slider", "radius", "Radius", min_value=0.5, max_value=5.0, step=0.25)
            elif config.dataset == "grid":
                widget(
                    runner,
                    "slider",
                    "grid_side",
                    "Grid side m (m × m modes)",
                    min_value=2,
                    max_value=7,
                    help_text="m x m Gaussians on a square lattice (PacGAN's benchmark is 5 x 5).",
                )
                widget(runner, "slider", "spacing", "Spacing", min_value=0.5, max_value=4.0, step=0.25)
            if config.dataset in ("ring", "grid"):
                widget(
                    runner,
                    "select_slider",
                    "std",
                    "Std of each mode",
                    options=_options(STDS, config.std),
                    format_func=_fmt,
                )
            custom_editor(runner)

        with st.expander("Networks (rebuilds the run)", expanded=False):
            widget(
                runner, "select_slider", "hidden", "Width (units per layer)", options=_options(WIDTHS, config.hidden)
            )
            widget(runner, "slider", "depth", "Hidden layers", min_value=1, max_value=6)
            widget(runner, "selectbox", "activation", "Activation", options=list(ACTIVATIONS))
            widget(runner, "slider", "latent_dim", "Noise dimension", min_value=1, max_value=64)
            widget(runner, "radio", "latent", "Noise distribution", options=list(LATENTS), horizontal=True)
            widget(runner, "number_input", "seed", "Seed", min_value=0, max_value=2**31 - 1, step=1)

        def archive() -> bytes:  # built on click, on its own thread: a snapshot is immutable, so that is safe
            snap = runner.snapshot(touch=False)
            return run_archive(snap.config, snap.samples, snap.history, snap.eval_history)

        st.download_button(
            "Download this run (.npz)",
            data=archive,
            file_name="minimax-run.npz",
            mime="application/octet-stream",
            width="stretch",
            on_click="ignore",
            key="download",
            help="Config, curves and the samples on screen, no pickle inside: "
            "`python -m core evaluate minimax-run.npz` scores them.",
        )
        with st.expander("View", expanded=False):
            st.select_slider(
                "Refresh every (s)",
                options=REFRESH_S,
                key="refresh",
                value=0.1,
                help="How often the page fetches a new frame while training; slower leaves more CPU to training.",
            )
        show_notices(st.sidebar)
        st.caption(
            f"Server: {slots.running()} of {slots.capacity} training slot(s) in use; {len(live_runners())} run(s) open."
        )


def remedies_section(runner: Runner) -> None:
    """The remedies for mode collapse, all live: D-shape ones (packing, minibatch layer) give a fresh D
    while G keeps its weights."""
    config = runner.config
    on = [r.title for r in REMEDIES.values() if r.active(config) and r.settings[0] in REMEDY_WIDGETS]
    with st.expander(f"Remedies ({len(on)} on)" if on else "Remedies", expanded=bool(on)):
        widget(runner, "slider", "feature_matching", "Feature matching W", min_value=0.0, max_value=1.0, step=0.05)
        widget(runner, "toggle", "minibatch_discrimination", "Minibatch discrimination")
        if config.minibatch_discrimination:
            widget(
                runner,
                "radio",
                "minibatch_kind",
                "Minibatch layer",
                options=list(MINIBATCH),
                horizontal=True,
                format_func=MINIBATCH_LABELS.get,
            )
        widget(
            runner,
            "select_slider",
            "historical_averaging",
            "Historical averaging λ",
            options=_options(AVERAGING_WEIGHTS, config.historical_averaging),
            format_func=_fmt,
        )
        widget(runner, "slider", "unrolled", "Unrolled steps K", min_value=0, max_value=10)
        widget(runner, "slider", "pack", "Packing m (samples per D input)", min_value=1, max_value=4)
        widget(runner, "toggle", "spectral_norm", "Spectral norm on D")
        st.caption(
            "Packing, the minibatch layer and spectral norm give D a new shape: a fresh D is built and G "
            "keeps its weights. Also remedies, set above: k D-steps, one-sided label smoothing and separate "
            "learning rates for D and G (TTUR)."
        )


def custom_editor(runner: Runner) -> None:
    """Any mixture: an editable table, validated by core before it replaces the data set. Clicking on the
    p_data view adds a mode too."""
    st.caption("Custom mixture: edit the rows, then use it (or click on the p_g vs p_data view to add a mode).")
    rows = st.session_state.get("w_components_rows") or [
        dict(x=float(m[0]), y=float(m[1]), std=0.1, weight=1.0) for m in runner.snapshot(touch=False).modes
    ]
    table = st.data_editor(
        rows,
        num_rows="dynamic",
        key="components_table",
        width="stretch",
        column_config={
            "std": st.column_config.NumberColumn(min_value=0.0),
            "weight": st.column_config.NumberColumn(min_value=0.0),
        },
    )
    if st.button(
        "Use this mixture",
        key="use_custom",
        width="stretch",
        help="Train on the table's components (x, y, std, weight).",
    ):
        try:
            components = tuple(
                (float(r["x"]), float(r["y"]), float(r["std"]), float(r["weight"]))
                for r in table
                if any(r.get(c) is not None for c in ("x", "y", "std", "weight"))
            )
        except (TypeError, ValueError):
            notify("Not applied: every row needs numbers for x, y, std and weight.", "warning")
            return
        apply(runner, dataset="custom", components=components)
        st.rerun()


def add_mode(runner: Runner, x: float, y: float) -> None:
    """A click on the p_data view: the current modes plus one at (x, y), as a custom mixture."""
    config, snap = runner.config, runner.snapshot(touch=False)
    rows = (
        list(config.components)
        if config.dataset == "custom"
        else [(float(m[0]), float(m[1]), config.std, 1.0) for m in snap.modes]
    )
    apply(runner, dataset="custom", components=(*rows, (round(x, 3), round(y, 3), rows[0][2] if rows else 0.1, 1.0)))


# ---- the config in the URL ---------------------------------------------------------------------------------
def _encode(name: str, value) -> str:
    if name == "components":
        return ";".join(",".join(f"{v:g}" for v in row) for row in value)
    return f"{value:g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


def config_from_url(params: dict) -> TrainConfig:
    """The config a shared link describes. Unknown keys and bad values are ignored, numbers out of range
    are clamped into it; each is said in a notice. Never raises."""
    config, notes = TrainConfig(), []
    if params.get("preset") in PRESETS:
        config = PRESETS[params["preset"]].config
    elif "preset" in params:
        notes.append(f"unknown preset {params['preset']!r} ignored")
    for name, raw in params.items():
        if name == "preset":
            continue
        if name not in FIELDS or name == "steps":
            notes.append(f"unknown setting {name!r} ignored")
            continue
        try:
            value = raw
            if name == "components":
                value = [row.split(",") for row in str(raw).split(";") if row]
            value = coerce(name, value)
            meta = FIELDS[name].metadata
            if meta["low"] is not None and TYPES[name] in (int, float) and not meta["low"] <= value <= meta["high"]:
                clamped = min(max(value, meta["low"]), meta["high"])
                notes.append(f"{name} = {raw} is out of range; using {clamped:g}")
                value = clamped
            config = validate(config.replace(**{name: value}))
        except ConfigError as error:
            notes.append(f"{name} = {raw!r} ignored: {error.message}")
    if config.dataset not in PLANE_DATASETS:
        notes.append(f"dataset {config.dataset!r} is the Theory page's 1-D run; the board keeps the ring")
        config = config.replace(dataset="ring")
    if notes:
        notify("From the link: " + "; ".join(notes) + ".", "warning")
    return config


def config_to_url(config: TrainConfig) -> None:
    """Mirror the settings that differ from the defaults into the URL, so the page can be bookmarked."""
    default = TrainConfig()
    wanted = {
        name: _encode(name, value)
        for name, value in default.changed(config).items()
        if name not in ("steps", "eval_every")
    }
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)
