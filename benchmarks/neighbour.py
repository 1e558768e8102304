"""What a busy neighbour core costs one training thread that has a core of its own (issue 18 §1's ceiling).

The training loop (core.training.GAN, default config, one torch thread) is pinned to core 0. In rounds of
--seconds that alternate, core 1 is idle, or runs a spinner pinned to it: `yes > /dev/null` (a C loop, little
memory), a Python loop (more like an event loop or a browser's script), or 64 MB copies (memory bandwidth and
the shared cache, more like a browser compositing). No round shares a core, so any slowdown is not the
scheduler's: it is the cores' shared caches, memory bandwidth, or the hypervisor's vCPUs being threads of one
host core. We print the median iterations/s of each and the
ratio to idle: the most the lecturer's run can keep while anything at all runs on the other core.

    python -m benchmarks.neighbour [--rounds 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch

from core.config import TrainConfig
from core.training import GAN

SPINNERS = {
    "idle": None,
    "yes": ["sh", "-c", "exec yes > /dev/null"],
    "python": [sys.executable, "-c", "while True: pass"],
    "memory": [sys.executable, "-c", "import numpy\na = numpy.ones(2**23); b = a.copy()\nwhile 1: b[:] = a"],
}


def rate(gan: GAN, seconds: float) -> float:
    start, t0 = gan.iteration, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        gan.train_iteration()
    return (gan.iteration - start) / (time.perf_counter() - t0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("neighbour: needs two cores")
    first, second = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, {first})
    torch.set_num_threads(1)
    gan = GAN(TrainConfig())
    rate(gan, 1.0)  # warm up
    rates: dict[str, list[float]] = {name: [] for name in SPINNERS}
    for _ in range(args.rounds):
        for name, command in SPINNERS.items():
            spinner = None
            if command:
                spinner = subprocess.Popen(command, preexec_fn=lambda: os.sched_setaffinity(0, {second}))
                time.sleep(0.2)
            try:
                rates[name].append(rate(gan, args.seconds))
            finally:
                if spinner:
                    spinner.kill()
                    spinner.wait()
    print(f"training on core {first}, the neighbour on core {second}; {args.rounds} rounds of {args.seconds:g} s")
    for name, values in rates.items():
        ratios = [v / i for v, i in zip(values, rates["idle"], strict=True)]
        print(
            f"  neighbour {name:7s} {statistics.median(values):7.1f} it/s   "
            f"ratio to idle {statistics.median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
