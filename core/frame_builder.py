"""What a run's frames hold and when: the metrics' and the surface's cadences, it/s, Theorem 1's values,
the evaluation history and the Snapshot itself. Used by one thread at a time: the runner's, or its frame
thread while the runner waits for nothing (core.runner: `Runner._publish`).

A frame costs more than an iteration (D on the whole grid is ~10-20 ms here), so the runner asks for one
only when a reader wants it, at most every `publish_interval`; within a frame the metrics come every
`metrics_interval` and D's surface every `surface_interval`, or less often when it is costly. While the run
trains, a frame is built from a `Still` on a thread of its own: the big tensor operations release the GIL, so
that work runs on the second core instead of taking ~14% of the training thread's time.
"""

from __future__ import annotations

import math
import time

from .history import BoundedHistory
from .metrics import Metrics, generator_metrics
from .snapshot import Probe, Snapshot, Still, picture
from .theory import value_report
from .training import GAN

EVAL_COLUMNS = (
    "iteration",
    "d_real",
    "d_fake",
    "modes_captured",
    "high_quality",
    "reverse_kl",
    "jsd",
    "mode_width",
    "value_d",
    "value_d_star",
)  # V(D, G) and V(D*, G) of Theorem 1 on the view grid (core.theory.value_report), NaN without a fresh surface
CHEAP_SURFACE_S = 0.1  # a surface this fast is redrawn at every evaluation too


class FrameBuilder:
    def __init__(self, publish_interval: float, metrics_interval: float, surface_interval: float, capacity: int):
        self.publish_interval, self.metrics_interval = publish_interval, metrics_interval
        self.surface_interval, self.capacity = surface_interval, capacity
        self.last: Snapshot | None = None  # the frame built last
        self.built_at = self._surface_at = -math.inf
        self._surface_cost = 0.0
        self.restart(None)

    def restart(self, gan: GAN | None) -> None:
        """A new run (new networks or a new data set): its own evaluation history, metrics and rate."""
        modes = tuple(f"mode_{k}" for k in range(gan.mixture.modal.n_modes)) if gan is not None else ()
        self.eval_history = BoundedHistory(EVAL_COLUMNS + modes, self.capacity)
        self.metrics: Metrics | None = None
        self.evaluated_at = -math.inf
        self._its, self._rate_mark = 0.0, (time.monotonic(), 0)

    def free(self) -> None:
        """The run stopped: only its last frame stays (the evaluation history and metrics go)."""
        self.eval_history = BoundedHistory(EVAL_COLUMNS, 2)
        self.metrics = None

    def due(self, now: float) -> bool:
        return now - self.built_at >= self.publish_interval

    def evaluation_due(self, now: float) -> bool:
        return now - self.evaluated_at >= self.metrics_interval

    def rollback(self, iteration: int) -> None:
        self.eval_history.rollback(iteration)

    def build(
        self,
        gan: GAN | Still,
        probe: Probe,
        history: dict,
        *,
        now: float,
        state: str,
        message: str,
        running: bool,
        elapsed: float,
        rebuilds: int,
        evaluate_now: bool,
        pace: float | None = None,
    ) -> Snapshot:
        """The frame of the run as it stood at `now` (time.monotonic(); `history`: its per-iteration arrays
        then): the metrics again if asked (or none yet), the surface when due: in slow motion (`pace`
        iterations a second, a frame each) in every frame its cost allows."""
        evaluated = evaluate_now or self.metrics is None
        if evaluated:
            self.metrics, _ = generator_metrics(gan, probe.z_eval, probe.real_eval)
            self.evaluated_at = now
        metrics = self.metrics
        assert metrics is not None  # evaluated above when there were none
        mark_t, mark_i = self._rate_mark
        if not running:  # paused time does not count against the rate
            self._its, self._rate_mark = 0.0, (now, gan.iteration)
        elif now - mark_t >= 0.5:  # iterations/s over the last half second or more
            self._its = (gan.iteration - mark_i) / (now - mark_t)
            self._rate_mark = (now, gan.iteration)
        # a surface may cost far more than an iteration (a minibatch layer compares every grid cell with a
        # batch): refresh it at most once per 4 of its own costs, so it never takes over 1/5 of the thread;
        # a cheap one also comes with every evaluation, so that V(D, G) is read off the same D as the metrics
        # in slow motion, half a period: the next iteration's frame comes one period later, give or take
        interval = self.surface_interval if pace is None else min(self.surface_interval, 0.5 / pace)
        surface_due = now - self._surface_at >= max(interval, 4 * self._surface_cost)
        drawn = time.monotonic()
        frame = picture(
            gan,
            probe,
            with_surface=(evaluated and self._surface_cost < CHEAP_SURFACE_S)
            or not running
            or surface_due
            or self.last is None
            or self.last.surface.shape != probe.grid_shape,
        )
        fresh_surface = "surface" in frame
        if fresh_surface:
            self._surface_at, self._surface_cost = now, time.monotonic() - drawn
        else:
            assert self.last is not None  # with no frame yet, the surface was drawn
            frame.update(surface=self.last.surface, surface_iteration=self.last.surface_iteration)
        if evaluated:
            self._record(gan, probe, metrics, frame if fresh_surface else None)
        self.last = Snapshot(
            iteration=gan.iteration,
            d_steps=gan.d_steps,
            g_steps=gan.g_steps,
            elapsed=elapsed,
            its_per_s=self._its,
            state=state,
            message=message,
            config=gan.config,
            rebuilds=rebuilds,
            metrics=metrics,
            history=history,
            eval_history=self.eval_history.arrays(),
            **frame,
        )
        self.built_at = now
        return self.last

    def _record(self, gan: GAN | Still, probe: Probe, m: Metrics, fresh: dict | None) -> None:
        """One evaluation row; Theorem 1's V(D, G) and V(D*, G) need D to be a probability, and this
        iteration's D (a fresh surface)."""
        values = (math.nan, math.nan)
        if gan.loss.probability and gan.mixture.dim == 2 and fresh is not None:
            report = value_report(fresh["surface"], fresh["samples"], gan.mixture, probe.edges)
            values = (report["value_d"], report["value_d_star"])
        shares = m.mode_counts / max(1, len(probe.z_eval))
        row = (m.iteration, m.d_real, m.d_fake, m.modes_captured, m.high_quality, m.reverse_kl, m.jsd, m.mode_width)
        self.eval_history.append((*row, *values, *shares))
