"""Immutable pictures of a run for readers (the dashboard, tests): NumPy arrays and scalars, no torch.

A Snapshot is built by the thread that owns the GAN and published by swapping one reference; its
arrays are read-only, so a reader can never see a half-written frame.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .grid import grid_edges
from .losses import LOSSES, Loss
from .metrics import Metrics
from .models import Discriminator, frozen, inference
from .training import GAN


def _frozen_array(t) -> np.ndarray:
    a = np.ascontiguousarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float32)
    a.setflags(write=False)
    return a


class Probe:
    """The fixed inputs every snapshot and evaluation of a run uses, drawn from their own seeded stream
    (never the training stream): noise for the samples shown and for the metrics, real samples, the
    grid D is drawn on, and the points where the generator's gradient is drawn as arrows."""

    def __init__(self, gan: GAN):
        c, mixture = gan.config, gan.mixture
        stream = torch.Generator().manual_seed(c.seed + 1_000_003)
        self.z_shown = gan.latent(c.samples_shown, stream)
        self.real_shown = mixture.sample(c.samples_shown, stream)
        self.z_eval = gan.latent(c.eval_samples, stream)
        self.real_eval = mixture.sample(c.eval_samples, stream)
        self.bounds = mixture.bounds()
        self.grid = _cell_centres(grid_edges(mixture, c.grid_size))
        self.grid_shape = (c.grid_size,) * mixture.dim
        self.arrows_at = _cell_centres(grid_edges(mixture, c.arrow_grid))
        self.z_mesh = _latent_mesh(c.latent, c.latent_dim)
        self.p_data = _frozen_array(mixture.density(self.grid.numpy()).reshape(self.grid_shape))
        self.edges = grid_edges(mixture, c.grid_size)
        self.edges.setflags(write=False)
        self.modes = _frozen_array(mixture.modal.means)  # the modes the metrics count (painted: the clusters)


MESH_SIDE = 21


def _latent_mesh(latent: str, latent_dim: int) -> torch.Tensor:
    """A regular mesh over the first two noise coordinates (the rest 0): what G folds onto the data.
    Covers [-2, 2] for normal noise (95% of each coordinate), [-1, 1] for uniform noise."""
    reach = 2.0 if latent == "normal" else 1.0
    axis = torch.linspace(-reach, reach, MESH_SIDE)
    z = torch.zeros(1 if latent_dim == 1 else MESH_SIDE, MESH_SIDE, latent_dim)
    z[..., 0] = axis
    if latent_dim > 1:
        z[..., 1] = axis[:, None]
    return z


def _cell_centres(edges: np.ndarray) -> torch.Tensor:
    """Points at the centres of a grid's cells, x varying fastest (so a (B, B) reshape is [y, x])."""
    centres = [(e[1:] + e[:-1]) / 2 for e in edges]
    mesh = np.meshgrid(*centres, indexing="xy")
    return torch.tensor(np.stack([m.ravel() for m in mesh], 1), dtype=torch.float32)


@dataclass(frozen=True, eq=False)
class Snapshot:
    iteration: int  # completed iterations (k D updates + g_steps G updates each)
    d_steps: int
    g_steps: int
    elapsed: float  # seconds spent training
    its_per_s: float
    state: str
    message: str
    config: TrainConfig
    rebuilds: int  # how many times a setting rebuilt the networks
    bounds: np.ndarray  # (d, 2): [lo, hi] per axis of the square the views cover
    samples: np.ndarray  # (samples_shown, d): G applied to a fixed batch of z
    d_samples: np.ndarray  # (samples_shown,) D's output on those samples: D(G(z))
    real: np.ndarray  # (samples_shown, d): a fixed batch of data
    surface: np.ndarray  # (grid_size, grid_size) D's output on the cell centres, [y, x]
    surface_iteration: int  # the surface is refreshed less often than the samples: its own iteration
    p_data: np.ndarray  # (grid_size, grid_size) the true density on the same cells, [y, x]
    edges: np.ndarray  # (d, grid_size + 1) float64: the cells' edges per axis (core.grid), for every grid view
    modes: np.ndarray  # (K, d) the mixture's means
    surface_is_probability: bool  # True: D(x) in (0, 1); False: a critic's raw score
    arrows_at: np.ndarray  # (arrow_grid^2, d) positions
    arrows: np.ndarray  # (arrow_grid^2, d) -grad_x of G's per-sample loss: where G is pushed at x
    manifold: np.ndarray  # (rows, 21, d): G on a regular mesh of z (GAN Lab's manifold view)
    metrics: Metrics
    history: dict  # per iteration (thinned): iteration, loss_d, loss_g, d_real, d_fake, grad_norm_g
    eval_history: dict  # per evaluation: iteration, metrics, mode_<k> shares of high-quality samples

    def with_status(self, state: str, message: str) -> Snapshot:
        return dataclasses.replace(
            self, state=state, message=message, its_per_s=self.its_per_s if state == "running" else 0.0
        )

    @property
    def mode_shares(self) -> np.ndarray:
        """(evaluations, modes): each evaluation's share of samples per mode (the mode-collapse heatmap)."""
        cols = [self.eval_history[f"mode_{k}"] for k in range(self.metrics.modes_total)]
        return np.stack(cols, 1) if cols else np.zeros((0, 0))


