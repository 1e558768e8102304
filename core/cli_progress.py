"""A batch of runs from the command line (explore, reproduce): a progress bar with the iterations/s, and an end
that keeps what is done — Ctrl-C exits 130 and a lost worker 1, each saying how many runs are done and where."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

from .executors import ExecutorUnavailable, default_workers


def add_executor_flags(sub, max_workers: int, one_runs_here: bool) -> None:
    """--workers and --ray, as every batch of runs takes them (core.executors: local processes or Ray)."""
    here = "; 1 runs here" if one_runs_here else ""
    sub.add_argument(
        "--workers",
        type=max_workers,
        default=default_workers(),
        help=f"processes (or a local Ray's CPUs) at once, one torch thread each{here} (default: all cores)",
    )
    sub.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run on a Ray cluster at ADDRESS, or on a Ray started here (pip install -r requirements-cluster.txt)",
    )


def run_with_progress(sub, command: str, result, done: Callable[[Any], int], total: int, steps: int,
                      run: Callable[[Callable], None], saved: str) -> int:  # fmt: skip
    """`run(on_run)` computes `result`'s missing runs, calling on_run(result) after each; `done(result)` counts
    the runs finished. Returns the exit code: 0, 130 (interrupted) or 1 (stopped); `--ray` that cannot run
    exits 2 through `sub.error`. `saved`: where what is done was kept, and how to finish it."""
    started, first = time.perf_counter(), done(result)
    bar = tqdm(total=total, initial=first, unit="run", file=sys.stderr, dynamic_ncols=True, desc=command)

    def progress(r) -> None:
        bar.update(done(r) - bar.n)
        its = (done(r) - first) * steps / (time.perf_counter() - started)
        bar.set_postfix_str(f"{its:,.0f} it/s")

    try:
        run(progress)
    except ExecutorUnavailable as error:
        bar.close()
        sub.error(f"argument --ray: {error}")
    except (KeyboardInterrupt, Exception) as error:  # a lost worker, Ctrl-C: what is done is saved
        bar.close()
        why = "interrupted" if isinstance(error, KeyboardInterrupt) else f"stopped ({type(error).__name__})"
        print(f"{command}: {why}: {done(result)} of {total} runs done, {saved}", file=sys.stderr)
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    bar.close()
    return 0
