"""The background runner: states, exact stepping, live updates, rebuilds, divergence, idle pause,
snapshots that are never torn, bounded memory, and no thread left behind."""

import gc
import math
import threading
import time
import types

import numpy as np
import pytest
import torch

from core.config import ConfigError, TrainConfig
from core.runner import DIVERGED, IDLE, PAUSED, RUNNING, STOPPED, Runner
from core.training import GAN
from tests.conftest import runner_threads

SMALL = TrainConfig().replace(hidden=32, depth=2, batch_size=64, eval_samples=500, samples_shown=200, grid_size=40)


@pytest.fixture
def runner(no_thread_leak):
    r = Runner(SMALL, threads=1)
    yield r
    r.stop()


def test_a_new_runner_has_a_snapshot_and_no_thread(runner):
    snap = runner.snapshot()
    assert runner.state == IDLE and runner.thread is None
    assert snap.iteration == 0 and snap.samples.shape == (200, 2) and snap.surface.shape == (40, 40)
    assert snap.metrics.modes_total == 8 and snap.arrows.shape == snap.arrows_at.shape == (16 * 16, 2)


def test_start_pause_and_step_exactly_n(runner):
    runner.start()
    assert runner.wait_until(lambda: runner.snapshot().iteration >= 5, 30)
    runner.pause(wait=True)
    paused_at = runner.snapshot()
    assert paused_at.state == PAUSED
    time.sleep(0.3)
    assert runner.snapshot().iteration == paused_at.iteration  # paused means paused
    after = runner.advance(7, wait=True)
    assert after.iteration == paused_at.iteration + 7
    assert after.d_steps == paused_at.d_steps + 7 and after.g_steps == paused_at.g_steps + 7


def test_single_network_steps(runner):
    runner.update(k=2)
    start = runner.advance(1, wait=True)
    assert (start.iteration, start.d_steps, start.g_steps) == (1, 2, 1)
    d = runner.advance(3, "d", wait=True)
    assert (d.iteration, d.d_steps, d.g_steps) == (1, 5, 1)
    g = runner.advance(1, "g", wait=True)
    assert (g.iteration, g.d_steps, g.g_steps) == (1, 5, 2)


def test_updates_take_effect_at_the_next_iteration(runner):
    runner.advance(2, wait=True)
    changed = runner.update(k=3, loss="minimax", label_smoothing=0.1, lr_d=2e-3, batch_size=32)
    assert changed == dict(k="live", loss="live", label_smoothing="live", lr_d="live", batch_size="live")
    snap = runner.advance(1, wait=True)
    assert snap.d_steps == 2 + 3 and snap.iteration == 3  # the new k counted from the very next iteration
    assert (snap.config.k, snap.config.loss, snap.config.lr_d, snap.config.batch_size) == (3, "minimax", 2e-3, 32)


def test_updates_while_running_keep_the_run_going(runner):
    runner.start()
    assert runner.wait_until(lambda: runner.snapshot().iteration >= 3, 60)
    for k in (2, 4, 1):
        runner.update(k=k)
    runner.update(loss="hinge")
    before = runner.snapshot().iteration
    assert runner.wait_until(
        lambda: runner.snapshot().config.loss == "hinge" and runner.snapshot().iteration > before + 5, 30
    )
    snap = runner.snapshot()
    assert snap.state == RUNNING and not snap.surface_is_probability and snap.rebuilds == 0


def test_shape_changes_rebuild_without_killing_the_thread(runner):
    runner.start()
    assert runner.wait_until(lambda: runner.snapshot().iteration >= 3, 60)
    thread = runner.thread
    # a new data set brings its own defaults (25 modes, std 0.05; spacing 2 was already the value)
    assert set(runner.update(hidden=16, dataset="grid")) == {"g_hidden", "d_hidden", "dataset", "modes", "std"}
    assert runner.wait_until(lambda: runner.snapshot().rebuilds >= 1, 30)
    snap = runner.snapshot()
    assert "rebuilt the networks (g hidden 32 to 16, d hidden 32 to 16, dataset ring to grid, modes 8 to 25" in (
        snap.message
    )
    assert snap.metrics.modes_total == 25
    assert runner.wait_until(lambda: runner.snapshot().iteration >= 3, 30)
    assert runner.thread is thread and thread.is_alive() and runner.state == RUNNING


def test_bad_updates_are_refused_and_change_nothing(runner):
    with pytest.raises(ConfigError) as error:
        runner.update(k=0)
    assert error.value.field == "k"
    with pytest.raises(ConfigError):
        runner.update(loss="wgan", label_smoothing=0.2)
    with pytest.raises(ConfigError):
        runner.update(nonsense=1)
    assert runner.config == SMALL


