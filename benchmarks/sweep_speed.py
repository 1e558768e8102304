"""A batched sweep's wall time against one seed and against the same seeds run one after another.

    python -m benchmarks.sweep_speed [--seeds 16] [--steps 100] [--threads N] [--batch-size 256]

All three in one run, alternating twice (the machine is noisy: only ratios taken together mean anything).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from core.config import TrainConfig
from core.sweep import Sweep
from core.training import GAN


def timed(make, steps: int) -> float:
    runs = make()
    start = time.perf_counter()
    for _ in range(steps):
        for run in runs:
            run.train_iteration()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = TrainConfig(batch_size=args.batch_size)
    one, batched, sequential = [], [], []
    for _ in range(2):
        one.append(timed(lambda: [GAN(config)], args.steps))
        batched.append(timed(lambda: [Sweep(config, args.seeds)], args.steps))
        sequential.append(timed(lambda: [GAN(config.replace(seed=s)) for s in range(args.seeds)], args.steps))
    one, batched, sequential = (statistics.median(x) for x in (one, batched, sequential))
    print(
        f"{args.seeds} seeds x {args.steps} steps, MLPs G {config.g_layers}, D {config.d_layers}, "
        f"batch {config.batch_size}, {args.threads} thread(s)"
    )
    print(f"  one seed                   {one:7.2f} s")
    print(f"  {args.seeds} seeds batched          {batched:7.2f} s   = {batched / one:5.2f} x one seed (goal <= 3)")
    print(
        f"  {args.seeds} seeds one after another {sequential:7.2f} s   batched / sequential = "
        f"{batched / sequential:5.2f}"
    )


if __name__ == "__main__":
    main()
