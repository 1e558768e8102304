"""The frame route (issue 14): every frame is strict JSON whatever the snapshot holds, and a token lives as
long as its run (a stopped run's token answers 404 and is dropped; the session's end revokes it)."""

import asyncio
import dataclasses
import json
import math

import numpy as np
import pytest
from starlette.requests import Request

from core.config import TrainConfig
from core.runner import Runner
from dashboard import frames
from dashboard.payload import payload
from dashboard.session import _release

SMALL = TrainConfig().replace(hidden=16, depth=1, batch_size=32, eval_samples=300, samples_shown=200, grid_size=40)


def strict_loads(body: bytes):
    """json.loads that refuses NaN and Infinity, as the page's JSON.parse does."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def get(token: str, have: str = "") -> tuple[int, object]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": frames.frame_url(token),
        "path_params": {"token": token},
        "query_string": f"have={have}".encode(),
        "headers": [],
    }
    response = asyncio.run(frames.frame_endpoint(Request(scope)))
    return response.status_code, strict_loads(response.body)


def poisoned(value, bad: float):
    """value with every float in it (scalars, arrays, the metrics, the histories) replaced by `bad`."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return np.full_like(value, bad)
    if isinstance(value, float):
        return bad
    if isinstance(value, dict):
        return {k: poisoned(v, bad) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type | TrainConfig):
        return dataclasses.replace(
            value, **{f.name: poisoned(getattr(value, f.name), bad) for f in dataclasses.fields(value) if f.init}
        )
    return value


@pytest.fixture
def runner(no_thread_leak):
    r = Runner(SMALL, threads=1)
    yield r
    r.stop()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])  # a probability surface and a critic's scores
def test_every_frame_is_strict_json_whatever_the_snapshot_holds(runner, bad, loss):
    runner.update(loss=loss)
    snap = poisoned(runner.advance(3, wait=True), bad)
    assert math.isnan(snap.metrics.jsd) or math.isinf(snap.metrics.jsd)  # the poison reached the metrics
    assert not np.isfinite(snap.bounds).any() and not np.isfinite(snap.history["loss_d"]).any()
    for frame in (payload(snap), payload(snap, include_static=False)):
        strict_loads(json.dumps(frame, allow_nan=False))
    assert payload(snap)["metrics"]["jsd"] is None and payload(snap)["bounds"] == [None] * 4


def test_the_diverged_lsgan_run_of_the_issue_is_served_as_frames(runner):
    # /?optimizer=sgd&lr_g=100&lr_d=100&loss=lsgan: its frames held NaN and the route could not send them
    runner.update(optimizer="sgd", lr_g=100.0, lr_d=100.0, loss="lsgan")
    token = frames.register(runner)
    runner.advance(5, wait=True)
    status, frame = get(token)
    assert status == 200 and frame["state"] == "diverged", frame


def test_a_stopped_runs_token_answers_404_and_is_dropped(runner):
    token = frames.register(runner)
    status, frame = get(token)
    assert status == 200 and frame["iteration"] == 0 and "p_data" in frame
    status, frame = get(token, have=frame["static_key"])
    assert status == 200 and "p_data" not in frame
    runner.stop()
    status, frame = get(token)
    assert status == 404 and "ended" in frame["error"]
    assert token not in frames._owners  # dropped, not just refused


def test_the_sessions_end_revokes_the_token_and_stops_the_run(runner):
    token = frames.register(runner)
    assert frames.register(runner) == token and get(token)[0] == 200  # one token per runner
    held = frames.tokens()
    _release(runner)  # what Streamlit calls when the tab's session ends (st.cache_resource's on_release)
    assert frames.tokens() == held - 1 and runner.state == "stopped"
    assert get(token)[0] == 404
