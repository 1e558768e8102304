"""The Theory page under AppTest: its numbers come from core.theory, and the payoff table is validated."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runner import live_runners

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from dashboard.screens.theory import theory_page
theory_page()
"""


def test_theory_page(no_thread_leak):
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    try:
        at.run()
        assert not at.exception
        keys = [c.key for c in at.get("plotly_chart")]
        assert len(keys) == 11 and "figure_1" in keys and "frame_(a)" in keys and "fits" in keys
        fits = at.session_state["fits"]
        assert abs(fits["reverse_kl"][0]) == pytest.approx(2.0, abs=0.05) and abs(fits["kl"][0]) < 1e-6
        at.slider(key="fit_separation").set_value(0.0).run()  # one mode: all three fits agree
        fits = at.session_state["fits"]
        assert all(abs(mean) < 0.05 and std == pytest.approx(0.5, rel=0.05) for mean, std in fits.values())
        before = at.get("plotly_chart")[-3].proto.spec
        at.slider(key="saddle_lr").set_value(0.3).run()  # the saddle paths follow the learning rate
        assert at.get("plotly_chart")[-3].proto.spec != before
        values = next(m.value for m in at.markdown if "V(D, G) =" in m.value)
        assert "−log 4 + 2·" in values
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
