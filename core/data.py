"""Mixtures of isotropic Gaussians in 1-D or 2-D: analytic density, cell masses and sampling; and painted data,
samples drawn on the board, with modes fitted by clustering for the metrics that count modes."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

if TYPE_CHECKING:  # config.py imports this module
    from .config import TrainConfig


@dataclass(frozen=True, eq=False)
class Mixture:
    """p(x) = sum_k w_k N(x; mu_k, s_k^2 I). means (K, d), stds (K,), weights (K,) summing to 1.

    fitted: the modes the metrics count (modes captured, high quality, reverse KL, mode width), when they are
    not the components themselves: painted data's clusters (`painted`). None: the components are the modes.
    view_at_least: `bounds` holds at least [-view_at_least, view_at_least] on each axis (painted data: the
    canvas must not zoom under the brush)."""

    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray
    fitted: Mixture | None = None
    view_at_least: float = 0.0

    def __post_init__(self):
        means = np.atleast_2d(np.asarray(self.means, dtype=np.float64))
        stds = np.asarray(self.stds, dtype=np.float64).reshape(-1)
        weights = np.asarray(self.weights, dtype=np.float64).reshape(-1)
        if means.shape[0] != stds.size or stds.size != weights.size or means.shape[1] not in (1, 2):
            raise ValueError("a mixture needs K means of dimension 1 or 2, K stds and K weights")
        if not (np.isfinite(means).all() and np.isfinite(stds).all() and np.isfinite(weights).all()):
            raise ValueError("means, stds and weights must be finite")
        if (stds <= 0).any():
            raise ValueError("every std must be positive")
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("weights must be non-negative and sum to a positive number")
        for name, value in (("means", means), ("stds", stds), ("weights", weights / weights.sum())):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def modal(self) -> Mixture:
        """The mixture whose components are the modes the metrics count."""
        return self.fitted or self

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def n_modes(self) -> int:
        return self.means.shape[0]

    def density(self, x: np.ndarray) -> np.ndarray:
        """p(x) at points x of shape (n, d)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, K)
        norm = (2 * math.pi * self.stds**2) ** (-self.dim / 2)
        return (self.weights * norm * np.exp(-0.5 * sq / self.stds**2)).sum(1)

    @cached_property
    def _torch(self):
        return (
            torch.tensor(self.means, dtype=torch.float32),
            torch.tensor(self.stds, dtype=torch.float32),
            torch.tensor(self.weights, dtype=torch.float32),
        )

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws as a float32 tensor (n, d): a component k ~ w, then mu_k + s_k * N(0, I)."""
        means, stds, weights = self._torch
        k = torch.multinomial(weights, n, replacement=True, generator=generator)
        return means[k] + stds[k, None] * torch.randn(n, self.dim, generator=generator)

    def bounds(self) -> np.ndarray:
        """(d, 2) rows [lo, hi]: a square (equal width on every axis) holding every mode with a margin."""
        lo, hi = self.means.min(0), self.means.max(0)
        lo, hi = np.minimum(lo, -self.view_at_least), np.maximum(hi, self.view_at_least)
        half = float((hi - lo).max()) / 2
        half += max(4 * float(self.stds.max()), 0.25 * max(half, 1.0))
        centre = (lo + hi) / 2
        return np.stack([centre - half, centre + half], 1)


def ring(n: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """n equally weighted modes evenly spaced on a circle (the VEEGAN / Unrolled-GAN benchmark)."""
    angles = 2 * math.pi * np.arange(n) / n
    return Mixture(radius * np.stack([np.cos(angles), np.sin(angles)], 1), np.full(n, std), np.ones(n))


def grid(m: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """An m x m lattice centred on 0 (m = 5, spacing 2: points -4 ... 4, the PacGAN benchmark)."""
    axis = (np.arange(m) - (m - 1) / 2) * spacing
    xs, ys = np.meshgrid(axis, axis, indexing="xy")
    return Mixture(np.stack([xs.ravel(), ys.ravel()], 1), np.full(m * m, std), np.ones(m * m))


def custom(components) -> Mixture:
    """Any rows (x, y, std, weight)."""
    rows = np.asarray(components, dtype=np.float64).reshape(-1, 4)
    if rows.shape[0] == 0:
        raise ValueError("a custom mixture needs at least one component")
    return Mixture(rows[:, :2], rows[:, 2], rows[:, 3])


BRUSH = 0.05  # a painted sample's spread: painted data is a kernel density estimate of the painted points
PAINT_VIEW = 2.0  # painted data's view holds at least [-2, 2] on each axis, as the ring's does (with its margin)
LINK = 0.3  # painted points this close, one after the other (a stroke, a blob), are one mode


def painted(points) -> Mixture:
    """Samples painted on the board, as the data set: each point spread by BRUSH (drawing from it draws a painted
    point plus a little noise), equally weighted. The modes the metrics count are fitted by single-linkage
    clustering: points joined by steps of at most LINK are one mode, with the cluster's mean, its spread as
    the std (the root mean square distance from the mean per axis, with BRUSH), and its share of the points."""
    xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(xy) < 2:
        raise ValueError("painted data needs at least 2 points")
    labels = fcluster(linkage(pdist(xy), "single"), LINK, "distance")
    clusters = [xy[labels == k] for k in np.unique(labels)]
    means = np.stack([c.mean(0) for c in clusters])
    spread = np.array([((c - c.mean(0)) ** 2).sum(1).mean() / 2 for c in clusters])
    modes = Mixture(means, np.sqrt(spread + BRUSH**2), np.array([len(c) for c in clusters], dtype=np.float64))
    return Mixture(xy, np.full(len(xy), BRUSH), np.ones(len(xy)), fitted=modes, view_at_least=PAINT_VIEW)


def line(means=(-2.0, 0.5, 2.5), stds=(0.4, 0.3, 0.5), weights=(0.3, 0.4, 0.3)) -> Mixture:
    """A 1-D mixture, for the paper's 1-D picture of p_data, p_g and D."""
    return Mixture(np.asarray(means, dtype=np.float64)[:, None], stds, weights)


