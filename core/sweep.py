"""Many seeds of one config trained together: N GANs as one batch of matrix products.

Each layer of the N generators (and of the N discriminators) is one (N, in, out) weight tensor applied
with torch.baddbmm, and one Adam steps all of them: Adam is elementwise, so seed i's weights see
exactly the update a single run would give them. The loss summed over seeds has, for seed i, the
gradient of seed i's own loss.

Seed i of a sweep against a single run with seed i: the same initial weights (built by the same
`build_players`), the same minibatches and noise (seed i draws from its own generator in the single
run's order), and the same update rule, so the two agree up to floating-point rounding: a batched
matrix product sums in another order than a plain one. Over thousands of steps of a chaotic game those
last-bit differences grow, so long runs are equal in distribution rather than identical; over the first
20 iterations the weights agree to within 6e-8 in absolute value (the weights reach 0.7), measured with
tests/test_sweep.py's config and its three losses.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .config import MEMORY_BUDGET, ConfigError, TrainConfig, footprint
from .data import mixture_for
from .grid import jsd
from .losses import LOSSES, clip_weights_, gradient_penalty
from .metrics import generator_metrics, mode_statistics
from .models import LATENTS, frozen
from .remedies import REMEDIES
from .snapshot import Probe
from .training import GAN, make_optimizer

SINGLE_RUN_ONLY = (
    "feature-matching",
    "minibatch-discrimination",
    "historical-averaging",
    "unrolled",
    "packing",
    "g-average",
)
# Settings the stacked networks cannot take either: (setting, whether config uses it, why). Maxout, an
# initialisation and a finite training set can: StackedMLP applies any activation to the last dimension, the
# weights are the single runs' own, and each seed draws its batches from its own run's data.
SINGLE_RUN_SETTINGS: tuple[tuple[str, Callable[[TrainConfig], bool], str], ...] = (
    ("spectral_norm", lambda c: c.spectral_norm, "sweeps train without spectral normalisation"),
    (
        "g_norm",
        lambda c: c.g_norm != "none",
        "batch norm in G is trained one seed at a time, not in a batched sweep",
    ),
    (
        "simultaneous",
        lambda c: c.simultaneous,
        "updates of G and D at once are trained one seed at a time, not in a batched sweep",
    ),
)
MAX_SEEDS = 64  # seeds of one sweep: memory grows with them (~4.5 MB each for ring8, 1,000 reached 4.5 GB)
METRICS = ("d_real", "d_fake", "modes_captured", "high_quality", "reverse_kl", "jsd", "loss_d", "loss_g")


class StackedMLP(nn.Module):
    """N MLPs of the same shape as one module: x (N, B, in) -> (N, B, out). Their Linear layers have biases and one
    activation of the last dimension, any of core.models.ACTIVATIONS (maxout's Linear has width x pieces outputs,
    which its Maxout reduces); a G with batch norm is not such an MLP (`unbatchable`)."""

    def __init__(self, nets: list[nn.Sequential]):
        super().__init__()
        # layers[i]: the i-th Linear of every net
        layers = list(zip(*([m for m in net if isinstance(m, nn.Linear)] for net in nets), strict=True))
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.stack([m.weight.detach().T for m in layer]).contiguous()) for layer in layers]
        )
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.stack([m.bias.detach()[None] for m in layer]).contiguous()) for layer in layers]
        )
        self.activation = nets[0][1] if len(nets[0]) > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = self.activation(x)
        return x


@dataclass
class SweepResult:
    seeds: list[int]
    curves: dict  # metric -> (evaluations, seeds) array; "iteration" -> (evaluations,)
    seconds: float

    def final(self) -> list[dict]:
        return [dict(seed=s, **{m: float(self.curves[m][-1, i]) for m in METRICS}) for i, s in enumerate(self.seeds)]

    def summary(self) -> dict:
        """Mean, standard deviation and standard error over seeds of each final metric."""
        rows = self.final()
        out = {}
        for m in METRICS:
            values = [r[m] for r in rows]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            out[m] = dict(mean=statistics.fmean(values), std=std, se=std / math.sqrt(len(values)))
        return out


class Sweep:
    """N seeds (config.seed, config.seed + 1, …) of one config, trained in one batch."""

    def __init__(self, config: TrainConfig, seeds: int):
        refusal = unbatchable(config)
        if refusal is not None:
            raise refusal
        self.config, self.loss = config, LOSSES[config.loss]
        self.seeds = [config.seed + i for i in range(seeds)]
        singles = [GAN(config.replace(seed=s)) for s in self.seeds]  # the very initial weights of single runs
        self.mixture = mixture_for(config)
        self.G = StackedMLP([g.G for g in singles])
        self.D = StackedMLP([g.D.plain() for g in singles])
        self.rngs = [g.rng for g in singles]
        self.data = [g.data for g in singles]  # p_data, or each seed's own training set (train_set)
        self.probes = [Probe(g) for g in singles]
        betas = (config.beta1, config.beta2)
        self.opt_g = make_optimizer(config.optimizer, self.G.parameters(), config.lr_g, betas)
        self.opt_d = make_optimizer(config.optimizer, self.D.parameters(), config.lr_d, betas)
        self.iteration = 0
        self.last = dict(loss_d=np.full(len(self.seeds), np.nan), loss_g=np.full(len(self.seeds), np.nan))

    def _latent(self, n: int, rng: torch.Generator) -> torch.Tensor:
        return LATENTS[self.config.latent](n, self.config.latent_dim, rng)

    def d_step(self) -> None:
        c, n = self.config, len(self.seeds)
        reals, zs = [], []
        for rng, data in zip(self.rngs, self.data, strict=True):  # each seed's draws in its run's order: data, noise
            reals.append(data.sample(c.batch_size, rng))
            zs.append(self._latent(c.batch_size, rng))
        real, z = torch.stack(reals), torch.stack(zs)
        with torch.no_grad():
            fake = self.G(z)
        out = self.D(torch.cat([real, fake], 1))
        per_seed = torch.stack(
            [self.loss.d(out[i, : c.batch_size], out[i, c.batch_size :], c.label_smoothing) for i in range(n)]
        )
        if self.loss.gradient_penalty:  # each seed's t from its own generator, as in its single run
            t = torch.stack([torch.rand(c.batch_size, 1, generator=rng) for rng in self.rngs])
            per_seed = per_seed + c.gp_lambda * gradient_penalty(self.D, real, fake, t=t)
        self.opt_d.zero_grad(set_to_none=True)
        per_seed.sum().backward()  # seed i's weights get the gradient of seed i's loss only
        self.opt_d.step()
        if self.loss.clip_weights:
            clip_weights_(self.D, c.clip)
        self.last["loss_d"] = per_seed.detach().numpy().copy()

    def g_step(self) -> None:
        c = self.config
        z = torch.stack([self._latent(c.batch_size, rng) for rng in self.rngs])
        with frozen(self.D):
            out = self.D(self.G(z))
            per_seed = torch.stack([self.loss.g(out[i]) for i in range(len(self.seeds))])
            self.opt_g.zero_grad(set_to_none=True)
            per_seed.sum().backward()
        self.opt_g.step()
        self.last["loss_g"] = per_seed.detach().numpy().copy()

    def train_iteration(self) -> None:
        """Algorithm 1's iteration, as GAN.train_iteration: k updates of D, then g_steps updates of G."""
        for _ in range(self.config.k):
            self.d_step()
        for _ in range(self.config.g_steps):
            self.g_step()
        self.iteration += 1

    def evaluate(self) -> dict:
        """Each seed's metrics on its own fixed evaluation noise (the same as its single run's)."""
        with torch.no_grad():
            fake = self.G(torch.stack([p.z_eval for p in self.probes]))
            real = torch.stack([p.real_eval for p in self.probes])
            d_real = self.loss.output(self.D(real)).mean((1, 2)).numpy()
            d_fake = self.loss.output(self.D(fake)).mean((1, 2)).numpy()
        rows: dict[str, list[float]] = {m: [] for m in ("modes_captured", "high_quality", "reverse_kl", "jsd")}
        for samples in fake.numpy():
            stats = mode_statistics(samples, self.mixture)
            rows["modes_captured"].append(stats.modes_captured)
            rows["high_quality"].append(stats.high_quality)
            rows["reverse_kl"].append(stats.reverse_kl)
            rows["jsd"].append(jsd(samples, self.mixture, self.config.grid_size))
        return dict(
            d_real=d_real,
            d_fake=d_fake,
            **{k: np.array(v, dtype=np.float64) for k, v in rows.items()},
            loss_d=self.last["loss_d"],
            loss_g=self.last["loss_g"],
        )


