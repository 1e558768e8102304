"""The live component's payload decodes back to the snapshot it came from."""

import base64
import dataclasses
import json
import math

import numpy as np
import pytest

from core.config import TrainConfig
from core.runner import Runner
from dashboard.payload import MAX_CURVE_POINTS, payload, quantise, quantise_centred, surface_title

SMALL = TrainConfig().replace(hidden=16, depth=1, batch_size=32, eval_samples=300, samples_shown=200, grid_size=40)


def decode(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def test_payload_round_trip(no_thread_leak):
    with Runner(SMALL, threads=1, history_capacity=2048) as runner:
        snap = runner.advance(500, wait=True)
    frame = payload(snap)
    json.dumps(frame, allow_nan=False)  # strict JSON all the way down, as the frame route sends it
    assert frame["iteration"] == 500 and frame["metrics"]["modes_total"] == 8
    lo, hi = snap.bounds[:, 0], snap.bounds[:, 1]
    samples = decode(frame["samples"], np.uint16).reshape(-1, 2) / 65535 * (hi - lo) + lo
    inside = np.all((snap.samples > lo) & (snap.samples < hi), axis=1)
    assert np.abs(samples[inside] - snap.samples[inside]).max() < (hi - lo).max() / 65535
    surface = decode(frame["surface"], np.uint8).reshape(40, 40) / 255
    assert np.abs(surface - snap.surface).max() <= 0.5 / 255 + 1e-6  # D(x) in [0, 1], 8 bits
    curve = decode(frame["history"]["iteration"], np.float32)
    assert frame["history"]["n"] == len(curve) <= MAX_CURVE_POINTS and curve[-1] == 500
    assert decode(frame["real"], np.float32).size == 400 and "p_data" in frame
    assert "p_data" not in payload(snap, include_static=False)


def frame_after(config, steps, kind="iteration"):
    with Runner(config, threads=1) as runner:
        snap = runner.advance(steps, kind, wait=True)
    return snap, payload(snap)


@pytest.mark.parametrize(
    "changes, level, label",
    [
        ({}, 0.5, "1/2"),
        (dict(label_smoothing=0.2), 0.4, "(1 − ε)/2 = 0.40"),
        (dict(loss="lsgan", label_smoothing=0.2), 0.4, "(1 − ε)/2 = 0.40"),
        (dict(loss="hinge"), 0.0, "0"),
        (dict(loss="wgan-gp"), None, None),
    ],
)
def test_the_decision_level_drawn_follows_the_loss_and_eps(no_thread_leak, changes, level, label):
    snap, frame = frame_after(SMALL.replace(**changes), 5)
    json.dumps(frame, allow_nan=False)
    assert frame["boundary_label"] == label
    assert frame["boundary"] == (None if level is None else pytest.approx(level))
    if level is not None and not snap.surface_is_probability:  # a score's colours are centred on the level
        lo, hi = frame["surface_range"]
        assert (lo + hi) / 2 == pytest.approx(level)


def test_the_colour_maps_white_sits_on_the_level():
    q = decode(quantise_centred(np.array([0.0, 0.2, 0.4, 0.7, 1.0]), 0.0, 0.4, 1.0), np.uint8)
    assert list(q) == [0, 64, 128, 191, 255]  # 127.5 (the middle of the colour map) is D = 0.4
    linear = decode(quantise(np.array([0.0, 0.2, 0.5, 0.7, 1.0]), 0.0, 1.0), np.uint8)
    assert list(decode(quantise_centred(np.array([0.0, 0.2, 0.5, 0.7, 1.0]), 0.0, 0.5, 1.0), np.uint8)) == list(linear)


def test_gs_gradient_norm_and_reverse_kl_reach_the_page(no_thread_leak):
    snap, frame = frame_after(SMALL, 1, "d")  # D has stepped, G not yet: no gradient norm, and strict JSON
    assert np.isnan(snap.history["grad_norm_g"][-1]) and frame["grad_norm_g"] is None
    json.dumps(frame, allow_nan=False)
    snap, frame = frame_after(SMALL, 30)
    assert frame["grad_norm_g"] == pytest.approx(float(snap.history["grad_norm_g"][-1])) and frame["grad_norm_g"] > 0
    curve = decode(frame["history"]["grad_norm_g"], np.float32)
    assert len(curve) == frame["history"]["n"] and curve[-1] == pytest.approx(frame["grad_norm_g"])
    assert frame["metrics"]["reverse_kl"] == pytest.approx(snap.metrics.reverse_kl)
    width = snap.metrics.mode_width  # NaN (null on the page) while no sample is near a mode
    assert frame["metrics"]["mode_width"] == (None if math.isnan(width) else pytest.approx(width))
    broken = dataclasses.replace(snap, metrics=dataclasses.replace(snap.metrics, jsd=math.nan, reverse_kl=math.inf))
    metrics = payload(broken)["metrics"]
    assert metrics["jsd"] is None and metrics["reverse_kl"] is None
    json.dumps(payload(broken), allow_nan=False)


def test_the_surface_title_says_how_a_packed_d_is_drawn():
    assert surface_title(TrainConfig()) == "D(x) = P(real)"
    assert surface_title(TrainConfig(loss="wgan-gp")) == "critic score D(x)"
    assert surface_title(TrainConfig(pack=2)) == "D(x) packed with G's samples, mean of 4 packs"
    assert surface_title(TrainConfig(pack=3, loss="lsgan")) == "score D(x) packed with G's samples, mean of 6 packs"
    assert "among a batch of G's samples" in surface_title(TrainConfig(minibatch_discrimination=True))