def grid_masses(centres: np.ndarray, stds: np.ndarray, weights: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Exact probability of each cell of a regular grid under sum_k w_k N(mu_k, s_k^2 I).

    edges: (d, B+1) cell edges per axis. The Gaussians are isotropic, so a cell's mass is a product over
    axes of Phi(b) - Phi(a), and the sum over components is one matrix product.
    Returns (B,) in 1-D or (B, B) in 2-D, indexed [x, y].
    """
    c = torch.tensor(np.asarray(centres), dtype=torch.float64)
    s = torch.tensor(np.asarray(stds), dtype=torch.float64).reshape(-1, 1, 1)
    w = torch.tensor(np.asarray(weights), dtype=torch.float64)
    e = torch.tensor(np.asarray(edges), dtype=torch.float64)
    cdf = torch.special.ndtr((e[None] - c[:, :, None]) / s)  # (K, d, B+1)
    axis_mass = cdf[..., 1:] - cdf[..., :-1]  # (K, d, B)
    if c.shape[1] == 1:
        return (w @ axis_mass[:, 0]).numpy()
    return torch.einsum("k,ki,kj->ij", w, axis_mass[:, 0], axis_mass[:, 1]).numpy()


def _grid_side(modes: int) -> int:
    side = math.isqrt(modes)
    if side * side != modes or not 2 <= side <= 7:
        raise ValueError(f"a grid needs a square number of modes from 4 to 49 (m x m, m 2-7), got {modes}")
    return side


# name -> (mixture from a config, the values a config takes when this data set is chosen)
DATASETS: dict[str, tuple[Callable[[TrainConfig], Mixture], dict[str, float]]] = {
    "ring": (lambda c: ring(c.modes, c.radius, c.std), dict(modes=8, radius=2.0, std=0.02)),
    "grid": (lambda c: grid(_grid_side(c.modes), c.spacing, c.std), dict(modes=25, spacing=2.0, std=0.05)),
    "custom": (lambda c: custom(c.components), dict()),
    "painted": (lambda c: painted(c.points), dict()),
    "line": (lambda c: line(), dict(modes=3)),  # the paper's Figure 1: three Gaussians on a line
}
PLANE_DATASETS = ("ring", "grid", "custom", "painted")  # what the Train page draws; "line" is the Theory page's 1-D run


def mixture_for(config) -> Mixture:
    return DATASETS[config.dataset][0](config)


TRAIN_SET_STREAM = 2_000_003  # the training set's own stream: seed + this (Probe's fixed inputs use seed + 1_000_003)


@dataclass(frozen=True, eq=False)
class TrainingSet:
    """A finite training set: `points` (n, d) drawn once from p_data, and every batch drawn from them uniformly with
    replacement. PacGAN trains on such a set, `"num_sample": 100000` drawn once (`GaussianPackingMixture`,
    pacgan/datasets.py l.68-77), each pack slot's points drawn with replacement,
    `np.random.randint(0, num_examples, ...)` (l.73-75)."""

    points: torch.Tensor

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n points of the set, indices uniform with replacement from `generator` (the run's stream)."""
        return self.points[torch.randint(len(self.points), (n,), generator=generator)]


def training_data(mixture: Mixture, size: int, seed: int) -> Mixture | TrainingSet:
    """What a run's batches of real data are drawn from: p_data itself (size 0, a fresh draw every step), or a
    TrainingSet of `size` points drawn from it once, from the run's seed on a stream of its own, so the same seed
    gives the same set whenever it is drawn (a new run, a live change) and the training stream is untouched."""
    if size == 0:
        return mixture
    return TrainingSet(mixture.sample(size, torch.Generator().manual_seed(seed + TRAIN_SET_STREAM)))
