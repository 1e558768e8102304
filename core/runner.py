"""A GAN training in a background thread that owns all torch state, steered live and read as snapshots.

Callers (the dashboard, tests) never touch torch: they send commands (start, pause, advance, update…) that
the thread applies between two iterations, and they read `snapshot()`, an immutable object the thread
replaces by one reference swap at most every `publish_interval` seconds.

A snapshot costs more than a training iteration (D on the whole grid is ~10-20 ms here), so the thread
builds a new one only once the previous one has been read: a watched run publishes every
`publish_interval`, an unwatched one spends nothing on pictures (benchmarks/train_speed.py measures both).
While it trains, the frame is built on the runner's frame thread from a `Still` (copies of G and D at that
iteration) and training goes on; every other frame (a step's, a pause's, a command's, slow motion's) is built
by the training thread itself once the frame thread is done, so frames are published in the order of their
iterations and the one after a command shows exactly where the run stands.

Slow motion (`set_pace`) is the runner's, not a setting: it changes when iterations happen, not what they
compute. A paced run waits on the condition variable between iterations (a command wakes it at once) and
publishes a frame after every iteration, so each update can be seen.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import os
import threading
import time
import weakref
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from .config import (
    TrainConfig,
    data_fields,
    discriminator_fields,
    effects,
    generator_fields,
    in_words,
    rebuild_fields,
    shown,
    validate,
)
from .data import mixture_for
from .frame_builder import FrameBuilder
from .history import BoundedHistory
from .snapshot import Probe, Snapshot, Still, frame_copies
from .training import GAN, divergence_text

IDLE, RUNNING, PAUSED, DIVERGED, STOPPED = "idle", "running", "paused", "diverged", "stopped"
STEP_KINDS = ("iteration", "d", "g")
MAX_PACE = 1000.0  # iterations per second: set_pace's ceiling (None is as fast as possible)
TRAIN_COLUMNS = ("iteration", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_g")
# A player with a new shape, built afresh while the other one and the run go on: the changes that do it, how
# the GAN does it, and what the run says (core.config.effects: "generator", "discriminator").
FRESH_PLAYERS = (
    (generator_fields, GAN.replace_generator, "new generator ({}): a fresh G, D keeps its weights"),
    (discriminator_fields, GAN.replace_discriminator, "new discriminator ({}): a fresh D, G keeps its weights"),
)
FRAME_NICE = 10  # the frame thread's niceness above the training thread's: the run's own frames wait for it
_ids = itertools.count(1)
_alive: weakref.WeakSet[Runner] = weakref.WeakSet()


def _frame_thread_setup(threads: int) -> None:
    """The frame thread's torch threads, and its place behind the training thread that starts it (FRAME_NICE
    steps lower; any thread may lower its own priority). They share one scheduler group (the server's session):
    at equal niceness a frame build took the core the training thread was waiting for. Measured here with a class
    watching (benchmarks/watch_room.py --server-nice 10 --renice frame: the two settings in alternate rounds of
    one run, three runs): the training thread had 0.11-0.18 more of a core and kept 0.76-0.88 of its speed alone
    (median 0.84) instead of 0.64-0.84 (0.67); the frame thread had 0.12-0.15 of a core instead of 0.18-0.23,
    and the lecturer's page 1-2.5 frames/s fewer (docs/scaling.md)."""
    torch.set_num_threads(threads)
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):  # not Linux-like, or refused: frames at the same priority, as before
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + FRAME_NICE))


def live_runners() -> list[Runner]:
    """Every runner of this process that is not stopped (for owners and tests that must stop them all)."""
    return [r for r in list(_alive) if r.state != STOPPED]


