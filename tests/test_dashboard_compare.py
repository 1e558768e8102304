"""The Compare page under AppTest: two sweeps in the background, a progress bar, mean ± std curves, a table
of per-seed rows and their statistics, and no thread left when the job ends or its session does."""

import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.runner import live_runners
from dashboard.screens import compare
from dashboard.screens.compare import CompareJob, _release

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
from dashboard.screens.compare import compare_page
compare_page()
"""


def compare_threads():
    return [t for t in threading.enumerate() if t.name == "minimax-compare" and t.is_alive()]


def test_compare_two_configurations(no_thread_leak):
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    try:
        at.run()
        assert not at.exception
        at.selectbox(key="cmp_preset_A").set_value("remedy-packing").run()  # a remedy: trained seed by seed
        at.slider(key="cmp_seeds").set_value(2)
        at.select_slider(key="cmp_steps").set_value(100)
        at.button(key="cmp_run").click().run()
        deadline = time.monotonic() + 180
        while not at.dataframe and time.monotonic() < deadline:
            time.sleep(1.0)
            at.run()
        assert not at.exception and not at.warning
        table = at.dataframe[0].value
        assert len(table) == 2 * (2 + 3)  # per configuration: 2 seeds, then mean, std, se
        a = table[table["config"] == "A"]
        seeds = a[a["row"].isin(["seed 0", "seed 1"])]["jsd"].astype(float)
        assert float(a[a["row"] == "mean"]["jsd"].iloc[0]) == float(seeds.mean())
        assert len(at.get("plotly_chart")) == 6
        assert not compare_threads()
    finally:
        for runner in live_runners():
            runner.stop()


def started(job: CompareJob, iterations: int = 3, timeout: float = 120) -> bool:
    """Wait until the job's thread has trained `iterations` iterations (however loaded the machine)."""
    deadline = time.monotonic() + timeout
    while job.done_steps < iterations and job.running and time.monotonic() < deadline:
        time.sleep(0.01)
    return job.done_steps >= iterations and job.running


def test_a_cancelled_comparison_stops_within_one_iteration():
    config = TrainConfig(hidden=16, depth=1)
    job = CompareJob({"A": config, "B": config}, seeds=2, steps=100_000)
    assert started(job)
    at_cancel = job.done_steps
    job.cancel()
    assert job.join(60) and not compare_threads()
    assert job.done_steps <= at_cancel + 1 and job.error == "cancelled"  # checked after every iteration


def test_ending_the_session_cancels_a_running_comparison():
    config = TrainConfig(hidden=16, depth=1)
    job = CompareJob({"A": config, "B": config}, seeds=2, steps=100_000)
    assert started(job)
    _release({"job": job})  # what Streamlit calls when the session ends
    assert job.join(60) and job.error == "cancelled" and not compare_threads()


def test_leaving_the_page_cancels_a_running_comparison(no_thread_leak, monkeypatch):
    at = AppTest.from_file(str(ROOT / "dashboard" / "main.py"), default_timeout=60)
    try:
        at.run()
        config = TrainConfig(hidden=16, depth=1)
        holder = {"job": CompareJob({"A": config, "B": config}, seeds=2, steps=100_000)}
        assert started(holder["job"])
        monkeypatch.setattr(compare, "_job_holder", lambda: holder)  # the session's job, as the Compare page left it
        at.run()  # the Train page renders: the comparison must stop
        assert not at.exception
        assert holder["job"].join(60) and "left the Compare page" in holder["job"].error
        assert not compare_threads()
    finally:
        for runner in live_runners():
            runner.stop()
