"""Training speed, measured side by side in one process (the machine is noisy: only ratios mean anything).

1. Our step (core.training.GAN) vs a plain hand-written PyTorch loop: same MLPs and initial weights, same
   batch, same Adam settings, same k. Rounds of N iterations alternate A B A B…; we print the median
   iterations/s of each and the median of the per-round ratios.
2. The live runner vs our bare loop, alternating: unwatched, and read every 0.1 s as the dashboard reads it
   (a snapshot every 0.1 s, metrics every 0.5 s).
3. What one snapshot costs: the picture (samples, D's surface, gradient arrows) and the metrics.
4. What each remedy costs per iteration, relative to the plain step (paired rounds, 1 thread), and what
   an unrolled G step costs in units of one D step (a D forward + backward on a batch): the issue hoped
   for about K + 1. Differentiating through an update costs more than the update: its backward keeps
   a graph and G's backward runs through that too; the last table splits the second-order cost from
   the first-order one (which would drop the term that makes unrolling a remedy).

    python -m benchmarks.train_speed [--rounds 7] [--iterations 200] [--threads 1] [--k 1] [--only remedies]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call

from core.config import TrainConfig
from core.metrics import generator_metrics
from core.models import build_players, frozen
from core.remedies import unrolled_parameters
from core.runner import Runner
from core.snapshot import Probe, picture
from core.training import GAN


class PlainLoop:
    """What a tutorial writes: separate D forwards on real and fake, BCEWithLogits, default Adam,
    D's gradients computed (and discarded) during G's step."""

    def __init__(self, config: TrainConfig):
        self.c = config
        self.mixture = GAN(config).mixture
        self.G, self.D = build_players(2, config.latent_dim, config.g_layers, config.d_layers, False, config.seed)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=betas)
        self.rng = torch.Generator().manual_seed(config.seed)
        self.ones = torch.ones(config.batch_size, 1)
        self.zeros = torch.zeros(config.batch_size, 1)

    def train_iteration(self):
        c = self.c
        for _ in range(c.k):
            real = self.mixture.sample(c.batch_size, self.rng)
            fake = self.G(torch.randn(c.batch_size, c.latent_dim, generator=self.rng)).detach()
            loss_d = F.binary_cross_entropy_with_logits(self.D(real), self.ones) + F.binary_cross_entropy_with_logits(
                self.D(fake), self.zeros
            )
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
        fake = self.G(torch.randn(c.batch_size, c.latent_dim, generator=self.rng))
        loss_g = F.binary_cross_entropy_with_logits(self.D(fake), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        return loss_d.item(), loss_g.item()  # a loop logs its losses; ours keeps them too


def rate(step, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return n / (time.perf_counter() - start)


def runner_rate(config: TrainConfig, seconds: float, threads: int, watched: bool) -> float:
    """Iterations/s of a running Runner; watched: a reader takes a snapshot every 0.1 s, as the dashboard
    does (the runner only builds snapshots that someone reads)."""
    with Runner(config, threads=threads, idle_timeout=None) as runner:
        first = runner.advance(1, wait=True)  # paused at a known iteration
        runner.start()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            time.sleep(0.1 if watched else seconds)
            if watched:
                runner.snapshot()
        runner.pause()
        wall = time.perf_counter() - start
        runner.wait_parked(30)  # pausing publishes the exact iteration
        return (runner.snapshot().iteration - first.iteration) / wall


def paired(name_a, a, name_b, b, rounds: int):
    ra, rb = [], []
    for _ in range(rounds):
        ra.append(a())
        rb.append(b())
    ratios = [x / y for x, y in zip(ra, rb, strict=True)]
    print(f"  {name_a:<28} {statistics.median(ra):8.1f} it/s   (min {min(ra):.1f}, max {max(ra):.1f})")
    print(f"  {name_b:<28} {statistics.median(rb):8.1f} it/s   (min {min(rb):.1f}, max {max(rb):.1f})")
    print(
        f"  ratio {name_a} / {name_b}: median {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}) over {rounds} paired rounds"
    )
    return statistics.median(ratios)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200, help="iterations per round of the step comparison")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per round of the runner comparison")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--only", choices=("remedies",), help="run only section 4")
    args = parser.parse_args(argv)
    if args.only == "remedies":
        return remedy_costs(TrainConfig(k=args.k), max(3, args.rounds // 2), max(20, args.iterations // 4))
    torch.set_num_threads(args.threads)
    config = TrainConfig(k=args.k)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s); MLPs G {config.g_layers}, D {config.d_layers}, "
        f"batch {config.batch_size}, k {config.k}, Adam lr {config.lr_d:g}"
    )

    ours, plain = GAN(config), PlainLoop(config)
    for _ in range(20):  # warm-up: allocator, kernels
        ours.train_iteration()
        plain.train_iteration()
    print("\n1. training step: ours vs a plain PyTorch loop")
    paired(
        "ours (core.training)",
        lambda: rate(ours.train_iteration, args.iterations),
        "plain PyTorch loop",
        lambda: rate(plain.train_iteration, args.iterations),
        args.rounds,
    )

    # A training thread gains nothing from a second OpenMP thread here (measured: ~130 it/s with 1 or 2 in a
    # thread, vs ~185 with 2 in the main thread), and the dashboard runs it with 1 (docs/architecture.md):
    # compare there.
    torch.set_num_threads(1)
    print(f"\n2. the live runner vs our bare loop, both with 1 torch thread, {args.seconds:g} s rounds")
    bare = GAN(config)

    def bare_rate():
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            bare.train_iteration()
            n += 1
        return n / (time.perf_counter() - start)

    rounds = max(3, args.rounds // 2)
    paired("runner, unwatched", lambda: runner_rate(config, args.seconds, 1, False), "bare loop", bare_rate, rounds)
    paired(
        "runner, read every 0.1 s", lambda: runner_rate(config, args.seconds, 1, True), "bare loop", bare_rate, rounds
    )

    print("\n3. cost of one snapshot, 1 torch thread (median of 30, ms)")
    probe = Probe(ours)
    for label, fn in (
        ("picture: samples + D surface + arrows", lambda: picture(ours, probe)),
        ("picture without the surface", lambda: picture(ours, probe, with_surface=False)),
        ("metrics without JSD", lambda: generator_metrics(ours, probe.z_eval, probe.real_eval, with_jsd=False)),
        ("metrics with JSD", lambda: generator_metrics(ours, probe.z_eval, probe.real_eval)),
        ("one training iteration", ours.train_iteration),
    ):
        times = []
        for _ in range(30):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        print(f"  {label:<40} {statistics.median(times):7.2f} ms")

    remedy_costs(config, max(3, args.rounds // 2), max(20, args.iterations // 4))


REMEDY_RUNS = {
    "feature matching W=1": dict(feature_matching=1.0),
    "minibatch discrimination (kernel)": dict(minibatch_discrimination=True),
    "minibatch discrimination (stddev)": dict(minibatch_discrimination=True, minibatch_kind="stddev"),
    "historical averaging": dict(historical_averaging=0.1),
    **{f"unrolled K={k}": dict(unrolled=k) for k in (1, 3, 5, 10)},
    "packing m=2": dict(pack=2),
    "packing m=4": dict(pack=4),
    "spectral norm": dict(spectral_norm=True),
    "averaged G (beta 0.999)": dict(g_ema=0.999),
}


def unroll_seconds(gan: GAN, k: int, second_order: bool, iterations: int) -> float:
    """Seconds for K unrolled D updates and G's backward through them (no optimizer step)."""
    c = gan.config
    real, z = gan.mixture.sample(c.batch_size, gan.rng), gan.latent(c.batch_size)

    def d_loss(call):
        out_real, out_fake = call(torch.cat([real, fake]), groups=2).chunk(2)
        return gan.loss.d(out_real, out_fake, 0.0)

    start = time.perf_counter()
    for _ in range(iterations):
        fake = gan.G(z)
        with frozen(gan.D):
            params = unrolled_parameters(gan.D, d_loss, k, gan.opt_d, c.lr_d, second_order=second_order)
            gan.loss.g(functional_call(gan.D, params, (fake,))).backward()
    return (time.perf_counter() - start) / iterations