def test_a_huge_learning_rate_diverges_and_keeps_the_last_good_state(runner):
    runner.update(optimizer="sgd", lr_d=500.0, lr_g=500.0)
    runner.start()
    assert runner.wait_until(lambda: runner.state == DIVERGED, 60)
    snap = runner.snapshot()
    assert snap.state == DIVERGED and "diverged at iteration" in snap.message and "lr_d 500" in snap.message
    assert np.isfinite(snap.samples).all() and np.isfinite(snap.surface).all()
    assert np.isfinite(snap.history["loss_d"]).all()
    kept = snap.iteration
    runner.update(lr_d=1e-3, lr_g=1e-3, optimizer="adam")
    after = runner.advance(3, wait=True)  # trains on from the kept state: it was rolled back, not just the picture
    assert after.iteration == kept + 3 and after.state == PAUSED, after.message
    assert np.isfinite(after.samples).all() and np.isfinite(after.history["loss_d"]).all()
    runner.reset()
    assert runner.advance(3, wait=True).iteration == 3 and runner.state == PAUSED


def test_idle_runner_pauses_itself(no_thread_leak):
    with Runner(SMALL, idle_timeout=0.5, threads=1) as r:
        r.start()
        assert r.wait_until(lambda: r.state == PAUSED, 60)
        assert "nobody watched" in r.snapshot(touch=False).message


def test_a_watched_runner_keeps_running(no_thread_leak):
    # read every 0.05 s for 1.5 idle timeouts; the timeout is long enough that a loaded machine's
    # scheduling delays between two reads cannot reach it
    with Runner(SMALL, idle_timeout=2.0, threads=1) as r:
        r.start()
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            assert r.snapshot().state == RUNNING
            time.sleep(0.05)


def test_stop_leaves_no_thread():
    runners = [Runner(SMALL, threads=1) for _ in range(3)]
    for r in runners:
        r.start()
    for r in runners:
        r.stop()
    assert all(r.state == STOPPED for r in runners)
    assert not [t for t in runner_threads() if t in {r.thread for r in runners}]
    with pytest.raises(RuntimeError):
        runners[0].start()


def test_snapshots_are_never_torn(runner):
    runner.update(samples_shown=300)
    runner.start()
    problems, reads = [], [0]
    stop = threading.Event()

    def hammer():
        last = -1
        while not stop.is_set():
            s = runner.snapshot()
            reads[0] += 1
            if s.iteration < last:
                problems.append(f"iteration went back {last} -> {s.iteration}")
            last = s.iteration
            h = s.history["iteration"]
            if len(h) and h[-1] != s.iteration:
                problems.append(f"history ends at {h[-1]}, snapshot at {s.iteration}")
            if s.samples.flags.writeable or s.surface.flags.writeable or h.flags.writeable:
                problems.append("a snapshot array is writeable")
            if not (np.isfinite(s.samples).all() and s.samples.shape[1] == 2):
                problems.append("bad samples")

    readers = [threading.Thread(target=hammer) for _ in range(2)]
    for t in readers:
        t.start()
    try:  # read while at least 20 iterations and 20 snapshots go by, however slow the machine
        assert runner.wait_until(lambda: runner.snapshot(touch=False).iteration >= 20 and reads[0] >= 100, 120)
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not problems, problems[:3]


def test_history_stays_bounded_in_a_long_run(no_thread_leak):
    with Runner(
        SMALL.replace(hidden=8, depth=1, batch_size=16),
        history_capacity=64,
        threads=1,
        publish_interval=0.02,
        metrics_interval=0.02,
    ) as r:
        r.advance(600, wait=True, timeout=120)
        snap = r.snapshot()
        assert snap.iteration == 600
        its = snap.history["iteration"]
        stride = its[1] - its[0]
        assert 32 <= len(its) <= 64 and its[0] == 1 and stride > 1 and its[-1] > 600 - stride
        assert np.all(np.diff(its) == stride)  # evenly thinned, up to the last stride
        assert len(snap.eval_history["iteration"]) <= 64
        assert snap.mode_shares.shape == (len(snap.eval_history["iteration"]), 8)


def reachable(root) -> list:
    """Every object reachable from root's own state (not through classes, functions or modules)."""
    seen, todo, found = {id(root)}, [root], []
    while todo:
        for ref in gc.get_referents(todo.pop()):
            if id(ref) in seen or isinstance(ref, type | types.ModuleType | types.FunctionType):
                continue
            seen.add(id(ref))
            found.append(ref)
            todo.append(ref)
    return found


@pytest.mark.parametrize("started", [True, False], ids=["trained", "never-started"])
def test_a_stopped_runner_lets_go_of_its_torch_state(no_thread_leak, started):
    # a closed tab's session keeps its runner referenced (its widgets' callbacks, the download button's
    # callable): what it keeps must be the last frame, not two networks, their optimizers and a checkpoint
    runner = Runner(SMALL, threads=1)
    if started:
        runner.advance(5, wait=True)
    assert any(isinstance(o, torch.Tensor) for o in reachable(runner))
    runner.stop()
    held = reachable(runner)
    assert not [type(o).__name__ for o in held if isinstance(o, torch.Tensor | torch.nn.Module | GAN)]
    snap = runner.snapshot()
    assert snap.iteration == (5 if started else 0) and snap.state == STOPPED


