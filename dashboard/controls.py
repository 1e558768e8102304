"""The Train page's controls: the sidebar's widgets <-> the session runner's TrainConfig, the scene bar above
the board (Start / Pause, Reset, the lecture's scenes), and the config in the URL.

Every widget writes one setting through `runner.update`, so the page, the CLI and the tests share one
validation. Widget keys are "w_<setting>"; their values are re-read from the runner after every change,
so a change that brings others along (a new data set brings its own defaults) shows them at once.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
import urllib.parse

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.config import (
    FIELDS,
    MAX_COMPONENTS,
    MAX_POINTS,
    MAX_RING_MODES,
    SETTING_NAMES,
    SHOWN_CHARS,
    TYPES,
    ConfigError,
    TrainConfig,
    coerce,
    in_words,
    shown,
    used,
)
from core.data import DATASETS, LINK, PLANE_DATASETS
from core.export import run_archive
from core.losses import LOSSES
from core.models import ACTIVATIONS, INITS, LATENTS, NORMS
from core.presets import PRESETS, SCENES
from core.remedies import MINIBATCH, MINIBATCH_LABELS, REMEDIES
from core.runner import DIVERGED, IDLE, PAUSED, RUNNING, Runner, live_runners
from core.slots import TrainingSlots

from . import frames
from .watch import watch_url

LEARNING_RATES = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048]
WIDTHS = [4, 8, 16, 32, 64, 128, 256, 512]
STDS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
CLIPS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
BETA2S = [0.9, 0.99, 0.999, 0.9999]
G_AVERAGES = [0.0, 0.9, 0.99, 0.995, 0.999, 0.9995, 0.9999]  # g_ema's beta: 0 off, then memories of 10-10,000 G steps
AVERAGING_WEIGHTS = [0.0, 0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0]
GP_LAMBDAS = [0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
# Sliders take their range from the setting's metadata (`widget_range`). The few that deliberately offer less
# are listed here, and a link is clamped to them (`read_url`): Adam's beta1 past 0.95 is a setting for the
# CLI, and a slider to 0.999 in steps of 0.05 could not reach it anyway.
WIDGET_RANGES: dict[str, tuple[float, float]] = {"beta1": (0.0, 0.95)}
RING_MODES = (2, MAX_RING_MODES)  # the ring's own limit (core.config.validate), not the modes field's 2-49
GRID_SIDES = (2, 7)  # m of an m x m grid (core.data: 4 to 49 modes)
REMEDY_WIDGETS = (
    "feature_matching",
    "minibatch_discrimination",
    "historical_averaging",
    "unrolled",
    "pack",
    "spectral_norm",
)
TRAIN_SETS = [0, 1_000, 10_000, 100_000, 1_000_000]  # points of a finite training set; 0: fresh draws of p_data
REFRESH_S = [0.05, 0.1, 0.2, 0.5, 1.0]
SPEEDS = {"max": None, "30": 30.0, "10": 10.0, "2": 2.0}  # the speed control: iterations per second (None: max)
PLAYERS = {"g": "Generator", "d": "Discriminator"}  # the Networks section's two columns: <player>_hidden, ...
# What a notice adds to the changes of a player's shape (core.config.effects), said in words
FRESH_PLAYER = {
    "generator": "G has a new shape, so a fresh G was built; D keeps its weights and training goes on.",
    "discriminator": "D has a new shape, so a fresh D was built; G keeps its weights and training goes on.",
}
NO_PRESET = "(your own settings)"


def key(field: str) -> str:
    return f"w_{field}"


def widget_range(field: str) -> tuple:
    """The one range of a setting's slider: the setting's own (low, high), or WIDGET_RANGES' narrower one."""
    meta = SETTING_NAMES[field].metadata
    return WIDGET_RANGES.get(field, (meta["low"], meta["high"]))


