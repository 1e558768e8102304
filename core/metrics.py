"""How good are G's samples: mode coverage and quality (VEEGAN / PacGAN), reverse KL, mode width, and the
JSD on the views' grid (core.grid)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import chi

from .data import Mixture
from .grid import jsd
from .models import frozen, inference

HQ_STDS = 3.0
"""A sample is high quality if it lies within 3 standard deviations (Euclidean distance) of its nearest
mode (VEEGAN, PacGAN). Even exact samples of p_data are not all high quality: in 2-D the distance to the
mean is Rayleigh distributed, so the share is 1 - exp(-9/2) = 0.9889; in 1-D it is erf(3/sqrt 2) = 0.9973."""

MODE_MIN_SAMPLES = 20
"""Our rule ("minimax", the default): a mode counts as captured when it holds at least 20 high-quality
samples out of 2,500 generated ones, a fifth of the 100 a mode of the 25-grid expects, so that a mode hit by a
stray sample or two does not count. It is our choice, stricter than the papers': we scale it in proportion
for other evaluation sizes (`mode_minimum`).

The papers count a mode with at least one high-quality sample: VEEGAN's definition (akashgit/VEEGAN index.md,
"Synthetic Dataset": the mixture components whose mean is nearest to at least one high-quality sample, of
2,500), which PacGAN's Table 1 adopts ("proposed in [44]", VEEGAN) and its released code implements
(synthetic_data_experiments/PacGAN/pacgan/extensions.py, MetricLogger: the modes with a nonzero count within 3
stds). That is the "pacgan" rule of MODE_RULES, which can only count more modes than ours.
"""

KL_FLOOR = 1e-12
"""Mode weights are floored at 1e-12 inside the reverse KL, so a zero-weight custom mode that receives
samples gives a large finite value instead of infinity."""


def mode_minimum(n_samples: int) -> int:
    """High-quality samples a mode needs under our rule: MODE_MIN_SAMPLES per 2,500, rounded up, at least 1."""
    return max(1, math.ceil(MODE_MIN_SAMPLES * n_samples / 2500))


@dataclass(frozen=True)
class ModeRule:
    """When a mode counts as captured: it holds at least minimum(n) of n samples' high-quality ones."""

    minimum: Callable[[int], int]
    text: str  # the rule in words, for --help and the evaluate report


MODE_RULES: dict[str, ModeRule] = {
    # ours (MODE_MIN_SAMPLES): stricter than the papers, so that a stray sample or two does not capture a mode
    "minimax": ModeRule(mode_minimum, "at least 20 high-quality samples per 2,500, in proportion (ours)"),
    # VEEGAN's definition, PacGAN's Table 1 and released code (synthetic_data_experiments, MetricLogger): mode
    # coverage = the number of modes whose count of samples within 3 stds is nonzero
    "pacgan": ModeRule(lambda n: 1, "at least 1 high-quality sample (VEEGAN's and PacGAN's tables)"),
}


@dataclass(frozen=True)
class ModeStats:
    counts: np.ndarray  # (K,) high-quality samples per mode
    high_quality: float  # share of all samples that are high quality
    modes_captured: int
    reverse_kl: float  # KL(q || p), nats