def test_an_update_says_how_each_change_and_what_it_brings_takes_effect(runner):
    """update() returns every changed setting with its effect, those a change brings along included: a data
    set's own defaults (data), label smoothing 0 with a loss that has no targets (core's rule, once)."""
    assert runner.update(label_smoothing=0.2) == dict(label_smoothing="live")
    assert runner.update(loss="hinge") == dict(loss="live", label_smoothing="live")
    assert runner.config.label_smoothing == 0.0
    assert runner.update(pack=2) == dict(pack="discriminator")
    assert runner.update(dataset="grid") == dict(dataset="data", modes="data", std="data")


def test_g_steps_is_live_and_the_counters_say_k_and_g_steps_per_iteration(runner):
    assert runner.update(k=2, g_steps=3) == dict(k="live", g_steps="live")
    snap = runner.advance(2, wait=True)
    assert (snap.iteration, snap.d_steps, snap.g_steps) == (2, 2 * 2, 2 * 3)
    g = runner.advance(1, "g", wait=True)  # a single G update is one, whatever g_steps says
    assert (g.iteration, g.d_steps, g.g_steps) == (2, 4, 7)


# ---- slow motion (Runner.set_pace) -------------------------------------------------------------------------
def test_slow_motion_caps_the_rate(runner):
    assert runner.pace is None
    runner.set_pace(5)
    assert runner.pace == 5.0
    runner.start()
    assert runner.wait_until(lambda: runner.snapshot().iteration >= 1, 30)
    start, first = time.monotonic(), runner.snapshot().iteration
    time.sleep(1.2)  # the measured interval
    elapsed, done = time.monotonic() - start, runner.snapshot().iteration - first
    # an upper bound only (the machine is noisy); + 2: an iteration at each end of the interval
    assert elapsed >= 1.0 and done <= 5 * elapsed + 2, (done, elapsed)
    assert runner.state == RUNNING


def test_pause_update_and_stop_act_at_once_in_slow_motion(no_thread_leak):
    """At 0.5 it/s the next iteration is 2 s away: the commands wake the waiting thread, they do not wait."""
    runner = Runner(SMALL, threads=1)
    try:
        runner.set_pace(0.5)
        runner.start()
        assert runner.wait_until(lambda: runner.snapshot().iteration >= 1, 30)
        asked = time.monotonic()
        runner.pause()
        assert runner.wait_parked(10) and runner.state == PAUSED
        assert time.monotonic() - asked < 1.0
        runner.start()
        asked = time.monotonic()
        runner.update(lr_d=1e-3)
        assert runner.wait_until(lambda: runner.snapshot().config.lr_d == 1e-3, 10)
        assert time.monotonic() - asked < 1.0 and runner.state == RUNNING
        asked = time.monotonic()
    finally:
        runner.stop()
    assert time.monotonic() - asked < 1.0 and runner.state == STOPPED and not runner.thread.is_alive()


def test_full_speed_again_after_slow_motion(runner):
    runner.set_pace(5)
    runner.start()
    assert runner.wait_until(lambda: runner.snapshot().iteration >= 2, 30)
    runner.set_pace(None)
    assert runner.pace is None
    start, first = time.monotonic(), runner.snapshot().iteration
    assert runner.wait_until(lambda: runner.snapshot().iteration - first > 5 * (time.monotonic() - start) + 20, 60)


def test_slow_motion_publishes_every_iteration_with_its_surface(no_thread_leak):
    """Frames, metrics and surfaces due every 10 s: here only slow motion's rule builds a frame per iteration."""
    runner = Runner(SMALL, threads=1, publish_interval=10, metrics_interval=10, surface_interval=10)
    built = []
    build = runner._frames.build

    def recording(gan, *args, **kwargs):
        snap = build(gan, *args, **kwargs)
        built.append((snap.iteration, snap.surface_iteration))
        return snap

    runner._frames.build = recording
    try:
        runner.set_pace(4)
        runner.start()
        assert runner.wait_until(lambda: runner.snapshot().iteration >= 4, 30)
    finally:
        runner.stop()
    assert {1, 2, 3, 4} <= {iteration for iteration, _ in built}
    # D's surface is new in each (the first iteration follows the first frame too closely to need one)
    assert all(surface == iteration for iteration, surface in built if 2 <= iteration <= 4), built


@pytest.mark.parametrize("pace", [0, -1, 1000.5, math.inf, math.nan, True, "fast", [5]])
def test_a_pace_must_be_a_number_up_to_1000_or_none(runner, pace):
    runner.set_pace(30)
    with pytest.raises(ValueError):
        runner.set_pace(pace)
    assert runner.pace == 30.0  # a refused pace changes nothing
    runner.set_pace(1000)
    assert runner.pace == 1000.0
