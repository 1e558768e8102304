"""Snapshot -> the compact JSON the live component draws: arrays as base64 (float32 or uint8), curves
thinned to what a canvas can show. Pure: no Streamlit, no torch.

Every frame is strict JSON whatever the snapshot holds: a non-finite number anywhere becomes null (`strict`,
the last step of `payload`), and the quantised arrays map NaN to their lowest level. A NaN in a frame is not
JSON: the route refused it and the page stood still on its last frame (issue 14)."""

from __future__ import annotations

import base64
import functools
import math

import numpy as np

from core.config import DATA_FIELDS
from core.losses import LOSSES, decision_label, decision_level
from core.models import view_draws
from core.remedies import REMEDIES
from core.snapshot import Snapshot

# the data-set layer (true density, real samples) changes only with these: p_data, the grid, the samples shown
STATIC_FIELDS = (*DATA_FIELDS, "grid_size", "samples_shown", "seed")
MAX_CURVE_POINTS = 400  # a chart is ~600 px wide: more points cost bytes and time, not detail
MAX_HEATMAP_COLUMNS = 300


def b64(array, dtype=np.float32) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def quantise(values: np.ndarray, lo: float, hi: float) -> str:
    """Values in [lo, hi] -> uint8 0..255 (plenty for a colour map); NaN -> 0."""
    with np.errstate(invalid="ignore"):  # an infinite range gives NaN, sent as 0
        scaled = (np.clip(values, lo, hi) - lo) / max(hi - lo, 1e-12) * 255
    return b64(np.rint(np.nan_to_num(scaled, nan=0.0)), np.uint8)


def quantise_centred(values: np.ndarray, lo: float, mid: float, hi: float) -> str:
    """Values in [lo, hi] -> uint8 0..255 with `mid` at 127.5, linear on each side: the colour map's white
    (the middle) sits on D's decision level, wherever the level is in [lo, hi]."""
    v = np.clip(np.asarray(values, dtype=np.float64), lo, hi)
    below = (v - lo) / max(mid - lo, 1e-12) * 127.5
    above = 127.5 + (v - mid) / max(hi - mid, 1e-12) * 127.5
    return b64(np.rint(np.nan_to_num(np.where(v <= mid, below, above), nan=0.0)), np.uint8)


def finite(value) -> float | None:
    """A float for strict JSON: None (null) for NaN or infinity."""
    return float(value) if value is not None and math.isfinite(value) else None


def strict(value):
    """value with every float at any depth finite or None, and NumPy scalars as Python ones: what
    json.dumps(allow_nan=False) always accepts (a NumPy scalar is not JSON at all)."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite(value)
    return value


def last_finite(column: np.ndarray) -> float | None:
    """The newest finite value of a history column (NaN before a player's first step)."""
    good = np.flatnonzero(np.isfinite(column))
    return float(column[good[-1]]) if len(good) else None


def thin(n: int, most: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, most).astype(int)) if n > most else np.arange(n)


def curves(columns: dict, names, most: int = MAX_CURVE_POINTS) -> dict:
    n = len(columns["iteration"])
    keep = thin(n, most)
    return {name: b64(columns[name][keep]) for name in names} | {"n": len(keep)}


def static_layer(snap: Snapshot) -> dict:
    """What changes only with the data set: the true density (square root: faint modes stay visible)."""
    density = np.sqrt(np.clip(snap.p_data, 0.0, None))
    return dict(
        p_data=quantise(density, 0.0, float(density.max())),
        grid=int(snap.p_data.shape[0]),
        modes=b64(snap.modes),
        real=b64(snap.real),
    )


def points(xy: np.ndarray, bounds: np.ndarray) -> str:
    """Points in the view's square as uint16 pairs: 1/65535 of the square is far below a pixel."""
    lo, hi = bounds[:, 0], bounds[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):  # a broken square: NaN, drawn at its corner
        share = np.nan_to_num(np.clip((xy - lo) / (hi - lo), 0, 1), nan=0.0)
    return b64(np.rint(share * 65535), np.uint16)


def samples_label(config) -> str:
    """The legend of G's samples: G's own, or those of G's weight average (core.training, g_ema)."""
    if config.g_ema:
        return f"G(z) from G's averaged weights (β = {config.g_ema:g}), z fixed"
    return "G(z), z fixed"


def surface_title(config) -> str:
    """What the surface shows, in words: D's output, and how a D that compares samples judges one point."""
    loss = LOSSES[config.loss]
    what = "D(x) = P(real)" if loss.probability else "critic score D(x)" if loss.aims is None else "score D(x)"
    if config.pack > 1:  # Discriminator.among: the mean over a few fixed packs
        what = "D(x)" if loss.probability else what
        among = " among a batch of them" if config.minibatch_discrimination else ""
        return f"{what} packed with G's samples{among}, mean of {view_draws(config.pack)} packs"
    if config.minibatch_discrimination:
        return f"{what}, x judged among a batch of G's samples"
    return what


@functools.lru_cache(maxsize=64)
def remedy_rows(config) -> list[dict]:
    """The Mode-collapse view's table; it changes only with the settings, so it is built once per config."""
    return [
        dict(name=r.title, on=bool(r.active(config)), value=r.value(config), paper=r.paper) for r in REMEDIES.values()
    ]


