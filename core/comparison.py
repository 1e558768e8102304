"""Two configurations' sweeps trained one after the other on a thread of their own: the Compare page's job.

It trains like a runner, so it is admitted like one: `core.slots.TrainingSlots` starts it when a slot is
free (its `state` and `start` are a runner's), and counts it while it trains. Its owner (the session's
`dashboard.session.SessionTraining`) cancels it when its page leaves the screen or its session ends.
"""

from __future__ import annotations

import threading

import torch

from .config import TrainConfig
from .runner import IDLE, RUNNING, STOPPED
from .sweep import SweepResult, run_sweep


class CompareJob:
    """Sweeps of `seeds` seeds x `steps` iterations per configuration. States: idle (made, waiting for a slot)
    -> running (its thread trains) -> stopped (finished, cancelled or failed: `error` says which)."""

    def __init__(self, configs: dict[str, TrainConfig], seeds: int, steps: int):
        self.configs, self.seeds, self.steps = configs, seeds, steps
        self.results: dict[str, SweepResult] = {}
        self.done_steps = 0
        self.error: str | None = None
        self._cancel = threading.Event()
        self._reason = "cancelled"
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="minimax-compare", daemon=True)

    def start(self) -> None:
        """Start training (idempotent; what the slots call once one is free). A job cancelled while it
        waited never starts."""
        with self._lock:
            if not self.thread.is_alive() and self.thread.ident is None and not self._cancel.is_set():
                self.thread.start()

    @property
    def state(self) -> str:
        if self.thread.is_alive():
            return RUNNING
        return STOPPED if self.thread.ident is not None or self._cancel.is_set() else IDLE

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    @property
    def fraction(self) -> float:
        return self.done_steps / (self.steps * len(self.configs))

    def _run(self) -> None:
        torch.set_num_threads(1)  # as the live runner: leave a core to the server and the browser
        try:
            for offset, (name, config) in enumerate(self.configs.items()):

                def progress(done, total, offset=offset * self.steps):  # after every iteration
                    self.done_steps = offset + done
                    if self._cancel.is_set():
                        raise InterruptedError

                self.results[name] = run_sweep(
                    config, self.seeds, self.steps, max(1, self.steps // 20), progress=progress
                )
        except InterruptedError:
            self.error = self._reason
        except Exception as error:  # shown on the page, never a dead thread with no word
            self.error = f"{type(error).__name__}: {error}"

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop at the end of the current iteration (the sweep checks after every one), or never start;
        returns at once. A finished comparison keeps its results and says nothing was cancelled."""
        with self._lock:
            if self.state != STOPPED:
                self._reason = self.error = reason
                self._cancel.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it has (or never started)."""
        if self.thread.ident is not None:
            self.thread.join(timeout)
        return not self.thread.is_alive()