class SeedBySeed:
    """The same interface for configs a batched sweep cannot take (the remedies that change D's input,
    G's loss or add a penalty): one GAN per seed, each stepped in turn."""

    def __init__(self, config: TrainConfig, seeds: int):
        self.config = config
        self.seeds = [config.seed + i for i in range(seeds)]
        self.gans = [GAN(config.replace(seed=s)) for s in self.seeds]
        self.probes = [Probe(g) for g in self.gans]

    def train_iteration(self) -> None:
        for gan in self.gans:
            gan.train_iteration()

    def evaluate(self) -> dict:
        pairs = zip(self.gans, self.probes, strict=True)
        rows = [generator_metrics(gan, probe.z_eval, probe.real_eval)[0] for gan, probe in pairs]
        out = {
            m: np.array([getattr(r, m) for r in rows], dtype=np.float64)
            for m in METRICS
            if m not in ("loss_d", "loss_g")
        }
        return out | {m: np.array([g.last[m] for g in self.gans]) for m in ("loss_d", "loss_g")}


def unbatchable(config: TrainConfig) -> ConfigError | None:
    """Why `config`'s seeds cannot be trained as one batch of matrix products, or None if they can (then
    `run_sweep` trains them seed by seed)."""
    for setting_name, uses, why in SINGLE_RUN_SETTINGS:
        if uses(config):
            return ConfigError(setting_name, why)
    for name in SINGLE_RUN_ONLY:
        if REMEDIES[name].active(config):
            return ConfigError(
                REMEDIES[name].settings[0],
                f"{REMEDIES[name].title.lower()} is trained one seed at a time, not in a batched sweep",
            )
    return None