class Runner:
    """States: idle (built, not started) -> running <-> paused; diverged (a loss, G's gradient or a weight
    NaN/Inf or past core.training's bounds: the last good state restored); stopped (thread ended, final: the
    torch state is let go, only the last snapshot and the settings stay).

    publish_interval: seconds between snapshots while running and watched (also one after every step
        command, update and reset).
    metrics_interval: seconds between evaluations of the metrics while running (mode statistics and the
        JSD on `eval_samples` samples cost more than a frame, and change slowly).
    surface_interval: seconds between two evaluations of D on the whole grid while running (~15 ms for
        a 3x128 D on 100x100 cells at 1 thread, three times a training iteration); the samples and the
        arrows are new in every snapshot.
    idle_timeout: a running runner whose snapshot() nobody called for this long pauses itself.
    threads: torch intra-op threads for the training thread (None leaves torch's setting alone).
    """

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        publish_interval: float = 0.1,
        metrics_interval: float = 0.5,
        surface_interval: float = 0.2,
        idle_timeout: float = 30.0,
        threads: int | None = None,
        history_capacity: int = 2048,
    ):
        self.name = f"minimax-runner-{next(_ids)}"
        self.idle_timeout, self.threads, self.history_capacity = idle_timeout, threads, history_capacity
        self._frames = FrameBuilder(publish_interval, metrics_interval, surface_interval, history_capacity)
        self._cond = threading.Condition()
        self._target = validate(config or TrainConfig())  # the config after every update() so far
        self._pending: TrainConfig | None = None
        self._reset_requested = False
        self._units: deque[str] = deque()
        self._state, self._message = IDLE, "ready: press start"
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._last_read = time.monotonic()
        self._rebuilds = 0
        self._busy = False  # the thread is applying commands or training (not parked)
        self._pace: float | None = None  # slow motion: at most this many iterations a second while running
        self._paced_at = -math.inf  # when the last paced iteration began
        self._snapshot: Snapshot | None = None  # the frame readers get: replaced by one reference swap
        self._restated: tuple[Snapshot | None, Snapshot | None] = (None, None)  # a snapshot, and it in today's state
        self._wanted = self._dirty = False  # a reader asked for a frame since the last; the run moved since
        self._frame_thread: ThreadPoolExecutor | None = None  # builds the frames of a running run, one at a time
        self._frame_job: Future | None = None  # the frame being built there
        self._copies: tuple | None = None  # G and D with copies for the frame thread (frame_copies)
        self._build(self._target)
        self._publish(evaluate_now=True)
        _alive.add(self)

    # ---- commands (any thread) ------------------------------------------------------------------
    def start(self) -> None:
        """Train continuously (from idle, paused, or diverged after the settings were fixed)."""
        with self._cond:
            self._check_alive()
            self._state, self._message = RUNNING, "training"
            self._last_read = time.monotonic()
            self._ensure_thread()
            self._cond.notify_all()

    def pause(self, *, wait: bool = False, timeout: float = 10.0) -> None:
        """Stop after the current iteration. With wait=True, return once the thread has parked and
        published the frame where it stopped (so snapshot() then shows exactly that iteration)."""
        with self._cond:
            if self._state == RUNNING:
                self._state, self._message = PAUSED, "paused"
                self._cond.notify_all()
        if wait:
            self.wait_parked(timeout)

    def advance(self, n: int = 1, kind: str = "iteration", *, wait: bool = False, timeout: float = 60.0) -> Snapshot:
        """Advance exactly n units while paused: full iterations, or single D ('d') or G ('g') updates. With
        `simultaneous` an iteration updates both players at once, and 'd' and 'g' still update one player alone
        against the other as it stands (GAN.advance): the two halves of that update, taken apart.
        A running run is paused first. With wait=True, return the snapshot taken after the last unit."""
        if kind not in STEP_KINDS or n < 0:
            raise ValueError(f"step kind must be one of {STEP_KINDS} and n >= 0")
        with self._cond:
            self._check_alive()
            if self._state in (RUNNING, IDLE, DIVERGED):
                self._state, self._message = PAUSED, "paused"
            self._units.extend([kind] * n)
            self._ensure_thread()
            self._cond.notify_all()
        if wait:
            self.wait_parked(timeout)
        return self.snapshot()

    def update(self, **changes) -> dict[str, str]:
        """Change settings live; applied before the next iteration. Returns every setting that changed (those
        a change brings along included, such as a data set's defaults) with how it takes effect
        (`core.config.effects`: "live", "generator", "discriminator", "data" or "rebuild", which restarts from
        iteration 0).
        Raises ConfigError (naming the setting) for a bad value, and nothing is applied."""
        with self._cond:
            self._check_alive()
            return self._retarget(self._target.replace(**changes))

    def _retarget(self, target: TrainConfig) -> dict[str, str]:
        """(Holding the lock.) `target` is the config from the next iteration on: what changed, and how."""
        changed = effects(self._target.changed(target))
        self._target = self._pending = target
        self._ensure_thread()
        self._cond.notify_all()
        return changed

    def reset(self) -> None:
        """Back to iteration 0 with fresh networks from the current settings and seed; state idle."""
        with self._cond:
            self._check_alive()
            self._reset_requested = True
            self._units.clear()
            self._state, self._message = IDLE, "reset: press start"
            self._ensure_thread()
            self._cond.notify_all()

    def load(self, config: TrainConfig) -> dict[str, str]:
        """A scene: `config` from iteration 0, fresh networks from its seed. A running run goes on running from
        there (it keeps its training slot); otherwise it waits at iteration 0. Returns what changed, as
        `update` does; raises ConfigError and changes nothing for a bad config."""
        with self._cond:
            self._check_alive()
            target = validate(config)
            self._reset_requested = True
            self._units.clear()
            if self._state != RUNNING:
                self._state, self._message = IDLE, "new settings at iteration 0: press start"
            return self._retarget(target)

    def set_pace(self, iterations_per_second: float | None) -> None:
        """Slow motion: while running, start an iteration at most every 1 / iterations_per_second seconds and
        publish a frame after each one; None trains as fast as it can (the default). A pause, a step, an update
        or stop acts at once, not at the next iteration. ValueError unless None or a number in (0, MAX_PACE]."""
        pace = iterations_per_second
        if pace is not None and not (
            isinstance(pace, numbers.Real) and not isinstance(pace, bool) and 0 < pace <= MAX_PACE
        ):  # NaN fails the comparison too
            raise ValueError(f"pace must be None or iterations per second in (0, {MAX_PACE:g}], got {shown(pace)}")
        with self._cond:
            self._pace = None if pace is None else float(pace)
            self._cond.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread (idempotent). The runner is then stopped for good, and lets go of its networks,
        optimizers, checkpoint and histories (the thread does it on its way out, or this call if there
        never was a thread): whoever still holds a stopped runner holds its last snapshot only."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
            if thread is None:
                self._free()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            self._state, self._message = STOPPED, "stopped"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- reading (any thread) -------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def pace(self) -> float | None:
        """Iterations per second in slow motion, or None: as fast as possible (`set_pace`)."""
        return self._pace

    @property
    def config(self) -> TrainConfig:
        """The settings as last requested (applied at the next iteration)."""
        return self._target

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def snapshot(self, *, touch: bool = True) -> Snapshot:
        """The latest snapshot, with the current state and message. Reading it counts as watching
        (touch=False reads without postponing the idle pause)."""
        snap = self._snapshot
        assert snap is not None  # __init__ publishes the first one
        self._wanted = True
        with self._cond:
            if touch:
                self._last_read = time.monotonic()
            state, message = self._state, self._message
        if (snap.state, snap.message) != (state, message):
            # the same object for every read until something changes: readers (the frame routes) cache bytes
            # by the snapshot's identity
            published, restated = self._restated
            if published is not snap or restated is None or (restated.state, restated.message) != (state, message):
                restated = snap.with_status(state, message)
                self._restated = (snap, restated)
            snap = restated
        return snap

    def wait_parked(self, timeout: float = 10.0) -> bool:
        """Wait until the thread has applied every command and published the frame where it stands
        (a running thread is parked only between two iterations of slow motion)."""
        return self._thread is None or self.wait_until(
            lambda: not self._busy and self._pending is None and not self._reset_requested and not self._units, timeout
        )

    def wait_until(self, predicate, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or self._state == STOPPED:
                    return bool(predicate())
                self._cond.wait(min(left, 0.05))
        return True

    # ---- the training thread --------------------------------------------------------------------
    def _check_alive(self):
        if self._stopping or self._state == STOPPED:
            raise RuntimeError("this runner is stopped; make a new one")

    def _ensure_thread(self):
        if self._thread is None:
            self._busy = False
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def _free(self) -> None:
        """Drop the torch state of a stopped run: two networks, their Adam moments, the checkpoint's copy
        of all that, the probe's fixed inputs, the histories (2.2 MB for the default run after 20 iterations,
        0.04 MB left). A closed tab's Streamlit session keeps its runner referenced after the tab is gone:
        its widgets' callbacks hold it until Streamlit drops the session (server.disconnectedSessionTTL,
        120 s, and later: expired sessions go only when the session storage is next written), and the
        download button's callable stays in Streamlit's media manager after its session has gone."""
        with contextlib.suppress(Exception):  # a frame that failed now has nobody to tell
            self._settle()
        if self._frame_thread is not None:
            self._frame_thread.shutdown(wait=True)
        for name in ("_gan", "_probe", "_checkpoint", "_history", "_copies"):
            vars(self).pop(name, None)
        self._frames.free()

    def _build(self, config: TrainConfig) -> None:
        self._settle()
        self._gan = GAN(config)
        self._probe = Probe(self._gan)
        self._history = BoundedHistory(TRAIN_COLUMNS, self.history_capacity)
        self._frames.restart(self._gan)
        self._elapsed = 0.0
        self._checkpoint = self._gan.state()

    def _apply(self, config: TrainConfig) -> None:
        self._settle()
        gan, old = self._gan, self._gan.config
        changes = old.changed(config)

        def said(fields: list[str]) -> str:
            return ", ".join(in_words(f, getattr(old, f), getattr(config, f)) for f in fields)

        rebuild, new_data = rebuild_fields(changes), data_fields(changes)
        mixture = mixture_for(config) if new_data else gan.mixture
        if rebuild or mixture.dim != gan.mixture.dim:  # a 1-D p_data needs 1-D players
            self._build(config)
            self._rebuilds += 1
            self._set_message(f"rebuilt the networks ({said(rebuild + new_data)}): restarted at iteration 0")
            return
        notes = []
        gan.set_live(config)
        for fields, replace, note in FRESH_PLAYERS:  # at most one: both at once is a rebuild (effects)
            if fields(changes):
                replace(gan, config)
                notes.append(note.format(said(fields(changes))))
        if new_data:
            gan.replace_data(mixture)
            self._frames.restart(gan)  # the evaluation history is the old p_data's (its modes): a new one
            notes.append(f"new p_data ({said(new_data)}): G and D keep their weights and go on against it")
        if notes:
            self._set_message("; ".join(notes) + ", training goes on")
        self._probe = Probe(gan)  # the noise and grids depend on view settings; same seed, same draws
        self._checkpoint = gan.state()

    def _show(self, gan: GAN | Still, probe: Probe, history: dict, frame: dict) -> None:
        self._snapshot = self._frames.build(gan, probe, history, **frame)

    def _frame_pool(self) -> ThreadPoolExecutor:
        if self._frame_thread is None:
            threads = (self.threads,) if self.threads else (torch.get_num_threads(),)
            self._frame_thread = ThreadPoolExecutor(
                1, thread_name_prefix=f"{self.name}-frames", initializer=_frame_thread_setup, initargs=threads
            )
        return self._frame_thread

    def _settle(self) -> None:
        """Wait for the frame being built on the frame thread, if any (~10-30 ms): then this thread may use the
        frame builder. What went wrong there is raised here (the loop reports it)."""
        job, self._frame_job = self._frame_job, None
        if job is not None:
            job.result()

    def _set_message(self, message: str) -> None:
        with self._cond:
            self._message = message

    def _loop(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        self._free()
                        self._cond.notify_all()
                        return
                    pending, self._pending = self._pending, None
                    reset, self._reset_requested = self._reset_requested, False
                    if (
                        self._state == RUNNING
                        and self.idle_timeout is not None
                        and time.monotonic() - self._last_read > self.idle_timeout
                    ):
                        self._state = PAUSED
                        self._message = f"paused: nobody watched for {self.idle_timeout:g} s"
                    running = self._state == RUNNING
                    unit = "iteration" if running else (self._units[0] if self._units else None)
                    pace = self._pace if running else None  # steps are never paced
                    nap = 0.5
                    if pace is not None:
                        now = time.monotonic()
                        due = self._paced_at + 1 / pace  # the period counts from the last paced start
                        if now < due:
                            unit, nap = None, min(nap, due - now)
                        else:
                            self._paced_at = now
                    if pending or reset or unit or self._dirty or self._frame_job is not None:
                        self._busy = True
                        break
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait(nap)
            try:
                self._work(pending, reset, unit, pace)
            except Exception as error:  # never let a bad setting kill the thread silently
                with self._cond:
                    self._state, self._message = PAUSED, f"error: {type(error).__name__}: {error}"
                    self._units.clear()
                self._publish(evaluate_now=False)

    def _work(self, pending: TrainConfig | None, reset: bool, unit: str | None, pace: float | None) -> None:
        """Apply the commands, then train `unit`; a paced iteration (slow motion) publishes its frame."""
        if reset:  # with new settings (load): built once, from them
            self._build(pending or self._gan.config)
            pending = None
        if pending is not None:
            self._apply(pending)
        if reset or pending is not None:
            self._publish(evaluate_now=True)
        if unit is None:  # just paused: show the frame where training stopped
            if self._dirty:
                self._publish(evaluate_now=True)
            self._settle()  # parked only with that frame published
            return
        gan, started = self._gan, time.monotonic()
        problem = gan.advance(unit)  # the weights are checked with each frame (_publish)
        self._elapsed += time.monotonic() - started
        self._dirty = True
        if problem:
            return self._diverged(problem)
        last = gan.last
        self._history.append(
            (gan.iteration, last["loss_d"], last["loss_g"], last["d_real"], last["d_fake"], last["grad_norm_g"])
        )
        stepped_last = False
        with self._cond:
            if self._state != RUNNING and self._units:
                self._units.popleft()
                stepped_last = not self._units
        now = time.monotonic()
        if stepped_last or pace is not None:
            self._publish(evaluate_now=stepped_last or self._frames.evaluation_due(now), pace=pace)
        elif self._wanted and self._frames.due(now) and (self._frame_job is None or self._frame_job.done()):
            self._publish(evaluate_now=self._frames.evaluation_due(now), beside=True)

    def _diverged(self, problem: str) -> None:
        self._settle()
        gan = self._gan
        at, c = gan.iteration, gan.config
        gan.load_state(self._checkpoint)
        self._history.rollback(gan.iteration)
        self._frames.rollback(gan.iteration)
        with self._cond:
            self._units.clear()
            self._state = DIVERGED
            self._message = (
                f"{divergence_text(at, problem, c)}, then resume, or reset. Kept the last good state "
                f"(iteration {gan.iteration})."
            )
            self._cond.notify_all()

    def _publish(self, evaluate_now: bool, pace: float | None = None, beside: bool = False) -> None:
        """Check the weights (a run past its bounds is diverged, not shown), keep this point as the last good
        one, and publish its frame (`pace`: slow motion's, for D's surface to be drawn in each frame): built
        here, or with `beside` on the frame thread from a still of this iteration while training goes on."""
        self._settle()  # the frame before this one is published first
        gan = self._gan
        weights_bad = gan.finite(weights=True)
        if weights_bad:
            return self._diverged(weights_bad)
        self._checkpoint = gan.state()
        with self._cond:
            state, message = self._state, self._message
        frame = dict(
            now=time.monotonic(),
            state=state,
            message=message,
            running=state == RUNNING,
            elapsed=self._elapsed,
            rebuilds=self._rebuilds,
            evaluate_now=evaluate_now,
            pace=pace,
        )
        if beside:
            self._copies = frame_copies(gan, self._copies)
            still = Still(gan, *self._copies[2:])
            self._frame_job = self._frame_pool().submit(self._show, still, self._probe, self._history.arrays(), frame)
        else:
            self._show(gan, self._probe, self._history.arrays(), frame)
        self._dirty = self._wanted = False
        with self._cond:
            self._cond.notify_all()
