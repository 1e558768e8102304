"""The Compare page under AppTest: two sweeps in the background, a progress bar, mean ± std curves, a table
of per-seed rows and their statistics, and no thread left when the job ends or its session does."""

import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.comparison import CompareJob
from core.config import TrainConfig
from core.runner import RUNNING, Runner, live_runners
from core.slots import TrainingSlots
from dashboard import session
from dashboard.screens import compare
from dashboard.session import LEFT_COMPARE, SessionTraining

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
    job.start()
    assert started(job)
    at_cancel = job.done_steps
    job.cancel()
    assert job.join(60) and not compare_threads()
    assert job.done_steps <= at_cancel + 1 and job.error == "cancelled"  # checked after every iteration


def test_ending_the_session_cancels_a_running_comparison(no_thread_leak):
    owner = SessionTraining(TrainingSlots(capacity=1))
    config = TrainConfig(hidden=16, depth=1)
    owner.board()
    assert owner.compare(CompareJob({"A": config, "B": config}, seeds=2, steps=100_000)) == 0
    assert started(owner.job)
    owner.release()  # what Streamlit calls when the session ends (st.cache_resource's on_release)
    assert owner.job.join(60) and owner.job.error == "cancelled" and not compare_threads()
    assert owner.board().state != RUNNING


def test_a_comparison_waits_for_a_slot_while_a_run_trains_and_says_so(no_thread_leak, monkeypatch):
    """Issue 15 §1: a Compare job bypassed the server-wide cap. With the cap at 1 and another session's run
    training, the comparison waits in line (the page says so) and starts by itself once the slot is free."""
    slots = TrainingSlots(capacity=1)
    owner = SessionTraining(slots)
    monkeypatch.setattr(compare, "session_training", lambda: owner)  # AppTests share one session id
    other = Runner(TrainConfig(hidden=16, depth=1), threads=1)  # another tab's run, holding the one slot
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    try:
        assert slots.request(other) == 0 and other.state == RUNNING
        at.run()
        at.slider(key="cmp_seeds").set_value(2)
        at.select_slider(key="cmp_steps").set_value(100)
        at.button(key="cmp_run").click().run()
        assert not at.exception
        (waiting,) = [e.value for e in at.info if e.value.startswith("Waiting for a training slot")]
        assert "place 1 in line" in waiting and "at most 1 run or comparison at once (1 training now)" in waiting
        assert not compare_threads() and slots.running() == 1
        other.pause(wait=True)  # the slot frees: the page's next refresh starts the comparison
        deadline = time.monotonic() + 60
        while not compare_threads() and not at.dataframe and time.monotonic() < deadline:
            at.run()
        assert compare_threads() or at.dataframe, "the comparison did not start once the slot was free"
        assert not [e for e in at.info if e.value.startswith("Waiting for a training slot")]
    finally:
        other.stop()
        owner.release()
        for runner in live_runners():
            runner.stop()
        assert owner.job is None or owner.job.join(60)


def test_switching_pages_pauses_or_cancels_what_left_the_screen(no_thread_leak):
    """The router tells the session's owner which page is on screen; what is not shown stops training: the
    comparison off Compare, the 1-D run off Theory, the board's run on Compare (Theory shows it)."""
    owner = SessionTraining(TrainingSlots(capacity=3))
    config = TrainConfig(hidden=16, depth=1)
    try:
        board, line = owner.board(), owner.line()
        assert owner.slots.request(board) == 0 and owner.slots.request(line) == 0
        owner.show("theory")
        assert board.state == RUNNING and line.state == RUNNING  # both shown on the Theory page
        owner.show("train")
        assert line.wait_until(lambda: line.state == "paused", 10) and board.state == RUNNING
        owner.show("compare")
        assert board.wait_until(lambda: board.state == "paused", 10)
        owner.compare(CompareJob({"A": config, "B": config}, seeds=2, steps=100_000))
        assert started(owner.job)
        owner.show("train")
        assert owner.job.join(60) and owner.job.error == LEFT_COMPARE and not compare_threads()
    finally:
        owner.release()


def test_leaving_the_page_cancels_a_running_comparison(no_thread_leak, monkeypatch):
    """The same through the router: a job left running on Compare, then the Train page is shown."""
    at = AppTest.from_file(str(ROOT / "dashboard" / "main.py"), default_timeout=60)
    owner = SessionTraining(TrainingSlots(capacity=3))
    monkeypatch.setattr(session, "session_training", lambda: owner)
    try:
        config = TrainConfig(hidden=16, depth=1)
        owner.show("compare")
        owner.compare(CompareJob({"A": config, "B": config}, seeds=2, steps=100_000))
        assert started(owner.job)
        at.run()  # the Train page renders: the comparison must stop
        assert not at.exception
        assert owner.job.join(60) and "left the Compare page" in owner.job.error
        assert not compare_threads()
    finally:
        owner.release()
        for runner in live_runners():
            runner.stop()
