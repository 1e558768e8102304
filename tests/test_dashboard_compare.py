"""The Compare page under AppTest: two sweeps in the background, a progress bar, mean ± std curves, a table
of per-seed rows and their statistics, and no thread left when the job ends or its session does."""

import json
import math
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.comparison import CompareJob
from core.config import TrainConfig
from core.presets import PRESETS
from core.runner import RUNNING, Runner, live_runners
from core.slots import TrainingSlots
from core.sweep import METRICS, SweepResult
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
        at.selectbox(key="cmp_preset_B").set_value("ring8").run()  # k 1: quicker than the default's k 5
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
        # the lines under the charts are the final values' statistics, the table's mean and se
        b = table[table["config"] == "B"]
        stat = lambda rows, row, metric: float(rows[rows["row"] == row][metric].iloc[0])
        (jsd,) = [m.value for m in at.markdown if m.value.startswith("JSD at iteration 100: ")]
        assert (
            f"B {stat(b, 'mean', 'jsd'):.3f} ± {stat(b, 'se', 'jsd'):.3f}, "
            f"A {stat(a, 'mean', 'jsd'):.3f} ± {stat(a, 'se', 'jsd'):.3f} (mean ± standard error over 2 seeds each)"
        ) in jsd
        assert [m.value for m in at.markdown if m.value.startswith("Modes captured at iteration 100: ")]
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
    config = TrainConfig().replace(hidden=16, depth=1)
    job = CompareJob({"A": config, "B": config}, seeds=2, steps=100_000)
    job.start()
    assert started(job)
    at_cancel = job.done_steps
    job.cancel()
    assert job.join(60) and not compare_threads()
    assert job.done_steps <= at_cancel + 1 and job.error == "cancelled"  # checked after every iteration


def test_ending_the_session_cancels_a_running_comparison(no_thread_leak):
    owner = SessionTraining(TrainingSlots(capacity=1))
    config = TrainConfig().replace(hidden=16, depth=1)
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
    other = Runner(TrainConfig().replace(hidden=16, depth=1), threads=1)  # another tab's run, holding the one slot
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
    config = TrainConfig().replace(hidden=16, depth=1)
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
        config = TrainConfig().replace(hidden=16, depth=1)
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


# Issue 16 §4: colours that mean nothing else, legends that name the configuration, bands cut at each metric's
# range, defaults that show the textbook effect, and a line under the charts computed from the results.


def finished_owner(configs: dict[str, TrainConfig], seeds: int = 2, steps: int = 3) -> SessionTraining:
    """A session owner whose comparison has already run (a few iterations), for the page to show."""
    owner = SessionTraining(TrainingSlots(capacity=1))
    assert owner.compare(CompareJob(configs, seeds, steps)) == 0
    assert owner.job.join(60) and owner.job.error is None
    return owner


def traces(at) -> dict[str, list[dict]]:
    """Each chart's traces (Plotly's JSON), by the chart's title."""
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {chart["layout"]["title"]["text"]: chart["data"] for chart in charts}


def test_the_defaults_compare_the_two_losses_against_one_discriminator(no_thread_leak):
    """The default pairing differs in the loss only (A minimax, B non-saturating, k 5, lr_D 5e-4), over 6 seeds
    of 300 iterations: B ahead by more than 6 standard errors here (README)."""
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    assert not at.exception and not at.warning
    side = lambda name: (
        at.selectbox(key=f"cmp_preset_{name}").value,
        at.selectbox(key=f"cmp_loss_{name}").value,
        at.slider(key=f"cmp_k_{name}").value,
        at.select_slider(key=f"cmp_lrd_{name}").value,
    )
    assert side("A") == ("strong-discriminator", "minimax", 5, 5e-4)
    assert side("B") == ("strong-discriminator", "nonsaturating", 5, 5e-4)
    assert at.slider(key="cmp_seeds").value == compare.DEFAULT_SEEDS == 6
    assert at.select_slider(key="cmp_steps").value == compare.DEFAULT_STEPS == 300


def test_a_preset_brings_its_own_loss_k_and_learning_rate(no_thread_leak):
    """Picking a preset sets the side's loss, k and lr_D to the preset's (they kept the last preset's before:
    wgan-gp was trained with the minimax loss)."""
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    at.selectbox(key="cmp_preset_A").set_value("wgan-gp").run()
    assert not at.exception and not at.warning
    wgan = PRESETS["wgan-gp"].config
    assert at.selectbox(key="cmp_loss_A").value == wgan.loss == "wgan-gp"
    assert (at.slider(key="cmp_k_A").value, at.select_slider(key="cmp_lrd_A").value) == (wgan.k, wgan.lr_d)
    assert at.selectbox(key="cmp_loss_B").value == "nonsaturating"  # the other side is left alone


