"""How good are G's samples: mode coverage and quality (VEEGAN / PacGAN), reverse KL, and JSD on a grid."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .data import Mixture, grid_masses
from .training import frozen

HQ_STDS = 3.0
"""A sample is high quality if it lies within 3 standard deviations (Euclidean distance) of its nearest
mode (VEEGAN, PacGAN). Even exact samples of p_data are not all high quality: in 2-D the distance to the
mean is Rayleigh distributed, so the share is 1 - exp(-9/2) = 0.9889; in 1-D it is erf(3/sqrt 2) = 0.9973."""

MODE_MIN_SAMPLES = 20
"""A mode counts as captured when it holds at least 20 high-quality samples out of 2,500 generated ones.

PacGAN (Lin et al. 2018, §5, on VEEGAN's 2-D ring and grid with 2,500 samples) counts a mode as lost when
fewer than 20 samples land in it: a fifth of the 100 expected per mode of the 25-grid. We keep that
threshold at 2,500 samples and scale it in proportion for other evaluation sizes (`mode_minimum`), so
our `modes_captured` is comparable with their tables at the same sample count.
"""

KL_FLOOR = 1e-12
"""Mode weights are floored at 1e-12 inside the reverse KL, so a zero-weight custom mode that receives
samples gives a large finite value instead of infinity."""


def mode_minimum(n_samples: int) -> int:
    return max(1, math.ceil(MODE_MIN_SAMPLES * n_samples / 2500))


@dataclass(frozen=True)
class ModeStats:
    counts: np.ndarray  # (K,) high-quality samples per mode
    high_quality: float  # share of all samples that are high quality
    modes_captured: int
    reverse_kl: float  # KL(q || p), nats


def mode_statistics(samples: np.ndarray, mixture: Mixture) -> ModeStats:
    """Assign each sample to its nearest mode; keep it if within HQ_STDS stds of it.

    reverse_kl = sum_k q_k log(q_k / p_k), q the share of high-quality samples per mode, p the mode
    weights (0 log 0 = 0). With no high-quality sample at all q is undefined; we report the worst value
    a single-mode q can reach, log(1 / min_k p_k), since such a G has found no mode.
    """
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
        counts, float(good.mean()) if len(x) else 0.0, int((counts >= mode_minimum(len(x))).sum()), reverse_kl
    )


def discrete_jsd(p: np.ndarray, q: np.ndarray) -> float:
    """JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, in nats (0 log 0 = 0; at most log 2)."""
    p, q = np.clip(np.ravel(p), 0, None), np.clip(np.ravel(q), 0, None)
    m = (p + q) / 2
    kl = lambda a: float((a[a > 0] * np.log(a[a > 0] / m[a > 0])).sum())
    return 0.5 * kl(p) + 0.5 * kl(q)


def grid_edges(mixture: Mixture, bins: int) -> np.ndarray:
    """(d, bins+1) edges of the square that every view and the JSD use."""
    return np.stack([np.linspace(lo, hi, bins + 1) for lo, hi in mixture.bounds()])


def jsd(samples: np.ndarray, mixture: Mixture, bins: int = 100) -> float:
    """JSD between p_data and p_g, both seen at the resolution of a grid of `bins` cells per side.

    p_g is a Gaussian kernel density estimate of the samples with bandwidth h = one cell width, and
    p_data (analytic) is smoothed by the same kernel, which for a Gaussian mixture is exact: stds become
    sqrt(s^2 + h^2). Both are integrated exactly over each cell (plus one cell for all mass outside the
    square), and the JSD of the two cell distributions is returned. Smoothing both with one kernel and
    binning are channels, so by the data-processing inequality this never exceeds the true JSD; it is 0
    in expectation (up to sampling noise, ~0.01 nats at 2,500 samples) when p_g = p_data and log 2 when
    p_g sits where p_data has no mass at this resolution.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1, mixture.dim)
    edges = grid_edges(mixture, bins)
    h = float(edges[0, 1] - edges[0, 0])
    p = grid_masses(mixture.means, np.sqrt(mixture.stds**2 + h * h), mixture.weights, edges).ravel()
    q = grid_masses(x, np.full(len(x), h), np.full(len(x), 1 / len(x)), edges).ravel()
    return discrete_jsd(np.append(p, 1 - p.sum()), np.append(q, 1 - q.sum()))


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
    mode_counts: np.ndarray


def evaluate(gan, z: torch.Tensor, real: torch.Tensor, *, with_jsd: bool = True) -> tuple[Metrics, np.ndarray]:
    """Metrics of G's samples on the fixed noise z (and D on fixed real samples); returns (metrics, samples).

    Evaluation never changes the run: no gradients, D in eval mode (spectral norm's vectors stay put) and
    the caller's own fixed z, so a run's numbers do not depend on how often it is evaluated.
    """
    with torch.no_grad(), frozen(gan.D):
        fake = gan.G(z)
        out_real, out_fake = (gan.loss.output(out) for out in gan.judge(real, fake))
    samples = fake.numpy()
    stats = mode_statistics(samples, gan.mixture)
    metrics = Metrics(
        iteration=gan.iteration,
        d_real=float(out_real.mean()),
        d_fake=float(out_fake.mean()),
        d_is_probability=gan.loss.probability,
        modes_captured=stats.modes_captured,
        modes_total=gan.mixture.n_modes,
        high_quality=stats.high_quality,
        reverse_kl=stats.reverse_kl,
        jsd=jsd(samples, gan.mixture, gan.config.grid_size) if with_jsd else math.nan,
        mode_counts=stats.counts,
    )
    return metrics, samples