def mode_statistics(samples: np.ndarray, mixture: Mixture, rule: str = "minimax") -> ModeStats:
    """Assign each sample to its nearest mode; keep it if within HQ_STDS stds of it.

    modes_captured = #{k : counts_k >= MODE_RULES[rule].minimum(n)}, n the number of samples.
    reverse_kl = sum_k q_k log(q_k / p_k), q the share of high-quality samples per mode, p the mode
    weights (0 log 0 = 0). With no high-quality sample at all q is undefined; we report the worst value
    a single-mode q can reach, log(1 / min_k p_k), since such a G has found no mode. The modes are the
    mixture's `modal` ones (painted data: its fitted clusters).
    """
    mixture = mixture.modal
    x = np.asarray(samples, dtype=np.float64).reshape(-1, mixture.dim)
    d2 = ((x[:, None, :] - mixture.means[None]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    good = np.sqrt(d2[np.arange(len(x)), nearest]) <= HQ_STDS * mixture.stds[nearest]
    counts = np.bincount(nearest[good], minlength=mixture.n_modes)
    counts.setflags(write=False)
    p = np.maximum(mixture.weights, KL_FLOOR)
    if counts.sum() == 0:
        reverse_kl = float(np.log(1 / p.min()))
    else:
        q = counts / counts.sum()
        held = q > 0
        reverse_kl = float((q[held] * np.log(q[held] / p[held])).sum())
    return ModeStats(
        counts,
        float(good.mean()) if len(x) else 0.0,
        int((counts >= MODE_RULES[rule].minimum(len(x))).sum()),
        reverse_kl,
    )


WIDTH_STDS = 10.0
"""Samples farther than 10 stds from every mode are not on a mode at all (strays, bridges, a G that has not
arrived): they say nothing about how wide G's modes are, so mode_width leaves them out."""


def mode_width(samples: np.ndarray, mixture: Mixture) -> float:
    """How wide G's modes are against p_data's: over the samples within WIDTH_STDS stds of their nearest
    mode, the median of (distance to that mode / its std), divided by the same median for p_data itself,
    the median of a chi distribution with d degrees of freedom (sqrt(2 log 2) = 1.18 in 2-D). 1 for exact
    samples, 2 for modes twice too wide, below 1 for modes too sharp; NaN with no sample near a mode.
    The grid's JSD cannot see this below a cell's width (core.grid); this can. (The cut at 10 stds trims
    modes more than ~4 times too wide, which then read a little narrower than they are.) Painted data: its
    fitted modes."""
    mixture = mixture.modal
    x = np.asarray(samples, dtype=np.float64).reshape(-1, mixture.dim)
    d2 = ((x[:, None, :] - mixture.means[None]) ** 2).sum(-1)
    nearest = d2.argmin(1) if len(x) else np.zeros(0, dtype=int)
    r = np.sqrt(d2[np.arange(len(x)), nearest]) / mixture.stds[nearest]
    near = r[r <= WIDTH_STDS]
    if not len(near):
        return math.nan
    return float(np.median(near) / chi(mixture.dim).median())


@dataclass(frozen=True)
class Metrics:
    iteration: int
    d_real: float  # mean D(x) on real samples: a probability for the log-loss family, else the raw score
    d_fake: float
    d_is_probability: bool
    modes_captured: int
    modes_total: int
    high_quality: float
    reverse_kl: float
    jsd: float
    mode_width: float  # 1 when G's modes are as wide as p_data's (mode_width)
    mode_counts: np.ndarray


def generator_metrics(gan, z: torch.Tensor, real: torch.Tensor, *, with_jsd: bool = True) -> tuple[Metrics, np.ndarray]:
    """Metrics of G's samples on the fixed noise z (and D on fixed real samples); returns (metrics, samples).

    Evaluation never changes the run: no gradients, D in eval mode (spectral norm's vectors stay put), G in
    eval mode (batch norm's running statistics are used and stay put, as PacGAN's GraphLogger evaluates G) and
    the caller's own fixed z, so a run's numbers do not depend on how often it is evaluated.
    """
    with torch.no_grad(), frozen(gan.D), inference(gan.shown_G):
        fake = gan.shown_G(z)
        out_real, out_fake = (gan.loss.output(out) for out in gan.judge(real, fake))
    samples = fake.numpy()
    stats = mode_statistics(samples, gan.mixture)
    metrics = Metrics(
        iteration=gan.iteration,
        d_real=float(out_real.mean()),
        d_fake=float(out_fake.mean()),
        d_is_probability=gan.loss.probability,
        modes_captured=stats.modes_captured,
        modes_total=gan.mixture.modal.n_modes,
        high_quality=stats.high_quality,
        reverse_kl=stats.reverse_kl,
        jsd=jsd(samples, gan.mixture, gan.config.grid_size) if with_jsd else math.nan,
        mode_width=mode_width(samples, gan.mixture),
        mode_counts=stats.counts,
    )
    return metrics, samples
