"""A paper's table on this machine (issue 19's speed): the wall time of a whole 10-seed table with local processes
and with a local Ray, and from the measured per-run cost the full protocol's time here and on a 64-core cluster.

    python -m benchmarks.reproduce_speed [--table pacgan-table1] [--seeds 10] [--iterations 200] [--workers 2]

1. Per row and data set, the seconds an iteration takes (seed 0, one torch thread, the least of two timings).
2. The whole table (every row, data set and seed) at `--iterations`, once with `local` and once with `ray`,
   in the order given by --order; each one's wall time, runs/min and efficiency (the runs' training time from
   1. over wall time x workers: the rest is building the networks, the ten evaluations of each run, the
   executor and two runs sharing the machine, all of which matter less the longer a run).
3. On paper, the table at the paper's iterations: the runs' training times from 1., longest first, each to the
   core free first (one run per core at a time), on `--workers` cores here and on 64.
The machine is shared and noisy: the figures of one invocation belong together.
"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import os
import time

from core.reproduce import Reproduction, run_table
from core.training import GAN
from tests.conftest import one_torch_thread

CLUSTER_CORES = 64


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def makespan(costs: list[float], cores: int) -> float:
    """The time `cores` cores take for `costs`, longest first, each run to the core that is free first."""
    free = [0.0] * cores
    for c in sorted(costs, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def per_iteration(table: Reproduction, iterations: int, repeats: int = 2) -> dict[tuple[str, str], float]:
    """(row, data set) -> seconds an iteration of seed 0 takes here (one torch thread, after 20 iterations of
    warm-up; the least of `repeats` timings of `iterations`: on a shared machine the least is the machine's)."""
    out = {}
    for row in table.table.rows:
        for dataset in table.table.datasets:
            gan = GAN(table.table.config(row, dataset, 0))
            for _ in range(20):
                gan.train_iteration()
            timings = []
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(iterations):
                    gan.train_iteration()
                timings.append((time.perf_counter() - start) / iterations)
            out[row, dataset] = min(timings)
            print(f"  {row:14s} {dataset}: {1 / out[row, dataset]:6.1f} it/s", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default="pacgan-table1")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--order", default="local,ray", help="the executors, in this order")
    args = parser.parse_args(argv)
    executors = [name for name in args.order.split(",") if name != "ray" or importlib.util.find_spec("ray")]
    probe = Reproduction(args.table, args.seeds, args.iterations)
    runs = len(probe.keys())
    print(f"{args.table}: {runs} runs ({args.seeds} seeds), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")

    print(f"1. an iteration's cost, one row after another ({args.iterations:,} iterations, twice):")
    with one_torch_thread():  # as every executor's run (core.executors.run_one_thread)
        cost = per_iteration(probe, args.iterations)

    print(f"2. the whole table at {args.iterations:,} iterations a run, {args.workers} workers:")
    efficiency = {}
    for name in executors:
        result = Reproduction(args.table, args.seeds, args.iterations)
        start = time.perf_counter()
        run_table(result, name, workers=args.workers)
        wall = time.perf_counter() - start
        assert len(result.runs) == runs, f"{name}: {len(result.runs)} of {runs} runs"
        own = sum(r["seconds"] for r in result.runs.values())
        training = args.seeds * sum(args.iterations * per for per in cost.values())
        efficiency[name] = training / (wall * args.workers)  # the rest: building, evaluating, the executor
        print(
            f"  {name:6s} {wall:7.1f} s wall, {60 * runs / wall:5.1f} runs/min, runs' own {own / runs:.2f} s each, "
            f"efficiency {efficiency[name]:.2f}",
            flush=True,
        )
    print(f"   load {os.getloadavg()[0]:.1f} after")

    full = probe.table.iterations
    run_seconds = {key: full * per for key, per in cost.items()}
    costs = [c for c in run_seconds.values() for _ in range(args.seeds)]
    print(f"3. on paper, the table as the paper ran it ({full:,} iterations a run, {args.seeds} seeds), each core")
    print("   training at the speed of 1. (building and evaluating a run add seconds to hours of training):")
    print(f"   {hours(sum(costs))} of training; the longest run {hours(max(costs))}")
    print(f"   here, {args.workers} cores: {hours(makespan(costs, args.workers))}")
    print(f"   {CLUSTER_CORES} cores as fast as one here: {hours(makespan(costs, CLUSTER_CORES))}")


if __name__ == "__main__":
    main()
