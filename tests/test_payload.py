"""The live component's payload decodes back to the snapshot it came from."""

import base64
import json

import numpy as np

from core.config import TrainConfig
from core.runner import Runner
from dashboard.payload import MAX_CURVE_POINTS, payload

SMALL = TrainConfig(hidden=16, depth=1, batch_size=32, eval_samples=300, samples_shown=200, grid_size=40)


def decode(text, dtype):
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def test_payload_round_trip(no_thread_leak):
    with Runner(SMALL, threads=1, history_capacity=2048) as runner:
        snap = runner.step(500, wait=True)
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