# Where each remedy plugs into the model overview (GAN Lab's graph, live.js `MODEL`): on the samples going into
# D, on D itself, on D's objective, on G's objective, or on both players' updates.
REMEDY_SLOTS = {
    "packing": "into_d",
    "minibatch-discrimination": "d",
    "spectral-norm": "d",
    "unrolled": "d",
    "label-smoothing": "d_loss",
    "k-steps": "d_loss",
    "feature-matching": "g_loss",
    "historical-averaging": "both",
    "ttur": "both",
    "g-average": "g_shown",
}
_LATEX_TEXT = (  # the objectives' LaTeX (core/losses.py) as plain text for the overview's edges
    (r"\max_{D:\,|w|\le c}", "max_D (|w| ≤ c)"),
    (r"\lambda_{\mathrm{GP}}", "λ"),
    (r"\mathbb{E}_{\hat x}", "E_x̂ "),
    (r"\mathbb{E}_{x}", "E_x "),
    (r"\mathbb{E}_{z}", "E_z "),
    (r"\tfrac12", "½"),
    (r"\varepsilon", "ε"),
    (r"\lVert", "‖"),
    (r"\rVert", "‖"),
    (r"\nabla", "∇"),
    (r"\hat x", "x̂"),
    (r"\max", "max"),
    (r"\min", "min"),
    (r"\log", "log"),
    (r"\,", ""),
    ("^2", "²"),
    ("{", ""),
    ("}", ""),
)


def plain_formula(latex: str) -> str:
    """One of core/losses.py's objectives, as text an SVG can show (no backslash, no brace)."""
    for code, text in _LATEX_TEXT:  # in order: a whole construct before its parts
        latex = latex.replace(code, text)
    return " ".join(latex.split())


@functools.lru_cache(maxsize=64)
def model_view(config) -> dict:
    """The model overview's labels for `config`: both objectives (the loss's, at the config's label smoothing),
    how many updates of each player an iteration makes, each player's own hidden layers ("3 × 128 relu"), and
    each active remedy at its place."""
    loss = LOSSES[config.loss]
    d_body = loss.d_smoothed if config.label_smoothing > 0 and loss.d_smoothed else loss.d_body
    slots: dict[str, list[str]] = {slot: [] for slot in set(REMEDY_SLOTS.values())}
    for name, remedy in REMEDIES.items():
        if remedy.active(config) and name in REMEDY_SLOTS:
            slots[REMEDY_SLOTS[name]].append(f"{remedy.title}: {remedy.value(config)}")
    return dict(
        loss=config.loss,
        d_objective=plain_formula(f"{loss.d_sense} {d_body}"),
        g_objective=plain_formula(f"{loss.g_sense} {loss.g_body}"),
        d_updates=config.k,
        g_updates=config.g_steps,
        g_when="at the same time" if config.simultaneous else "then",  # one step of both, or Algorithm 1's order
        d_layers=str(config.d_layers),
        g_layers=str(config.g_layers),
        **slots,
    )


def payload(snap: Snapshot, include_static: bool = True) -> dict:
    """One frame, strict JSON (`strict`). include_static=False leaves out the data set's layer (true density,
    real samples): the component keeps it and says which one it holds, so it is sent once per data set."""
    c, m = snap.config, snap.metrics
    level = decision_level(c.loss, c.label_smoothing)  # where D cannot tell data from samples
    surface = snap.surface
    lo, hi = (0.0, 1.0) if snap.surface_is_probability else (float(surface.min()), float(surface.max()))
    if not (math.isfinite(lo) and math.isfinite(hi)):  # strict JSON: a broken surface is drawn on [0, 1]
        lo, hi = 0.0, 1.0
    if not snap.surface_is_probability and level is not None:  # centre the colours on the level
        reach = max(abs(lo - level), abs(hi - level), 1e-6)
        lo, hi = level - reach, level + reach
    mid = level if level is not None else (lo + hi) / 2
    eval_n = len(snap.eval_history["iteration"])
    keep = thin(eval_n, MAX_HEATMAP_COLUMNS)
    shares = snap.mode_shares[keep] if eval_n else np.zeros((0, m.modes_total))
    key = "|".join(str(getattr(c, name)) for name in STATIC_FIELDS)
    return strict(
        dict(
            iteration=snap.iteration,
            d_steps=snap.d_steps,
            g_steps=snap.g_steps,
            its=round(snap.its_per_s, 1),
            state=snap.state,
            message=snap.message,
            loss=c.loss,
            k=c.k,
            probability=snap.surface_is_probability,
            boundary=level,
            boundary_label=decision_label(c.loss, c.label_smoothing),
            surface_title=surface_title(c),
            samples_label=samples_label(c),
            grad_norm_g=last_finite(snap.history["grad_norm_g"]),
            bounds=[float(v) for v in snap.bounds.ravel()],
            static_key=key,
            metrics=dict(
                modes_captured=m.modes_captured,
                modes_total=m.modes_total,
                high_quality=finite(m.high_quality),
                d_real=finite(m.d_real),
                d_fake=finite(m.d_fake),
                jsd=finite(m.jsd),
                mode_width=finite(m.mode_width),
                reverse_kl=finite(m.reverse_kl),
            ),
            samples=points(snap.samples, snap.bounds),
            surface=quantise_centred(surface, lo, mid, hi),
            surface_range=[lo, hi],
            surface_grid=int(surface.shape[0]),
            arrows_at=b64(snap.arrows_at),
            arrows=b64(snap.arrows),
            manifold=b64(snap.manifold),
            mesh=list(snap.manifold.shape[:2]),
            history=curves(snap.history, ("iteration", "d_real", "d_fake", "loss_d", "loss_g", "grad_norm_g")),
            evals=curves(snap.eval_history, ("iteration", "jsd", "modes_captured", "high_quality")),
            shares=quantise(shares.T, 0.0, 1.0),
            share_columns=len(shares),
            share_iterations=b64(snap.eval_history["iteration"][keep]) if eval_n else b64([]),
            remedies=remedy_rows(snap.config),
            model=model_view(snap.config),
            **(static_layer(snap) if include_static else {}),
        )
    )
