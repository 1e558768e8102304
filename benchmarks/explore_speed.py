"""Explore's executors on this machine: runs per minute of one list of runs computed serially, by `local` and by
`ray` (a Ray started here, if installed), each one's overhead per run, Ray's start + stop, and on paper what a
64-core Ray cluster would do with the measured costs.

    python -m benchmarks.explore_speed [--steps 500] [--runs 8] [--workers 2] [--repeat 2]

The runs: a 2 x 2 grid (lr_d x lr_g) of ring8's config, runs / 4 seeds per cell. All executors in one process,
the order reversed on each repeat (the machine is noisy: only ratios taken together mean anything). Overhead per
run = (wall time x workers - the sum of the runs' own times) / runs: the core-seconds an executor spends besides
computing runs (starting processes, sending configs, waiting); the runs' own times include any slowdown of two
runs sharing the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time

from core.executors import ray, run_exploration
from core.explore import Exploration, Grid, parse_axis
from core.presets import PRESETS


def timed(grid: Grid, executor: str, workers: int) -> tuple[float, float]:
    """(wall seconds, sum of the runs' own seconds) of the whole grid with `executor`."""
    start = time.perf_counter()
    result = run_exploration(Exploration(grid, "ring8"), executor, workers=workers)
    wall = time.perf_counter() - start
    assert result.done == len(grid.runs()), f"{executor}: {result.done} of {len(grid.runs())} runs"
    return wall, float(result.values["seconds"].sum())


def ray_start_stop(workers: int) -> float:
    """The ray executor with no runs: starting a Ray of `workers` CPUs here and shutting it down."""
    start = time.perf_counter()
    list(ray([], workers, None))
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--runs", type=int, default=8, help="rounded to a multiple of 4 (2 x 2 cells)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    seeds = tuple(range(max(1, round(args.runs / 4))))
    grid = Grid(PRESETS["ring8"].config, parse_axis("lr_d=2e-4,1e-3"), parse_axis("lr_g=2e-4,1e-3"), seeds, args.steps)
    runs = len(grid.runs())
    workers = dict(serial=1, local=args.workers)
    if importlib.util.find_spec("ray") is not None:
        workers["ray"] = args.workers
    walls: dict[str, list[float]] = {name: [] for name in workers}
    own: dict[str, list[float]] = {name: [] for name in workers}
    start_stop: list[float] = []
    print(f"load average {os.getloadavg()[0]:.1f} before")
    print(
        f"{runs} runs (2 x 2 cells x {len(seeds)} seeds) of ring8, {args.steps} steps each, {os.cpu_count()} cores; "
        f"{args.repeat} rounds of {', '.join(workers)} (order reversed each round)"
        + ("" if "ray" in workers else "; Ray is not installed: no ray column")
    )
    for round_ in range(args.repeat):
        order = list(workers) if round_ % 2 == 0 else list(workers)[::-1]
        for name in order:
            if name == "ray":
                start_stop.append(ray_start_stop(workers[name]))
            wall, seconds = timed(grid, name, workers[name])
            walls[name].append(wall)
            own[name].append(seconds)
            print(f"  round {round_ + 1}: {name:6s} {wall:6.1f} s wall, runs' own {seconds / runs:5.2f} s each")

    print(f"load average {os.getloadavg()[0]:.1f} after")
    rate = {name: 60 * runs * len(w) / sum(w) for name, w in walls.items()}
    overhead = {
        name: (sum(walls[name]) * workers[name] - sum(own[name])) / (runs * len(walls[name])) for name in workers
    }
    run_seconds = {name: sum(own[name]) / (runs * len(own[name])) for name in workers}
    print()
    print("executor  workers  runs/min  x serial  run's own s  overhead/run (core-s)")
    for name in workers:
        print(
            f"{name:8s}  {workers[name]:7d}  {rate[name]:8.1f}  {rate[name] / rate['serial']:8.2f}  "
            f"{run_seconds[name]:11.2f}  {overhead[name]:8.2f}"
        )
    if "ray" not in workers:
        return
    ray_up = statistics.median(start_stop)
    ray_overhead = overhead["ray"] - ray_up * workers["ray"] / runs
    print(
        f"Ray start + stop (the executor with no runs): {', '.join(f'{s:.1f}' for s in start_stop)} s, median "
        f"{ray_up:.1f} s; it is in ray's wall time above: without it, ray's overhead is {ray_overhead:.2f} core-s "
        f"per run"
    )

    # on paper: a 64-core cluster in the time this machine takes for 4 runs
    cores, cost = 64, run_seconds["serial"] + max(ray_overhead, 0.0)
    best = max(rate, key=lambda name: rate[name])
    window = 4 * 60 / rate[best]
    print()
    print(f"On paper, a {cores}-core Ray cluster. Assumed: one run per core, a core as fast as one here running")
    print("alone (the serial run time), Ray's overhead per run as measured here without start-up, start-up")
    print("amortised over a long grid, the cluster's network and scheduling otherwise free.")
    print(
        f"  one run on a cluster core: {run_seconds['serial']:.2f} s + {max(ray_overhead, 0.0):.2f} s Ray = "
        f"{cost:.2f} core-s (an upper bound: with {runs} runs, fixed costs per worker process are in it)"
    )
    print(f"  this machine, 4 runs: 4 / {rate[best]:.1f} runs/min ({best}, its fastest here) = {window:.1f} s")
    print(
        f"  the cluster in {window:.1f} s: {cores} x {window:.1f} / {cost:.2f} = {cores * window / cost:.0f} runs "
        f"({cores * int(window // cost)} counting whole runs per core), {cores * window / cost / 4:.0f} x this machine"
    )


if __name__ == "__main__":
    main()
