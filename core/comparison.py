"""Two configurations' sweeps trained one after the other on a thread of their own: the Compare page's job
(a `core.background.BackgroundJob`: admitted by the training slots, cancelled by its owner)."""

from __future__ import annotations

import torch

from .background import BackgroundJob
from .config import TrainConfig
from .runner import STOPPED
from .sweep import SweepResult, run_sweep


class CompareJob(BackgroundJob):
    """Sweeps of `seeds` seeds x `steps` iterations per configuration. States: idle (made, waiting for a slot)
    -> running (its thread trains) -> stopped (finished, cancelled or failed: `error` says which)."""

    def __init__(self, configs: dict[str, TrainConfig], seeds: int, steps: int):
        self.configs, self.seeds, self.steps = configs, seeds, steps
        self.results: dict[str, SweepResult] = {}
        self.done_steps = 0
        super().__init__("minimax-compare")

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
