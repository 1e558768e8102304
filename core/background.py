"""A page's job on a thread of its own (the Compare page's comparison, the Explore page's exploration).

It trains like a runner, so it is admitted like one: `core.slots.TrainingSlots` starts it when a slot is free
(its `state` and `start` are a runner's) and counts it while it trains. Its owner (the session's
`dashboard.session.SessionTraining`) cancels it when its page leaves the screen or its session ends.
"""

from __future__ import annotations

import threading

from .runner import IDLE, RUNNING, STOPPED


class BackgroundJob:
    """States: idle (made, waiting for a slot) -> running (its thread runs `_run`) -> stopped (finished,
    cancelled or failed: `error` says which). `_run` watches `_cancel` and says `_reason` when it stops early."""

    def __init__(self, name: str):
        self.error: str | None = None
        self._cancel = threading.Event()
        self._reason = "cancelled"
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start (idempotent; what the slots call once one is free). A job cancelled while it waited never
        starts."""
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

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it has (or never started)."""
        if self.thread.ident is not None:
            self.thread.join(timeout)
        return not self.thread.is_alive()
