"""The Theory page under AppTest: its numbers come from core.theory, and the payoff table is validated."""
from pathlib import Path

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
        assert len(at.get("plotly_chart")) == 8 and len(at.latex) >= 6
        values = [m.value for m in at.markdown if "V(D, G) =" in m.value][0]
        assert "−log 4 + 2·" in values
        assert "(defect, defect) paying (5, 5)" in at.success[0].value
        at.session_state["payoffs"] = {"edited_rows": {0: {"defect": "1, -1", "cooperate": "-1, 1"},
                                                       1: {"defect": "-1, 1", "cooperate": "1, -1"}},
                                       "added_rows": [], "deleted_rows": []}
        at.run()
        assert "No pure Nash equilibrium" in at.info[0].value
        at.session_state["payoffs"] = {"edited_rows": {0: {"defect": "five"}}, "added_rows": [], "deleted_rows": []}
        at.run()
        assert not at.exception and "two numbers" in at.warning[0].value
    finally:
        for runner in live_runners():
            runner.stop()