def test_the_legends_name_each_configuration_and_the_colours_mean_nothing_else(no_thread_leak, monkeypatch):
    configs = {"A": PRESETS["minimax-saturates"].config, "B": PRESETS["mode-collapse"].config}
    owner = finished_owner(configs)
    monkeypatch.setattr(compare, "session_training", lambda: owner)  # AppTests share one session id
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    try:
        at.run()
        assert not at.exception and not at.warning
        charts = traces(at)
        assert len(charts) == 6
        for data in charts.values():
            band_a, line_a, band_b, line_b = data
            assert line_a["name"] == "A: minimax-saturates (loss minimax, k 5, lr_D 0.002)"
            assert line_b["name"] == "B: mode-collapse (loss nonsaturating, k 1, lr_D 0.001)"
            assert not band_a.get("showlegend", True) and not band_b.get("showlegend", True)  # said once, above
            assert "mean ± std" not in line_a["name"] + line_b["name"]
            assert (line_a["line"]["color"], line_b["line"]["color"]) == (compare.COLOURS["A"], compare.COLOURS["B"])
            assert line_a["line"]["dash"] != line_b["line"]["dash"]  # told apart without colour too
        assert "± one standard deviation" in at.caption[0].value
    finally:
        owner.release()


def train_page_colours() -> dict[str, tuple[int, int, int]]:
    """The colours that mean something on the Train page, read from its canvas code."""
    js = (ROOT / "dashboard" / "components" / "live.js").read_text()
    css = (ROOT / "dashboard" / "components" / "live.css").read_text()
    rgb = lambda text: tuple(int(v) for v in re.findall(r"\d+", text)[:3])
    hexa = lambda text: tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))
    found = {
        "real (D -> 1)": rgb(re.search(r"const REAL = \[([^\]]+)\]", js)[1]),
        "generated (D -> 0)": rgb(re.search(r"const FAKE = \[([^\]]+)\]", js)[1]),
        "G's samples": hexa(re.search(r'const SAMPLE = "(#[0-9a-fA-F]{6})"', js)[1]),
        "the manifold": rgb(re.search(r'const MANIFOLD = "rgba\(([^)]+)\)"', js)[1]),
        "p_data": rgb(re.search(r"\.mm-sw-data \{ background: rgb\(([^)]+)\)", css)[1]),
    }
    assert found == {
        "real (D -> 1)": (27, 158, 119),
        "generated (D -> 0)": (142, 68, 173),
        "G's samples": (232, 89, 12),
        "the manifold": (25, 70, 160),
        "p_data": (170, 160, 210),
    }, "the Train page's colours changed: check the Compare page's against them again"
    return found


def lab(colour: tuple[int, int, int]) -> np.ndarray:
    """sRGB (D65) -> CIELAB."""
    c = np.asarray(colour, dtype=float) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    f = lambda t: np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    x, y, z = f(xyz / np.array([0.95047, 1.0, 1.08883]))
    return np.array([116 * y - 16, 500 * (x - y), 200 * (y - z)])


def test_a_and_b_are_colours_the_train_page_does_not_use():
    """A and B are not green ("data", D -> 1) and orange (G's samples) any more: each is far from every colour
    that means something on the Train page (CIE76 distance over 40; about 2.3 is just noticeable)."""
    ours = {name: tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for name, c in compare.COLOURS.items()}
    for meaning, colour in train_page_colours().items():
        for name, mine in ours.items():
            assert np.linalg.norm(lab(mine) - lab(colour)) > 40, f"{name} is close to {meaning}"
    assert np.linalg.norm(lab(ours["A"]) - lab(ours["B"])) > 40


