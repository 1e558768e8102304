"""An exploration's missing runs trained one after another on a thread of their own: the Explore page's job.

A `core.background.BackgroundJob`: admitted by the training slots, cancelled by its owner. The runs are
`core.executors`' "serial" ones on one torch thread, the same numbers as any other executor's; a cancel stops
the run in progress within core.explore.CANCEL_EVERY iterations (that run is not recorded).

The thread records into its own Exploration; after each run it publishes a copy (`snapshot`) by assigning one
attribute, as the runner publishes its frames, so a page never reads a run half-recorded.
"""

from __future__ import annotations

import copy
import time

from .background import BackgroundJob
from .executors import run_exploration
from .explore import Exploration
from .runner import IDLE, STOPPED


class ExploreJob(BackgroundJob):
    """The missing runs of `result`. States: idle (made, waiting for a slot) -> running (its thread trains) ->
    stopped (finished, cancelled or failed: `error` says which; None when every run is done)."""

    def __init__(self, result: Exploration):
        self._result = copy.deepcopy(result)  # the thread's own (the caller's is never written): only it records
        self.snapshot: Exploration = copy.deepcopy(result)  # what readers see, replaced whole after each run
        self.total = len(result.grid.runs())
        self.trained = 0  # runs this job computed (a resumed file's earlier runs are not counted)
        self.started_at: float | None = None
        self.last_run_at: float | None = None
        super().__init__("minimax-explore")

    @property
    def cancelling(self) -> bool:
        """Cancelled, and stopping the run it is in (within CANCEL_EVERY iterations)."""
        return self._cancel.is_set() and self.thread.is_alive()

    @property
    def done(self) -> int:
        """Runs done so far, those of a resumed file included."""
        return self.snapshot.done

    @property
    def fraction(self) -> float:
        return self.done / self.total

    def runs_per_minute(self) -> float | None:
        """This job's pace so far: runs it computed over the time since its thread started; None before its
        first run (nothing measured yet)."""
        if not self.trained or self.started_at is None or self.last_run_at is None:
            return None
        return 60.0 * self.trained / max(self.last_run_at - self.started_at, 1e-9)

    def eta_seconds(self) -> float | None:
        """The runs left at this job's pace so far (None before its first run): an estimate, since runs differ
        (a diverged run stops early)."""
        rate = self.runs_per_minute()
        return None if rate is None else 60.0 * (self.total - self.done) / rate

    def _published(self, result: Exploration) -> None:
        """After each run (on the job's thread): count it and publish a copy for the page."""
        self.trained += 1
        self.last_run_at = time.monotonic()
        self.snapshot = copy.deepcopy(result)

    def _run(self) -> None:
        self.started_at = time.monotonic()
        try:  # "serial" sets one torch thread per run: a core stays free for the server and the browser
            run_exploration(self._result, "serial", on_run=self._published, cancel=self._cancel)
        except Exception as error:  # shown on the page, never a dead thread with no word
            self.error = f"{type(error).__name__}: {error}"
        else:
            self.error = self._reason if self._result.missing() else None
        finally:
            self.snapshot = copy.deepcopy(self._result)  # refused cells are recorded before the first run

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop within CANCEL_EVERY iterations (the run in progress is dropped), or never start; returns at once.
        `error` says `reason` once the thread has stopped with runs missing; a finished exploration keeps its
        runs and says nothing was cancelled."""
        with self._lock:
            state = self.state
            if state != STOPPED:
                self._reason = reason
                self._cancel.set()
            if state == IDLE:
                self.error = reason
