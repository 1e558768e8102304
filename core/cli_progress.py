"""A batch of runs from the command line (explore, reproduce): a progress bar with the iterations/s, and an end
that keeps what is done — Ctrl-C exits 130 and a lost worker 1, each saying how many runs are done and where."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

from .executors import ExecutorUnavailable


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
