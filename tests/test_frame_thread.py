"""Frames built beside training (core.runner, core.frame_builder.Still): the frame of a still is the frame of
the live GAN at that iteration, a watched run builds its frames on the frame thread while training goes on,
frames are published in the order of their iterations, and a pause shows exactly where the run stopped."""

import os
import threading

import numpy as np
import pytest
import torch

from core.config import TrainConfig
from core.metrics import generator_metrics
from core.runner import FRAME_NICE, PAUSED, Runner
from core.snapshot import Probe, Still, frame_copies, picture
from core.training import GAN

SMALL = TrainConfig().replace(hidden=32, depth=2, batch_size=64, eval_samples=500, samples_shown=200, grid_size=40)
D_SHAPES = {
    "plain": {},
    "spectral norm": dict(spectral_norm=True),
    "packed": dict(pack=2),
    "minibatch features": dict(minibatch_discrimination=True),
}


@pytest.mark.parametrize("shape", D_SHAPES)
def test_a_still_draws_the_frame_of_the_live_gan(shape):
    """Copies of G and D with the live weights (spectral norm's vectors and every layer's shape included)
    draw the same samples, D surface, arrows and metrics as the live networks, bit for bit."""
    torch.manual_seed(0)
    gan = GAN(SMALL.replace(**D_SHAPES[shape]))
    for _ in range(30):
        gan.train_iteration()
    probe = Probe(gan)
    still = Still(gan, *frame_copies(gan, None)[2:])
    live, copied = picture(gan, probe), picture(still, probe)
    for key in ("samples", "d_samples", "surface", "arrows", "manifold"):
        np.testing.assert_array_equal(copied[key], live[key], err_msg=key)
    (m_live, _), (m_copy, _) = (generator_metrics(g, probe.z_eval, probe.real_eval) for g in (gan, still))
    assert (m_copy.d_real, m_copy.d_fake, m_copy.jsd, m_copy.modes_captured) == (
        m_live.d_real,
        m_live.d_fake,
        m_live.jsd,
        m_live.modes_captured,
    )
    assert still.iteration == gan.iteration == 30 and still.loss is gan.loss


def test_copies_follow_the_weights_and_a_new_discriminator():
    gan = GAN(SMALL)
    copies = frame_copies(gan, None)
    gan.train_iteration()
    again = frame_copies(gan, copies)
    assert again[2] is copies[2] and again[3] is copies[3]  # the same copies, the new weights loaded
    for live, held in ((gan.G, again[2]), (gan.D, again[3])):
        for a, b in zip(live.state_dict().values(), held.state_dict().values(), strict=True):
            assert torch.equal(a, b)
    gan.replace_discriminator(gan.config.replace(spectral_norm=True))
    fresh = frame_copies(gan, again)
    assert fresh[3] is not again[3] and fresh[1] is gan.D  # a new D: new copies of it
    assert sum("parametrizations" in name for name in fresh[3].state_dict()) > 0


def test_a_watched_run_builds_its_frames_beside_training_in_order(no_thread_leak):
    runner = Runner(SMALL, threads=1, publish_interval=0.02, metrics_interval=0.05, surface_interval=0.05)
    built = []  # (thread name, iteration) of every frame, in the order they were published
    niceness = {}  # the niceness of each thread that built a frame, as the kernel has it
    build = runner._frames.build

    def recording(gan, *args, **kwargs):
        snap = build(gan, *args, **kwargs)
        built.append((threading.current_thread().name, snap.iteration))
        niceness[threading.current_thread().name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return snap

    runner._frames.build = recording
    try:
        runner.start()
        assert runner.wait_until(lambda: runner.snapshot().iteration >= 60, 60)
        runner.pause(wait=True)
        stopped_at = runner.snapshot()
        assert stopped_at.state == PAUSED
        assert stopped_at.iteration == built[-1][1]  # parked with the frame where it stopped published
        runner.update(lr_d=1e-4)  # a command while paused: its frame is the training thread's
        runner.wait_parked()
        runner.advance(3, wait=True)
        assert runner.snapshot().iteration == stopped_at.iteration + 3
    finally:
        runner.stop()
    beside = [it for name, it in built if name.endswith("-frames_0")]
    assert len(beside) >= 3, built  # a watched run's frames: built on the frame thread
    assert built[-1] == (runner.name, stopped_at.iteration + 3)  # a step's: on the training thread
    iterations = [it for _, it in built]
    assert iterations == sorted(iterations), built  # never an older frame after a newer one
    assert not [t for t in threading.enumerate() if t.name.startswith(runner.name)]  # both threads ended
    # the frame thread yields to training: FRAME_NICE steps lower, the training thread at its starter's
    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert niceness == {runner.name: ours, f"{runner.name}-frames_0": min(19, ours + FRAME_NICE)}, niceness
    assert ours == 19 or niceness[f"{runner.name}-frames_0"] > ours