class Still:
    """The run at one iteration, for building its frame while training goes on: copies of G and D holding
    that iteration's weights (`frame_copies`), and what a frame reads of the GAN (`picture`,
    core.metrics.generator_metrics). The copies are the still's alone until its frame is built."""

    judge = GAN.judge  # reads only D and the config

    def __init__(self, gan: GAN, G: nn.Module, D: Discriminator):
        self.G, self.D, self.config, self.mixture = G, D, gan.config, gan.mixture
        self.iteration, self.d_steps, self.g_steps = gan.iteration, gan.d_steps, gan.g_steps

    @property
    def loss(self) -> Loss:
        return LOSSES[self.config.loss]

    @property
    def shown_G(self) -> nn.Module:
        return self.G  # the copy of the live run's shown_G


def frame_copies(gan: GAN, copies: tuple | None) -> tuple:
    """(live G, live D, copy of G, copy of D) with the copies holding the live weights now (G: GAN.shown_G): the
    copies of `copies` when they are of the same networks (loading weights, ~0.1 ms), else new ones (a new D, a
    new run, G's average switched on or off)."""
    if copies is None or copies[0] is not gan.shown_G or copies[1] is not gan.D:
        copies = (gan.shown_G, gan.D, copy.deepcopy(gan.shown_G), copy.deepcopy(gan.D))
    for live, held in zip(copies[:2], copies[2:], strict=True):
        held.load_state_dict(live.state_dict())
    return copies


def picture(gan: GAN | Still, probe: Probe, *, with_surface: bool = True) -> dict:
    """The arrays of a snapshot that change with every frame: samples, the gradient field and (the
    costliest: D on every grid cell) D's surface.

    A D that compares samples (packs, minibatch features) judges each point among one training batch of
    G's current samples, through the same few packs for every point (`Discriminator.among`): the surface
    and d_samples are the mean of D's output over those packs, the arrows the gradient of the mean of G's
    per-sample loss over them, the push a sample of G at x gets in training on average. G draws in eval mode
    (`inference`): with batch norm, each sample is G of its own z, whatever else is drawn beside it."""
    out = dict(
        real=_frozen_array(probe.real_shown),
        bounds=_frozen_array(probe.bounds),
        p_data=probe.p_data,
        edges=probe.edges,
        modes=probe.modes,
        arrows_at=_frozen_array(probe.arrows_at),
        surface_is_probability=gan.loss.probability,
    )
    D, loss = gan.D, gan.loss
    with frozen(D), inference(gan.shown_G):  # as PacGAN's GraphLogger draws G's samples: batch norm's running stats
        with torch.no_grad():
            samples = gan.shown_G(probe.z_shown)
            context = samples[: gan.config.batch_size * D.pack] if D.batch_aware else None
            out["samples"] = _frozen_array(samples)
            out["d_samples"] = _frozen_array(loss.output(D.among(samples, context)).mean(0))
            out["manifold"] = _frozen_array(gan.shown_G(probe.z_mesh))
            if with_surface:
                surface = loss.output(D.among(probe.grid, context)).mean(0)
                out["surface"] = _frozen_array(surface.reshape(probe.grid_shape))
                out["surface_iteration"] = gan.iteration
        x = probe.arrows_at.clone().requires_grad_(True)
        # loss.g averages over packs and points: times n gives each point's own (pack-averaged) gradient
        (grad,) = torch.autograd.grad(loss.g(D.among(x, context).reshape(-1)) * len(x), x)
    out["arrows"] = _frozen_array(-grad)
    return out
