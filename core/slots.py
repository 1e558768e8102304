"""A server-wide cap on runners training at once, with a first-come queue for the rest.

On a 2-core machine two training threads and a browser already compete; a third user should get a
clear place in line, not a stalled machine. Nothing runs in the background here: a waiting page calls
`request` again on each refresh and its runner starts as soon as it is first in line and a slot is free.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from pathlib import Path

from .runner import RUNNING, STOPPED, Runner


def cpus(environ=os.environ, cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this server may use: MINIMAX_CPUS (Kubernetes fills it from the pod's CPU limit, deploy/k8s),
    else the container's CPU quota (cgroup v2 cpu.max, e.g. `docker run --cpus 2`, rounded up), else the
    machine's cores. os.cpu_count() sees the host's cores inside a container."""
    value = environ.get("MINIMAX_CPUS", "").strip()
    if value.isdigit() and int(value) >= 1:
        return int(value)
    machine = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return max(1, min(machine, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 file, or "max": no quota
        return machine


def default_capacity(environ=os.environ) -> int:
    """MINIMAX_MAX_TRAINING if set, else the cores this server may use less one (at least 1)."""
    value = environ.get("MINIMAX_MAX_TRAINING", "")
    if value.strip().isdigit() and int(value) >= 1:
        return int(value)
    return max(1, cpus(environ) - 1)


class TrainingSlots:
    def __init__(self, capacity: int | None = None):
        self.capacity = capacity or default_capacity()
        self._lock = threading.Lock()
        self._queue: list[weakref.ref[Runner]] = []
        self._known: weakref.WeakSet[Runner] = weakref.WeakSet()

    def request(self, runner: Runner) -> int:
        """Start `runner` if a slot is free and nobody waits before it: returns 0. Otherwise it joins
        (or keeps) its place in the queue and its 1-based position is returned."""
        with self._lock:
            self._known.add(runner)
            self._queue = [ref for ref in self._queue if (r := ref()) is not None and r.state not in (STOPPED, RUNNING)]
            waiting = [ref() for ref in self._queue]
            busy = sum(1 for r in self._known if r is not runner and r.state == RUNNING)
            if busy < self.capacity and (not waiting or waiting[0] is runner):
                self._queue = [ref for ref in self._queue if ref() is not runner]
                runner.start()
                return 0
            if runner not in waiting:
                self._queue.append(weakref.ref(runner))
                waiting.append(runner)
            return waiting.index(runner) + 1

    def cancel(self, runner: Runner) -> None:
        """Leave the queue (the user paused or left)."""
        with self._lock:
            self._queue = [ref for ref in self._queue if ref() is not None and ref() is not runner]

    def position(self, runner: Runner) -> int:
        """0 if not waiting, else the 1-based place in the queue."""
        with self._lock:
            waiting = [ref() for ref in self._queue]
            return waiting.index(runner) + 1 if runner in waiting else 0

    def running(self) -> int:
        with self._lock:
            return sum(1 for r in self._known if r.state == RUNNING)
