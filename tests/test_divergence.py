"""Issue 14 §2: a run that explodes without a NaN is diverged, not "running".

Adam at lr 10-1000, WGAN with clip 1 at lr 1000 and WGAN-GP with lambda 1000 ran on with loss_d 6e27-4e35
and JSD = log 2 while the page said "running". Divergence now includes a loss, G's gradient norm or a
weight past core.training's bounds; the presets stay far below them."""

import re

import numpy as np
import pytest

from core.config import TrainConfig
from core.presets import PRESETS
from core.runner import DIVERGED, PAUSED, Runner
from core.training import GAN, GRAD_BOUND, LOSS_BOUND, WEIGHT_BOUND
from tests.conftest import one_torch_thread

EXPLOSIONS = {
    "adam-lr-10": dict(lr_g=10.0, lr_d=10.0),
    "adam-lr-100": dict(lr_g=100.0, lr_d=100.0),
    "adam-lr-1000": dict(lr_g=1000.0, lr_d=1000.0),
    "wgan-clip-1-lr-1000": dict(loss="wgan", clip=1.0, lr_g=1000.0, lr_d=1000.0),
    "wgan-gp-lambda-1000": dict(loss="wgan-gp", gp_lambda=1000.0, lr_g=1000.0, lr_d=1000.0),
}
WITHIN = 10  # iterations; measured here: every case is caught at its first or second iteration
PRESET_ITERATIONS = 300
MARGIN = 100  # a preset's peak stays this many times below each bound (measured: 4e4, 5e3 and 5e3 over 500)


def diverged_at(message: str) -> int:
    found = re.search(r"diverged at iteration (\d+)", message)
    assert found, message
    return int(found[1])


@pytest.mark.parametrize("changes", EXPLOSIONS.values(), ids=EXPLOSIONS)
def test_an_explosion_without_nan_is_diverged_and_keeps_the_last_good_state(no_thread_leak, changes):
    with Runner(TrainConfig(**changes), threads=1) as runner:
        snap = runner.advance(50, wait=True, timeout=120)  # stops early once diverged: the steps are dropped
        assert snap.state == DIVERGED, (snap.iteration, snap.message)
        at = diverged_at(snap.message)
        assert at <= WITHIN and "Kept the last good state" in snap.message, snap.message
        assert snap.iteration < at  # rolled back, not just flagged
        history = snap.history
        for column, bound in (("loss_d", LOSS_BOUND), ("loss_g", LOSS_BOUND), ("grad_norm_g", GRAD_BOUND)):
            kept = history[column]
            assert (np.abs(kept) <= bound).all(), (column, kept)  # nothing past the bound in what is kept
        assert np.isfinite(snap.samples).all() and np.abs(snap.samples).max() < 100  # the data's square is ±3
        assert np.isfinite(snap.surface).all()
        runner.update(lr_g=1e-3, lr_d=1e-3, loss="nonsaturating")
        after = runner.advance(3, wait=True)  # trains on from the kept state once the settings are sane
        assert after.state == PAUSED and after.iteration == snap.iteration + 3, after.message


def peaks(gan: GAN) -> dict[str, float]:
    return dict(
        loss=max(abs(gan.last["loss_d"]), abs(gan.last["loss_g"])),
        grad=gan.last["grad_norm_g"],
        weight=max(p.detach().abs().max().item() for net in (gan.G, gan.D) for p in net.parameters()),
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_the_presets_stay_far_below_the_divergence_bounds(name):
    gan = GAN(PRESETS[name].config)
    most = dict(loss=0.0, grad=0.0, weight=0.0)
    with one_torch_thread():
        for _ in range(PRESET_ITERATIONS):
            gan.train_iteration()
            assert gan.finite() is None, gan.finite()
            most = {k: max(most[k], v) for k, v in peaks(gan).items()}
    assert gan.finite(weights=True) is None
    bounds = dict(loss=LOSS_BOUND, grad=GRAD_BOUND, weight=WEIGHT_BOUND)
    assert all(MARGIN * most[k] < bounds[k] for k in bounds), most
