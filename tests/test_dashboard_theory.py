"""The Theory page under AppTest: its numbers come from core.theory, and the payoff table is validated."""

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.runner import live_runners

SCRIPT = """
from dashboard.screens.theory import theory_page
theory_page()
"""


def array(value) -> np.ndarray:
    """A Plotly JSON array: a plain list or a typed array {"dtype", "bdata": base64}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def drawn_fits(at) -> dict[str, tuple[float, float]]:
    """Mean and std of each fitted Gaussian as drawn on the "Which divergence?" chart (moments of the curve)."""
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "fits").proto.spec)
    fits = {}
    for trace in spec["data"][1:]:  # the first trace is p
        x, q = array(trace["x"]), array(trace["y"])
        mean = (x * q).sum() / q.sum()
        fits[trace["name"].split(":")[0]] = (mean, np.sqrt(((x - mean) ** 2 * q).sum() / q.sum()))
    return fits


def chart(at, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def test_theory_page(no_thread_leak):
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    try:
        at.run()
        assert not at.exception
        keys = [c.key for c in at.get("plotly_chart")]
        assert len(keys) == 11 and "figure_1" in keys and "frame_(a)" in keys and "fits" in keys
        # p: modes N(-2, 0.5²) and N(2, 0.5²). Forward KL matches p's moments: mean 0, std sqrt(4 + 0.25);
        # reverse KL sits on one mode: mean ±2, std 0.5
        fits = drawn_fits(at)
        # (the drawn curve stops at ±8, 3.9 std out: its std reads 0.002 short)
        assert fits["forward KL(p‖q)"] == pytest.approx((0, np.sqrt(4.25)), abs=3e-3)
        assert abs(fits["reverse KL(q‖p)"][0]) == pytest.approx(2, abs=0.01)
        assert fits["reverse KL(q‖p)"][1] == pytest.approx(0.5, abs=0.01)
        at.slider(key="fit_separation").set_value(0.0).run()  # one mode, N(0, 0.5²): all three fits are p itself
        assert all(v == pytest.approx((0, 0.5), abs=1e-3) for v in drawn_fits(at).values()), drawn_fits(at)
        before = at.get("plotly_chart")[-3].proto.spec
        at.slider(key="saddle_lr").set_value(0.3).run()  # the saddle paths follow the learning rate
        assert at.get("plotly_chart")[-3].proto.spec != before
        values = next(m.value for m in at.markdown if "V(D, G) =" in m.value)
        assert "−log 4 + 2·" in values
        assert any("mode width" in m.value and "high-quality share" in m.value for m in at.markdown)
        history = chart(at, "value_history")
        for trace in history["data"]:  # recorded points are joined: no holes where a surface was stale
            assert np.isfinite(array(trace["y"])).all(), trace["name"]
        assert "least V(D*, G)" in history["layout"]["annotations"][0]["text"]
        # simultaneous and alternating steps coincide on x² − y² (x's gradient ignores y), not on x·y
        names = lambda key: [t.get("name") for t in chart(at, key)["data"]]
        assert "alternating (the same path)" in names("game_x2-y2") and "alternating" in names("game_xy")
        assert any("JS's fit is close to forward KL's" in c.value for c in at.caption)  # at the default 4
        assert "(defect, defect) paying (5, 5)" in at.success[0].value
        at.session_state["payoffs"] = {
            "edited_rows": {0: {"defect": "1, -1", "cooperate": "-1, 1"}, 1: {"defect": "-1, 1", "cooperate": "1, -1"}},
            "added_rows": [],
            "deleted_rows": [],
        }
        at.run()
        assert "No pure Nash equilibrium" in at.info[0].value
        at.session_state["payoffs"] = {"edited_rows": {0: {"defect": "five"}}, "added_rows": [], "deleted_rows": []}
        at.run()
        assert not at.exception and "two numbers" in at.warning[0].value
        at.button(key="line_step").click().run()  # the paper's 1-D picture: 100 iterations of a 1-D GAN
        line = next(r for r in live_runners() if r.config.dataset == "line")
        snap = line.snapshot()
        assert snap.iteration == 100 and snap.samples.shape[1] == 1 and snap.surface.ndim == 1
        keys = [c.key for c in at.get("plotly_chart")]
        assert {"frame_(a)", "frame_(b)"} <= set(keys) and "frame_(c)" not in keys  # (c) comes at 150
        assert any("(c): not reached yet" in c.value for c in at.caption)
        assert any("Iteration **100**" in m.value for m in at.markdown)
    finally:
        for runner in live_runners():
            runner.stop()