def test_the_bands_stay_within_each_metric_range():
    """Four seeds whose mean ± std leaves the range on both sides (three at one end, one at the other): the
    band is cut at 0 and at the mixture's mode count (8 for the ring, 25 for the grid: from the data, not
    hard-coded), 1 for shares and D's probabilities, log 2 for the JSD, log K for the reverse KL."""
    ring, grid = PRESETS["ring8"].config, PRESETS["grid25"].config
    assert compare.metric_range("modes_captured", ring) == (0, 8)
    assert compare.metric_range("modes_captured", grid) == (0, 25)
    assert compare.metric_range("jsd", ring) == (0, math.log(2))
    assert compare.metric_range("reverse_kl", grid) == pytest.approx((0, math.log(25)))
    assert compare.metric_range("d_real", PRESETS["wgan-gp"].config) == (-math.inf, math.inf)  # a critic's score
    top = dict(modes_captured=8, high_quality=1, jsd=math.log(2), reverse_kl=math.log(8), d_real=1, d_fake=1)
    curves = {m: np.array([[0, 0, 0, hi], [hi, hi, hi, 0]], dtype=float) for m, hi in top.items()}
    curves |= {m: np.zeros((2, 4)) for m in METRICS if m not in top} | {"iteration": np.array([1, 2])}
    result = SweepResult([0, 1, 2, 3], curves, 0.0)
    for metric, hi in top.items():
        values = curves[metric]
        mean, std = values.mean(1), values.std(1, ddof=1)
        assert (mean - std)[0] < 0 and (mean + std)[1] > hi  # what the band was before
        fig = compare._band_chart(metric, {"A": result}, {"A": "A"}, {"A": ring})
        band, line = fig.data
        assert min(band.y) == 0 and max(band.y) == pytest.approx(hi) and list(line.y) == list(mean)


def test_the_line_under_the_charts_from_hand_computed_figures():
    """A = 1, 2, 3 and B = 4, 6, 8: means 2 and 6, standard errors 1/√3 = 0.58 and 2/√3 = 1.15, a difference of 4
    with standard error √(5/3) = 1.29, so 3.1 standard errors; Welch's t = 3.10 on 50/17 = 2.94 degrees of
    freedom gives p = 0.055 (between t(3)'s 0.05 and 0.10 critical values 3.18 and 2.35): not significant."""
    d = compare.difference([1, 2, 3], [4, 6, 8])
    assert (d.mean_a, d.mean_b, d.diff) == (2, 6, 4)
    assert (d.se_a, d.se_b, d.se) == pytest.approx((1 / math.sqrt(3), 2 / math.sqrt(3), math.sqrt(5 / 3)))
    assert 0.05 < d.p < 0.06 and not d.significant
    assert compare.difference_line("modes captured", [1, 2, 3], [4, 6, 8], True, 300) == (
        "Modes captured at iteration 300: B 6.00 ± 1.15, A 2.00 ± 0.58 (mean ± standard error over 3 seeds each). "
        "B is ahead: 4.00 higher, 3.1 standard errors of the difference; Welch's t-test p = 0.055: not significant "
        "at the 5% level (more seeds may tell)."
    )
    # JSD, lower is better: A 0.60-0.66 and B 0.40-0.46 in steps of 0.02, both with standard error √(0.002/3)/2
    # = 0.0129; a difference of 0.2 over 0.0183 is 11 standard errors (t on 6 degrees of freedom: p = 3e-5)
    a, b = [0.60, 0.62, 0.64, 0.66], [0.40, 0.42, 0.44, 0.46]
    assert compare.difference_line("JSD", a, b, False, 1000, digits=3) == (
        "JSD at iteration 1,000: B 0.430 ± 0.013, A 0.630 ± 0.013 (mean ± standard error over 4 seeds each). "
        "B is ahead: 0.200 lower, 11.0 standard errors of the difference; Welch's t-test p < 0.001: significant at "
        "the 5% level."
    )
    assert compare.difference_line("JSD", b, a, False, 10, digits=3).count("A is ahead: 0.200 lower") == 1
    assert "no spread over seeds" in compare.difference_line("modes captured", [0, 0], [1, 1], True, 100)
    assert "No difference" in compare.difference_line("modes captured", [1, 2], [2, 1], True, 100)


@pytest.mark.slow
def test_the_default_comparison_shows_the_textbook_effect():
    """The page's default (README's figures): over seeds 0-5 and 300 iterations, the non-saturating loss (B)
    ends ahead of the saturating minimax loss (A) on modes captured and on the JSD, significantly."""
    from core.sweep import run_sweep
    from tests.conftest import one_torch_thread

    finals = {}
    with one_torch_thread():  # as the page trains
        for name, (preset, loss) in compare.DEFAULTS.items():
            config = PRESETS[preset].config.replace(loss=loss)
            result = run_sweep(config, compare.DEFAULT_SEEDS, compare.DEFAULT_STEPS, eval_every=50)
            finals[name] = result.final()
    for metric, higher_is_better in (("modes_captured", True), ("jsd", False)):
        a = [row[metric] for row in finals["A"]]
        b = [row[metric] for row in finals["B"]]
        d = compare.difference(a, b)
        ahead = d.diff if higher_is_better else -d.diff
        assert ahead > 3 * d.se and d.p < 0.01, (metric, d)