# Streamlit renders st.warning/st.info text as Markdown (GitHub's, plus $LaTeX$, :colour[directives],
# :emoji: and :material/icons:). CommonMark shows any backslash-escaped ASCII punctuation as itself, which
# stops every construct but one: GitHub's autolinks (a bare http://…, www.… or name@host.tld) are found in
# the text after parsing, escapes resolved (StreamlitMarkdown's bundle: /(https?:\/\/|www(?=\.))…/ and
# /([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)/), so an invisible word joiner goes where they need two characters
# side by side.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:@&^/=])")
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=/)|(?<=www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def _span(field_or_range) -> dict:
    """A slider's min_value and max_value: a setting's `widget_range`, or a range given as it is."""
    low, high = widget_range(field_or_range) if isinstance(field_or_range, str) else field_or_range
    return dict(min_value=low, max_value=high)


def plain(text, limit: int = 4 * SHOWN_CHARS) -> str:
    """Untrusted text (a link's keys and values, an error that echoes them) as Markdown that shows exactly
    those characters: every Markdown, LaTeX and directive character backslash-escaped, so no link, image,
    colour, formula, emoji or heading can form; line breaks and invisible control or direction characters
    become spaces (one line, no spoofing); a word joiner keeps bare addresses from becoming links; cut to
    `limit` characters first."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(text))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, text))


def _said(value) -> str:
    """A link's value or key as a notice quotes it: repr, cut to SHOWN_CHARS, as plain text."""
    return plain(shown(value))


def _text(value) -> str:
    """A link's value as a notice shows it bare, cut to SHOWN_CHARS, as plain text."""
    return plain(value, SHOWN_CHARS)


def notify(message: str, kind: str = "info") -> None:
    """A notice for the top of the page, shown once. `message` is rendered as Markdown: text from outside goes
    through `plain`."""
    st.session_state.setdefault("notices", []).append((kind, message))


def show_notices(where=st) -> None:
    """The notices since the last run, where the eye is: at the top of the page, above the board."""
    for kind, message in st.session_state.pop("notices", []):
        getattr(where, kind)(message)


def sync_widgets(config: TrainConfig) -> None:
    """Put the config's values into the widgets' state (call before the widgets are drawn)."""
    for name in FIELDS:
        st.session_state[key(name)] = getattr(config, name)
    st.session_state[key("grid_side")] = round(math.sqrt(config.modes)) if config.dataset == "grid" else 5
    st.session_state["w_components_rows"] = [dict(x=r[0], y=r[1], std=r[2], weight=r[3]) for r in config.components]


def apply(runner: Runner, **changes) -> None:
    """One change from the page: validated by core, applied by the runner, and said in words when it rebuilds.
    The widgets are re-read from the runner on the next run (they may not be written once drawn)."""
    before = runner.config
    try:
        changed = runner.update(**changes)
    except ConfigError as error:
        notify(f"Not applied ({error.field.replace('_', ' ')}): {plain(error.message)}.", "warning")
    else:
        after = runner.config
        if "label_smoothing" in changed and "label_smoothing" not in changes:  # core's rule: nothing to smooth
            notify(f"Label smoothing set to 0: the {after.loss} loss has no targets to smooth.")

        def said(effect: str) -> str:
            return ", ".join(
                in_words(f, getattr(before, f), getattr(after, f)) for f, e in changed.items() if e == effect
            )

        if said("rebuild"):
            notify(f"New {said('rebuild')}: the networks were rebuilt and the run restarted from iteration 0.")
        else:
            for effect, words in FRESH_PLAYER.items():
                if said(effect):
                    notify(f"{said(effect).capitalize()}: {words}")
            if said("data"):
                notify(
                    f"New p_data ({said('data')}): G and D keep their weights and go on against it. Reset starts "
                    "over from iteration 0."
                )
    st.session_state["resync"] = True


def _on_change(runner: Runner, field: str) -> None:
    value = st.session_state[key(field)]
    if field == "grid_side":
        field, value = "modes", int(value) ** 2
    apply(runner, **{field: value})


# ---- scenes: the presets as the lecture's steps ----------------------------------------------------------
def scene() -> str | None:
    """The scene this tab started from (a preset's name), or None for the user's own settings."""
    name = st.session_state.get("preset", NO_PRESET)
    return None if name == NO_PRESET else name


def modified(name: str | None, config: TrainConfig) -> list[str]:
    """The settings (that config reads) in which `config` differs from scene `name`'s."""
    return [] if name is None else [f for f in url_params(config, name) if f != "preset"]


def start_scene(runner: Runner, name: str) -> None:
    """Scene `name`: its settings from iteration 0 (a running run goes on running from there)."""
    st.session_state["preset"] = name
    runner.load(PRESETS[name].config)
    st.session_state["resync"] = True
    notify(f"Scene {name}: its settings, from iteration 0.")


def _load_preset(runner: Runner) -> None:
    name = st.session_state["preset"]
    if name != NO_PRESET:
        start_scene(runner, name)


def _step_scene(runner: Runner, by: int) -> None:
    current = scene()
    at = SCENES.index(current) + by if current in SCENES else 0
    start_scene(runner, SCENES[at % len(SCENES)])


def scene_heading(name: str | None, config: TrainConfig) -> str:
    """Where the lecture is: "Scene 3 of 12: mode-collapse", ", modified (k, lr d)" once a setting differs."""
    if name is None:
        return "Your own settings"
    changes = modified(name, config)
    place = f"Scene {SCENES.index(name) + 1} of {len(SCENES)}: " if name in SCENES else ""
    return f"{place}{name}" + (f", modified ({', '.join(c.replace('_', ' ') for c in changes)})" if changes else "")


def scene_view(name: str | None, config: TrainConfig) -> dict | None:
    """What to watch, for the board (drawn under the square views as plain text), or None without a scene."""
    if name is None:
        return None
    note = " Some settings differ from the scene's: what it says may not hold." if modified(name, config) else ""
    return dict(heading=f"What to watch: {scene_heading(name, config)}", watch=PRESETS[name].watch + note)


def scene_bar(runner: Runner, slots: TrainingSlots) -> None:
    """Above the board, all a lecture needs with the sidebar hidden: Start / Pause, Reset, ◀ Previous and
    Next ▶ scene (PageUp and PageDown, what a presenter's clicker sends, press these two), and where the
    lecture is."""
    bar = st.container(horizontal=True, vertical_alignment="center", gap="medium", key="scene_bar")
    play_buttons(runner, slots, bar)
    for label, by, key_name, shortcut in (
        ("◀ Previous", -1, "scene_back", "PageUp"),
        ("Next ▶", 1, "scene_next", "PageDown"),
    ):
        bar.button(
            label,
            key=key_name,
            on_click=_step_scene,
            args=(runner, by),
            shortcut=shortcut,
            help=f"The {'previous' if by < 0 else 'next'} scene of the lecture, from iteration 0 ({shortcut}).",
            width="content",
        )
    bar.markdown(f"**{scene_heading(scene(), runner.config)}**", width="content")
    share_control(runner, bar)


def watch_link(token: str) -> str:
    """The watch link as the browser reaches this server (through a proxy too: the page's own address)."""
    parts = urllib.parse.urlsplit(st.context.url or "")
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return origin + watch_url(token)


def share_control(runner: Runner, where) -> None:
    """Share live view: a read-only link to this run for the class (dashboard/watch.py), and its end."""
    token = frames.shared(runner)
    with where.popover("Share live view", icon=":material/cast:", key="share"):
        if token is None:
            st.markdown(
                "A read-only link to this run: the four views, the header and what to watch, live, with no "
                "controls. Viewers take no training slot."
            )
            if st.button("Create the link", key="share_start", type="primary"):
                frames.share(runner)
                st.rerun()
            return
        st.code(watch_link(token), language=None, wrap_lines=True)
        st.caption(
            "Anyone with this link watches this run live, read-only. It stops when you stop sharing or your "
            "session ends (this tab closed)."
        )
        if st.button("Stop sharing", key="share_stop"):
            frames.unshare(runner)
            st.rerun()


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


def play_buttons(runner: Runner, slots: TrainingSlots, where) -> None:
    """Start / Pause and Reset, above the board (in presentation mode the sidebar is hidden)."""
    state, queued = runner.state, slots.position(runner)
    label = (
        "Cancel waiting"
        if queued
        else {IDLE: "Start", RUNNING: "Pause", PAUSED: "Resume", DIVERGED: "Resume"}.get(state, "Start")
    )
    if where.button(
        label,
        type="primary",
        width="content",
        key="run_button",
        help="Start or pause training. Every setting in the sidebar can change while it trains.",
    ):
        if queued:
            slots.cancel(runner)
        elif state == RUNNING:
            runner.pause(wait=True)
        else:
            slots.request(runner)  # started, or in line: the board's badge shows the place
        st.rerun()
    if where.button(
        "Reset",
        width="content",
        key="reset_button",
        help="Back to iteration 0: fresh networks from the same seed and settings.",
    ):
        slots.cancel(runner)
        runner.reset()
        runner.wait_parked(10)
        st.rerun()


def step_controls(runner: Runner, slots: TrainingSlots) -> None:
    """The speed (slow motion) and GAN Lab's step buttons, in the sidebar."""
    state, queued = runner.state, slots.position(runner)
    st.select_slider(
        "Speed (iterations per second)",
        options=list(SPEEDS),
        key="speed",
        help="Slow motion, for the class to see single updates: at 10 or 2 a second every iteration is drawn. "
        "Max trains as fast as the machine can. In a link: speed=2.",
    )
    pace = SPEEDS[st.session_state.get("speed", "max")]
    if runner.pace != pace:
        runner.set_pace(pace)
    st.caption("Step while paused, as in GAN Lab:")
    d, g, both = st.columns(3)
    stepping = state != RUNNING and not queued
    at_once = runner.config.simultaneous
    iteration = (
        ("D + G", "One iteration: D and G updated at once, both from the same weights.")
        if at_once
        else ("k·D + G", "One iteration: k updates of D, then the G steps' updates of G.")
    )
    alone = " alone, against G as it is (the two halves of a simultaneous update)" if at_once else ""
    for column, kind, text, tip in (
        (d, "d", "D step", f"One update of the discriminator{alone}."),
        (g, "g", "G step", f"One update of the generator{alone.replace('against G', 'against D')}."),
        (both, "iteration", *iteration),
    ):
        if column.button(text, key=f"step_{kind}", disabled=not stepping, width="stretch", help=tip):
            runner.advance(1, kind, wait=True, timeout=10)
            st.rerun()


def sidebar(runner: Runner, slots: TrainingSlots) -> None:
    config = runner.config
    if st.session_state.pop("resync", "w_loss" not in st.session_state):
        sync_widgets(config)
    with st.sidebar:
        st.markdown("### Minimax")
        step_controls(runner, slots)
        st.selectbox(
            "Scene",
            [NO_PRESET, *SCENES],
            key="preset",
            on_change=_load_preset,
            args=(runner,),
            help="A scene of the lecture: its settings from iteration 0; what to watch is said under the square views.",
        )

        with st.expander("The game", expanded=True):
            widget(runner, "selectbox", "loss", "Loss", options=list(LOSSES))
            at_once = config.simultaneous  # one D step and one G step from the same weights (core.config)
            widget(runner, "slider", "k", "k: D steps per iteration", **_span("k"), disabled=at_once)
            widget(
                runner, "slider", "g_steps", "G steps per iteration (after D's)", **_span("g_steps"), disabled=at_once
            )
            widget(runner, "toggle", "simultaneous", "Update G and D at once (the papers' code)")
            loss = LOSSES[config.loss]
            widget(
                runner,
                "slider",
                "label_smoothing",
                "One-sided label smoothing ε",
                **_span("label_smoothing"),
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
                widget(
                    runner,
                    "select_slider",
                    "gp_lambda",
                    "Gradient penalty λ",
                    options=_options(GP_LAMBDAS, config.gp_lambda),
                    format_func=_fmt,
                )

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
            widget(
                runner,
                "select_slider",
                "train_set",
                "Training set: points drawn once (0: fresh draws)",
                options=_options(TRAIN_SETS, config.train_set),
            )
            widget(runner, "radio", "optimizer", "Optimizer", options=["adam", "sgd"], horizontal=True)
            if config.optimizer == "adam":
                widget(runner, "slider", "beta1", "Adam β₁", **_span("beta1"), step=0.05)
                widget(
                    runner,
                    "select_slider",
                    "beta2",
                    "Adam β₂",
                    options=_options(BETA2S, config.beta2),
                    format_func=_fmt,
                )
            widget(
                runner,
                "select_slider",
                "g_ema",
                "Averaged G β (shown samples and metrics; 0: off)",
                options=_options(G_AVERAGES, config.g_ema),
                format_func=_fmt,
            )

        remedies_section(runner)

        with st.expander("Data (G and D carry on)", expanded=False):
            widget(runner, "radio", "dataset", "Target p_data", options=list(PLANE_DATASETS), horizontal=True)
            if config.dataset == "ring":
                widget(runner, "slider", "modes", "Modes on the ring", **_span(RING_MODES))
                widget(runner, "slider", "radius", "Radius", **_span("radius"), step=0.1)
            elif config.dataset == "grid":
                widget(
                    runner,
                    "slider",
                    "grid_side",
                    "Grid side m (m × m modes)",
                    **_span(GRID_SIDES),
                    help_text="m x m Gaussians on a square lattice (PacGAN's benchmark is 5 x 5).",
                )
                widget(runner, "slider", "spacing", "Spacing", **_span("spacing"), step=0.1)
            if config.dataset in ("ring", "grid"):
                widget(
                    runner,
                    "select_slider",
                    "std",
                    "Std of each mode",
                    options=_options(STDS, config.std),
                    format_func=_fmt,
                )
            st.caption(painted_caption(runner))
            custom_editor(runner)

        with st.expander("Networks", expanded=False):
            networks(runner)
            widget(runner, "slider", "latent_dim", "Noise dimension", **_span("latent_dim"))
            widget(runner, "radio", "latent", "Noise distribution", options=list(LATENTS), horizontal=True)
            widget(runner, "radio", "init", "Initial weights", options=list(INITS), horizontal=True)
            widget(runner, "number_input", "seed", "Seed", **_span("seed"), step=1)

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
        with st.expander("View", expanded=present()):
            st.toggle(
                "Presentation mode",
                key="present",
                help="Text and views sized for a projector: all four views in one row on a wide screen. "
                "Hide the sidebar (« at its top) for the whole screen. In a link: present=1.",
            )
            st.select_slider(
                "Refresh every (s)",
                options=REFRESH_S,
                key="refresh",
                value=0.1,
                help="How often the page fetches a new frame while training; slower leaves more CPU to training.",
            )
        st.caption(
            f"Server: {slots.running()} of {slots.capacity} training slot(s) in use; {len(live_runners())} run(s) open."
        )


def networks(runner: Runner) -> None:
    """Each player's own network, side by side: a new shape builds that player afresh and the other one keeps its
    weights (core.config.effects)."""
    config = runner.config
    for column, (player, title) in zip(st.columns(2), PLAYERS.items(), strict=True):
        column.markdown(f"**{title}**")
        width = f"{player}_hidden"
        widget(runner, "select_slider", width, "Width", column, options=_options(WIDTHS, getattr(config, width)))
        widget(runner, "slider", f"{player}_depth", "Hidden layers", column, **_span(f"{player}_depth"))
        widget(runner, "selectbox", f"{player}_activation", "Activation", column, options=list(ACTIVATIONS))
    widget(runner, "radio", "g_norm", "Normalisation in G", options=list(NORMS), horizontal=True)
    st.caption(
        "A new shape for one player builds that player afresh; the other keeps its weights and training goes on. "
        "The noise, the initial weights and the seed below rebuild both and restart the run."
    )


def remedies_section(runner: Runner) -> None:
    """The remedies for mode collapse, all live: D-shape ones (packing, minibatch layer) give a fresh D
    while G keeps its weights."""
    config = runner.config
    on = [r.title for r in REMEDIES.values() if r.active(config) and r.settings[0] in REMEDY_WIDGETS]
    with st.expander(f"Remedies ({len(on)} on)" if on else "Remedies", expanded=bool(on)):
        widget(runner, "slider", "feature_matching", "Feature matching W", **_span("feature_matching"), step=0.05)
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
        widget(runner, "slider", "unrolled", "Unrolled steps K", **_span("unrolled"))
        widget(runner, "slider", "pack", "Packing m (samples per D input)", **_span("pack"))
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
    config = runner.config
    rows = st.session_state.get("w_components_rows") or [  # the data set on screen: its modes and their std
        dict(x=round(float(m[0]), 6) + 0.0, y=round(float(m[1]), 6) + 0.0, std=config.std, weight=1.0)
        for m in runner.snapshot(touch=False).modes
    ]
    number = dict(width="small", format="%.4g")  # four narrow columns: all of them fit the sidebar
    table = st.data_editor(
        rows,
        num_rows="dynamic",
        key="components_table",
        width="stretch",
        column_config={
            "x": st.column_config.NumberColumn(**number),
            "y": st.column_config.NumberColumn(**number),
            "std": st.column_config.NumberColumn(min_value=0.0, **number),
            "weight": st.column_config.NumberColumn(min_value=0.0, **number),
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
    """A click on the p_data view: the current modes plus one at (x, y), as a custom mixture (painted data
    gains a point instead)."""
    config, snap = runner.config, runner.snapshot(touch=False)
    if config.dataset == "painted":
        return paint(runner, [[x, y]])
    rows = (
        list(config.components)
        if config.dataset == "custom"
        else [(float(m[0]), float(m[1]), config.std, 1.0) for m in snap.modes]
    )
    apply(runner, dataset="custom", components=(*rows, (round(x, 3), round(y, 3), rows[0][2] if rows else 0.1, 1.0)))


def painted_caption(runner: Runner) -> str:
    """How to paint, and what the painted data set is now."""
    config = runner.config
    how = "Tick *paint data* on the p_g vs p_data view and drag: each stroke's points join the data set."
    if config.dataset != "painted":
        return f"Painted data: {how}"
    modes = runner.snapshot(touch=False).metrics.modes_total
    return (
        f"Painted data: {len(config.points)} of at most {MAX_POINTS} points, {modes} modes fitted for the "
        f"metrics (points within {LINK:g} of each other, a stroke or a blob, are one mode). {how} Pick another data "
        "set to start a new painting."
    )


def paint(runner: Runner, stroke) -> None:
    """A stroke painted on the p_data view (a list of [x, y] from the component, untrusted): added to the painted
    data set, or starting one. G and D carry on against it (a new p_data, core.config.effects)."""
    try:
        points = tuple((round(float(x), 3), round(float(y), 3)) for x, y in list(stroke)[: MAX_POINTS + 1])
    except (TypeError, ValueError):
        return notify("Not applied: a painted stroke must be points (x, y).", "warning")
    config = runner.config
    before = config.points if config.dataset == "painted" else ()
    room = MAX_POINTS - len(before)
    if len(points) > room:
        notify(f"Painted data holds at most {MAX_POINTS} points: {max(room, 0)} of this stroke's {len(points)} kept.")
        points = points[: max(room, 0)]
    if len(before) + len(points) < 2:
        return notify("Paint at least two points (drag a stroke) to make a data set.")
    apply(runner, dataset="painted", points=before + points)


# ---- the config in the URL ---------------------------------------------------------------------------------
URL_SKIPPED = ("steps", "eval_every")  # a headless run's settings: the board neither uses nor shares them
VIEW_PARAMS = ("present", "speed")  # a link's view of the board (presentation mode, slow motion), not a setting
MAX_NOTES = 8  # a link's notice lists this many problems, then how many more
ROWS = {"components": MAX_COMPONENTS, "points": MAX_POINTS}  # settings a link writes as rows: "x,y;x,y"


def _encode(name: str, value) -> str:
    """A setting as the URL writes it: the shortest text that reads back as the same value."""
    if name in ROWS:
        return ";".join(",".join(_number(v) for v in row) for row in value)
    if isinstance(value, bool):
        return str(value).lower()
    return _number(value) if isinstance(value, float) else str(value)


def _number(value: float) -> str:
    text = f"{value:g}"
    return text if float(text) == value else repr(value)


def _read(name: str, raw: str, notes: list[str]):
    """One URL value as its setting's type, clamped into the range the page's widget offers (the setting's
    own, or the narrower WIDGET_RANGES one) with a note. Raises ConfigError for a value it cannot use."""
    value: object = raw
    if name in ROWS:
        rows, most = [row for row in raw.split(";") if row.strip()], ROWS[name]
        if len(rows) > most:  # counted before a single number is parsed
            raise ConfigError(name, f"at most {most} {name}, got {len(rows)}")
        value = [row.split(",") for row in rows]
    value = coerce(name, value)
    if name == "dataset" and value in DATASETS and value not in PLANE_DATASETS:
        raise ConfigError(name, "the Theory page's 1-D data set; the board draws a plane's data set")
    if TYPES[name] in (int, float) and SETTING_NAMES[name].metadata["low"] is not None:
        if not math.isfinite(value):
            raise ConfigError(name, "must be a finite number")
        low, high = widget_range(name)
        if not low <= value <= high:
            clamped = min(max(value, low), high)
            beyond = f"beyond the page's slider ({low:g} to {high:g})" if name in WIDGET_RANGES else "out of range"
            notes.append(f"{name} = {_text(raw)} is {beyond}; using {clamped:g}")
            value = clamped
    return value


def _values(params, name: str) -> list[str]:
    """Every value a link gives `name`. st.query_params keeps a repeated key's values (get_all); a plain dict
    of it keeps only the last, so the page's own query string is asked for the rest."""
    if hasattr(params, "get_all"):
        return [str(v) for v in params.get_all(name)]
    value = params[name]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    every = st.query_params.get_all(name) if get_script_run_ctx(suppress_warning=True) else []
    return every if every and every[-1] == value else [str(value)]


def read_url(params) -> tuple[TrainConfig, list[str]]:
    """The config a shared link describes, and what was wrong with the link (plain text, see `plain`).

    The whole query is read first: each value coerced on its own (a bad one is noted and dropped, a number
    beyond its widget's range clamped and noted), a repeated key gives its last value. Then ONE config is
    built from all of them at once, so the order of the keys does not matter; if the whole does not validate,
    the setting the ConfigError names is dropped with a note and the rest tried again (at most once per
    setting). An old link's hidden, depth or activation sets both players' (core.config.BOTH_PLAYERS; a player's
    own, such as g_hidden, given too wins). Never raises."""
    notes: list[str] = []
    query: dict[str, str] = {}
    for key in params:
        values = _values(params, key) or [""]
        name = str(key)
        if len(values) > 1:
            notes.append(f"{_said(name)} is given {len(values)} times; using the last, {_said(values[-1])}")
        query[name] = values[-1]
    base, origin = TrainConfig(), "the defaults"
    if "preset" in query:
        if query["preset"] in PRESETS:
            base, origin = PRESETS[query["preset"]].config, f"preset {query['preset']}"
        else:
            notes.append(f"unknown preset {_said(query['preset'])} ignored")
    changes: dict[str, object] = {}
    for name, raw in query.items():
        if name == "preset":
            continue
        if name in VIEW_PARAMS:
            continue
        if name not in SETTING_NAMES:  # the settings, and hidden, depth, activation for both players
            notes.append(f"unknown setting {_said(name)} ignored")
        elif name in URL_SKIPPED:
            notes.append(f"{name} is a headless run's setting; ignored here")
        else:
            try:
                changes[name] = _read(name, raw, notes)
            except ConfigError as error:
                notes.append(f"{name} = {_said(raw)} ignored: {plain(error.message)}")
    config = _build(base, changes, query, notes, origin)
    if config.dataset not in PLANE_DATASETS:  # a preset of the Theory page's 1-D data set
        notes.append(f"dataset {config.dataset} is the Theory page's 1-D run; the board keeps the ring")
        config = config.replace(dataset="ring")
    return config, notes


def _build(base: TrainConfig, changes: dict, query: dict, notes: list[str], origin: str) -> TrainConfig:
    """base with every change at once; a change the config refuses is dropped and the rest tried again."""
    for _ in range(len(changes) + 1):
        try:
            return base.replace(**changes)
        except ConfigError as error:
            culprit = error.field if error.field in changes else _culprit(base, changes, error)
            if culprit is None:
                break
            notes.append(f"{culprit} = {_said(query[culprit])} ignored: {plain(error.message)}")
            del changes[culprit]
    notes.append(f"the link's settings do not fit together; using {origin}")
    return base


def _culprit(base: TrainConfig, changes: dict, error: ConfigError) -> str | None:
    """The change whose removal makes the error go (a data set that needs components the link lacks)."""
    for name in changes:
        try:
            base.replace(**{k: v for k, v in changes.items() if k != name})
            return name
        except ConfigError as other:
            if (other.field, other.message) != (error.field, error.message):
                return name
    return None


def config_from_url(params) -> TrainConfig:
    """The config a shared link describes (st.query_params, or a dict of it); what was wrong with the link
    is said in one notice. Never raises."""
    config, notes = read_url(params)
    if notes:
        shown = notes[:MAX_NOTES] + ([f"and {len(notes) - MAX_NOTES} more"] if len(notes) > MAX_NOTES else [])
        notify("From the link: " + "; ".join(shown) + ".", "warning")
    return config


def url_params(config: TrainConfig, scene: str | None = None) -> dict[str, str]:
    """The link to this config: `preset=<scene>` and the settings that differ from the scene's, or without a
    scene the settings that differ from a fresh page's (the defaults, with the config's data set's own); as
    text, and only settings the config reads (no custom components left over on a ring). Read back by
    `read_url` they give the same config in every setting it reads (the headless-only settings aside)."""
    if scene is not None:
        base = PRESETS[scene].config
    else:
        base = dataclasses.replace(TrainConfig(), dataset=config.dataset, **DATASETS[config.dataset][1])
    wanted = {
        name: _encode(name, value)
        for name, value in base.changed(config).items()
        if name not in URL_SKIPPED and used(name, config)
    }
    if config.dataset != base.dataset or (scene is None and config.dataset != TrainConfig().dataset):
        wanted["dataset"] = config.dataset
    return ({"preset": scene} if scene is not None else {}) | {name: wanted[name] for name in FIELDS if name in wanted}


def present() -> bool:
    """Presentation mode: on from the View section's toggle, or from a link's present=1."""
    return bool(st.session_state.get("present", False))


def config_to_url(config: TrainConfig, scene: str | None = None) -> None:
    """Mirror the scene and the settings that differ from it (and presentation mode) into the URL, so the page
    can be bookmarked and shared as it is now."""
    wanted = url_params(config, scene) | ({"present": "1"} if present() else {})
    if st.session_state.get("speed", "max") != "max":
        wanted["speed"] = st.session_state["speed"]
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def url_speed(params) -> str:
    """The slow motion a link asks for (speed=2, 10 or 30), else "max"; anything else is said and ignored."""
    speed = str(params.get("speed", "max"))
    if speed not in SPEEDS:
        notify(f"From the link: speed {_said(speed)} ignored (one of {', '.join(SPEEDS)}).", "warning")
        return "max"
    return speed


def url_scene(params, config: TrainConfig) -> str | None:
    """The scene a link starts from: the preset it names, else the scene whose settings it gives exactly (a bare
    link is ring8's), else None."""
    named = str(params.get("preset", ""))
    if named in PRESETS:
        return named
    return next((name for name in SCENES if not modified(name, config)), None)