def check_seeds(config: TrainConfig, seeds: int) -> None:
    """ConfigError("seeds", why) unless a sweep of `seeds` seeds fits: 1 to MAX_SEEDS, and, batched, seeds x
    one run's training-iteration footprint (core.config.footprint) within the one-run MEMORY_BUDGET, since
    every seed's batch is in the same matrix products (measured: +40 MB a seed at batch 1,024 and hidden
    512, where the estimate says 72 MB; 32 such seeds took 1.3 GB). Seed by seed, one run at a time."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError("seeds", f"a sweep trains 1 to {MAX_SEEDS} seeds, got {seeds}")
    size, names = footprint(config)["one training iteration"]
    if unbatchable(config) is None and seeds * size > MEMORY_BUDGET:
        raise ConfigError(
            "seeds",
            f"{seeds} seeds trained together would need about {seeds * size / 2**30:.2g} GB an iteration and a "
            f"sweep may use at most {MEMORY_BUDGET / 2**30:.2g} GB; use at most {max(1, int(MEMORY_BUDGET // size))} "
            f"seeds, or lower {', '.join(names[:-1])} or {names[-1]}",
        )


def run_sweep(
    config: TrainConfig, seeds: int, steps: int | None = None, eval_every: int | None = None, progress=None
) -> SweepResult:
    """Train `seeds` seeds for `steps` iterations, evaluating every `eval_every`. progress(done, total) is
    called after every iteration; an exception it raises ends the sweep there (how a caller cancels).
    Batched when the config allows it, else seed by seed (same numbers as single runs, slower)."""
    check_seeds(config, seeds)
    steps, eval_every = steps or config.steps, eval_every or config.eval_every
    sweep = Sweep(config, seeds) if unbatchable(config) is None else SeedBySeed(config, seeds)
    curves: dict[str, list[np.ndarray | int]] = {m: [] for m in (*METRICS, "iteration")}
    started = time.perf_counter()
    for step in range(1, steps + 1):
        sweep.train_iteration()
        if step % eval_every == 0 or step == steps:
            for name, values in sweep.evaluate().items():
                curves[name].append(values)
            curves["iteration"].append(step)
        if progress is not None:
            progress(step, steps)
    return SweepResult(sweep.seeds, {k: np.asarray(v) for k, v in curves.items()}, time.perf_counter() - started)