def remedy_costs(config: TrainConfig, rounds: int, iterations: int) -> None:
    torch.set_num_threads(1)
    print(
        f"\n4. cost of each remedy: seconds per iteration / plain seconds per iteration, 1 thread, "
        f"{rounds} paired rounds of {iterations} iterations (median, min-max)"
    )
    plain = GAN(config)
    for name, changes in REMEDY_RUNS.items():
        remedied = GAN(config.replace(**changes))
        for _ in range(3):
            plain.train_iteration()
            remedied.train_iteration()
        ratios = []
        for _ in range(rounds):
            ratios.append(rate(plain.train_iteration, iterations) / rate(remedied.train_iteration, iterations))
        print(f"  {name:<36} x{statistics.median(ratios):5.2f}   ({min(ratios):.2f}-{max(ratios):.2f})")

    print("\n   an unrolled G step in units of one D step (median of paired rounds); K + 1 is the goal")
    d_step_gan = GAN(config)
    for k in (1, 3, 5, 10):
        unrolled, base = GAN(config.replace(unrolled=k)), GAN(config)
        units = []
        for _ in range(rounds):
            t_d = 1 / rate(d_step_gan.d_step, iterations)
            t_g0 = 1 / rate(base.g_step, iterations)
            t_gk = 1 / rate(unrolled.g_step, max(5, iterations // (k + 1)))
            units.append((t_gk - t_g0) / t_d)
        print(f"  K = {k:<3} extra cost of G's step: {statistics.median(units):5.2f} D steps   (K + 1 = {k + 1})")

    print("\n   where it goes: K unrolled updates + G's backward through them, in D steps (median of rounds)")
    gan = GAN(config)
    for k in (1, 5, 10):
        row = []
        for second_order in (True, False):
            units = []
            for _ in range(rounds):
                t_d = 1 / rate(d_step_gan.d_step, iterations)
                units.append(unroll_seconds(gan, k, second_order, max(5, iterations // (k + 1))) / t_d)
            row.append(statistics.median(units))
        print(f"  K = {k:<3} through the updates (second order) {row[0]:5.2f}   first order {row[1]:5.2f}")


if __name__ == "__main__":
    main()
