"""The Explore page (issue 17) under AppTest and in a real browser: a diagram shipped, uploaded or computed here in
the background (an ExploreJob admitted by the training slots, cancelled off its page and at the session's end, its
thread gone), a heatmap per metric and the outcome map, a bad file or a bad axis said in one plain line, and a
clicked cell's run opened on the Train page with that config and seed in the board's runner."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from core import explore as explore_module
from core.executors import run_exploration
from core.exploration_job import ExploreJob
from core.explore import OUTCOMES, SWING, Exploration, Grid, load, parse_axis
from core.presets import PRESETS
from core.runner import PAUSED, RUNNING, live_runners
from core.slots import TrainingSlots
from dashboard import controls, session
from dashboard.screens import explore, train
from dashboard.session import LEFT_EXPLORE, SessionTraining
from tests.browser import chromium, dashboard_server, needs_chromium
from tests.conftest import APP

SCRIPT = """
from dashboard.screens.explore import explore_page
explore_page()
"""
TINY = PRESETS["ring8"].config.replace(hidden=32, depth=2, batch_size=64, eval_samples=500)


def explore_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "minimax-explore" and t.is_alive()]


def tiny_grid(steps: int = 100) -> Grid:
    """2 x 2 cells (lr_d log-spaced across, k down) x 2 seeds of a small ring8."""
    return Grid(TINY, parse_axis("lr_d=1e-4:1e-2:2log"), parse_axis("k=1,3"), (0, 1), steps)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A finished tiny exploration's file, computed as the page computes one (serial, one torch thread)."""
    result = run_exploration(Exploration(tiny_grid(), "ring8"), "serial")
    path = tmp_path_factory.mktemp("explorations") / "tiny.npz"
    result.save(path)
    return path


@pytest.fixture
def owner(no_thread_leak, monkeypatch):
    """A session owner of its own (AppTests share one session id), seen by the router and both pages; released
    after the test, and no explore thread or runner left alive."""
    fresh = SessionTraining(TrainingSlots(capacity=2))
    for module in (session, explore, train):
        monkeypatch.setattr(module, "session_training", lambda: fresh)
    yield fresh
    fresh.release()
    job = fresh.explore_job
    assert job is None or job.join(120), "the exploration's thread outlived its session"
    for runner in live_runners():
        runner.stop()
    assert not explore_threads()


def upload(at: AppTest, name: str, data: bytes) -> None:
    at.radio(key="exp_source").set_value("A result file").run()
    at.file_uploader(key="exp_upload").set_value((name, data, "application/octet-stream")).run()


def charts(at: AppTest) -> dict[str, dict]:
    """Each Plotly chart's figure by its key."""
    return {key_of(c): json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def key_of(chart) -> str:
    return next(k for k in ("exp_chart_metric", "exp_chart_outcome") if k in chart.proto.id)


def click_cell(at: AppTest, chart_key: str, x: str, y: str) -> AppTest:
    """What the browser sends when a cell is clicked: the chart's selection with the point under the mouse (the
    cell's transparent marker; its x and y are the cell's labels). AppTest has no Plotly clicks, so the widget
    value is given as the frontend sets it (the PlotlyChart component's selection JSON)."""
    (chart,) = [c for c in at.get("plotly_chart") if chart_key in c.proto.id]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = chart.proto.id
    point = dict(x=x, y=y, curve_number=1, point_number=0, point_index=0)
    state.string_value = json.dumps(dict(selection=dict(points=[point], point_indices=[0], box=[], lasso=[])))
    return at._run(states)


def wait_for(at: AppTest, done, timeout: float, what: str) -> None:
    """Rerun the page until `done()` holds (however loaded the machine), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
        at.run()


# ---- the pure parts ----------------------------------------------------------------------------------------------
def test_every_outcome_class_is_defined_from_core_s_docstring_and_coloured():
    """The caption under the map is core/explore.py's docstring, shortened: every class has its definition from
    there (so the page says what the code does), and its own colour."""
    found = explore.outcome_definitions()
    doc = " ".join(explore_module.__doc__.split())
    for name in OUTCOMES:
        assert name in found, f"core/explore.py's docstring does not define {name}"
        assert found[name].replace(f"{SWING:.0%}", "SWING") in doc
    assert "**stalled**: no evaluation of the second half captured any mode" in explore.outcome_caption()
    assert set(explore.OUTCOME_COLOURS) == set(OUTCOMES)
    assert len(set(explore.OUTCOME_COLOURS.values())) == len(OUTCOMES)


def test_tick_labels_stay_one_per_value():
    """Close values keep their own category (Plotly would merge equal labels into one column)."""
    assert explore.labels(parse_axis("lr_d=1e-5:1e-2:4log")) == ["1e-05", "0.0001", "0.001", "0.01"]
    assert explore.labels(parse_axis("lr_d=0.0012341,0.0012342")) == ["0.0012341", "0.0012342"]
    assert explore.labels(parse_axis("loss=minimax,nonsaturating")) == ["minimax", "nonsaturating"]


def test_the_maps_hold_the_means_and_the_majority(tiny):
    result = load(tiny)
    metric = explore.metric_figure(result, "modes_captured")
    heat, cells = metric.data
    mean = result.summary()["stats"]["modes_captured"]["mean"]
    assert np.allclose(np.asarray(heat.z, dtype=float), mean, equal_nan=True)
    assert (heat.zmin, heat.zmax) == (0.0, 8.0)  # the ring's 8 modes: diagrams of one metric compare
    assert metric.layout.xaxis.title.text == "lr_d (log-spaced)" and metric.layout.xaxis.type == "category"
    assert metric.layout.yaxis.type == "category" and metric.layout.yaxis.title.text == "k"
    assert len(cells.x) == 4 and "seeds done: 2 of 2" in cells.text[0] and heat.hoverinfo == "skip"
    outcome = explore.outcome_figure(result)
    z = np.asarray(outcome.data[0].z, dtype=float)
    assert (z == result.majority()).all()
    assert [t.name for t in outcome.data[1:-1]] == list(OUTCOMES)  # the legend, one square per class


# ---- the job -----------------------------------------------------------------------------------------------------
def started(job: ExploreJob, runs: int = 1, timeout: float = 120) -> bool:
    """Wait until the job's thread has finished `runs` runs (however loaded the machine)."""
    deadline = time.monotonic() + timeout
    while job.trained < runs and job.running and time.monotonic() < deadline:
        time.sleep(0.01)
    return job.trained >= runs and job.running


def long_exploration() -> Exploration:
    """64 runs of the tiny config: far more than a test waits for."""
    grid = Grid(TINY, parse_axis("lr_d=1e-4:1e-2:8log"), parse_axis("k=1,2,3,4"), (0, 1), 100)
    return Exploration(grid, "ring8")


def test_a_cancelled_exploration_stops_within_the_run_in_progress():
    job = ExploreJob(long_exploration())
    job.start()
    assert started(job)
    at_cancel = job.trained
    job.cancel()
    assert job.join(120) and not explore_threads()
    assert (
        job.error == "cancelled" and job.done == job.trained <= at_cancel + 1 < job.total
    )  # the run in progress: dropped
    assert job.runs_per_minute() > 0 and job.eta_seconds() > 0


def test_ending_the_session_or_leaving_the_page_ends_the_exploration(no_thread_leak):
    """The same owner as the comparison's: a job off its page is cancelled, the session's end cancels it, and
    starting one pauses the board's run (one training thread per tab)."""
    owner = SessionTraining(TrainingSlots(capacity=2))
    try:
        board = owner.board()
        assert owner.slots.request(board) == 0 and board.state == RUNNING
        owner.show("explore")
        assert board.wait_until(lambda: board.state == PAUSED, 10)
        assert owner.explore(ExploreJob(long_exploration())) == 0
        assert started(owner.explore_job)
        owner.show("train")
        assert owner.explore_job.join(120) and owner.explore_job.error == LEFT_EXPLORE
        owner.show("explore")
        owner.explore(ExploreJob(long_exploration()))
        assert started(owner.explore_job)
        owner.release()  # what Streamlit calls when the session ends
        assert owner.explore_job.join(120) and owner.explore_job.error == "cancelled"
        assert not explore_threads()
    finally:
        owner.release()


# ---- the page ----------------------------------------------------------------------------------------------------
def test_a_shipped_diagram_shows_at_once(owner, tiny, monkeypatch):
    monkeypatch.setattr(explore, "SHIPPED", tiny.parent)
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    assert not at.exception and not at.error
    assert at.radio(key="exp_source").value == "Shipped diagrams" and at.selectbox(key="exp_shipped").value == "tiny"
    figures = charts(at)
    assert set(figures) == {"exp_chart_metric", "exp_chart_outcome"}
    assert figures["exp_chart_metric"]["data"][0]["type"] == "heatmap"
    assert at.caption[1].value == (
        "From preset ring8: lr_d across (2 values, log-spaced) and k down (2 values), 2 seeds per cell, 100 "
        "iterations each; 8 of 8 runs done."
    )
    assert any(all(f"**{name}**" in c.value for name in OUTCOMES) for c in at.caption)
    at.segmented_control(key="exp_metric").set_value("jsd").run()
    assert charts(at)["exp_chart_metric"]["layout"]["title"]["text"] == "JSD (nats): mean over seeds"


def test_without_shipped_diagrams_the_page_offers_a_file_or_a_new_one(owner, tmp_path, monkeypatch):
    monkeypatch.setattr(explore, "SHIPPED", tmp_path)
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    assert not at.exception and at.radio(key="exp_source").options == ["A result file", "New exploration"]


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("[click](http://evil.example) <b>x</b>.npz", b"PK\x03\x04 not a zip", "not a zip archive"),
        ("arrays.npz", None, "is not an exploration file"),
    ],
)
def test_a_bad_file_is_refused_in_one_plain_line(owner, tmp_path, monkeypatch, name, data, reason):
    monkeypatch.setattr(explore, "SHIPPED", tmp_path)
    if data is None:  # a real .npz, of something else
        buffer = io.BytesIO()
        np.savez(buffer, samples=np.zeros((3, 2)))
        data = buffer.getvalue()
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    upload(at, name, data)
    assert not at.exception and not at.get("plotly_chart")
    (error,) = at.error
    assert seen(error.value).startswith(f"Not loaded ({name}): {reason}")
    assert "](" not in error.value and "<b>" not in error.value  # escaped: no link, no tag can form


def test_an_oversized_file_is_refused_before_it_is_read():
    assert explore.read_upload("big.npz", bytes(explore.MAX_UPLOAD_MB * 2**20 + 1)) == (
        f"Not loaded (big\\.npz): larger than {explore.MAX_UPLOAD_MB} MB."
    )


def new_exploration(at: AppTest, x: str, y: str = "", seeds: int = 1, steps: int = 100) -> None:
    at.radio(key="exp_source").set_value("New exploration").run()
    at.text_input(key="exp_x").set_value(x)
    at.text_input(key="exp_y").set_value(y)
    at.number_input(key="exp_seeds").set_value(seeds)
    at.number_input(key="exp_steps").set_value(steps).run()


def seen(markdown: str) -> str:
    """What a reader sees of `plain` text: its backslash escapes resolved, the invisible word joiners gone."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


@pytest.mark.parametrize(
    "x, y, said",
    [
        ("lr_d=0:1e-2:3log", "", "x axis: lr_d: a log range needs both ends above 0"),
        ("nonsense=[a](http://x.example)", "", "x axis: unknown setting 'nonsense' (python -m core train --help lists "
         "them)"),
        ("k=1,2", "k=3,4", "k: is already the x axis"),
        ("lr_d=1e-4:1e-2:9log", "k=1:8:8", "72 runs (cells × seeds): at most 64 from this page; python -m core "
         "explore runs more."),
    ],
)  # fmt: skip
def test_a_bad_axis_shows_one_error_line_and_starts_nothing(owner, tmp_path, monkeypatch, x, y, said):
    monkeypatch.setattr(explore, "SHIPPED", tmp_path)
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    new_exploration(at, x, y)
    assert not at.exception
    (error,) = at.error
    assert seen(error.value) == said
    assert "\n" not in error.value and "](" not in error.value
    assert at.button(key="exp_start").disabled  # AppTest, like a browser, cannot click it
    assert owner.explore_job is None and not explore_threads()


def test_an_exploration_started_on_the_page_finishes_and_can_be_downloaded(owner, tmp_path, monkeypatch):
    monkeypatch.setattr(explore, "SHIPPED", tmp_path)
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    new_exploration(at, "k=1,2", seeds=1, steps=100)
    assert not at.error and "2 runs of 100 iterations" in at.caption[-1].value
    at.button(key="exp_start").click().run()
    job = owner.explore_job
    assert job is not None and job.total == 2
    wait_for(at, lambda: job.state == "stopped" and at.get("download_button"), 300, "the exploration to finish")
    assert not at.exception and job.error is None and job.done == 2
    assert job.join(60) and not explore_threads()
    assert "2 of 2 runs · done" in at.get("progress")[0].proto.text
    assert set(charts(at)) == {"exp_chart_metric", "exp_chart_outcome"}
    result = load(io.BytesIO(job.snapshot.to_bytes()))  # what the download button serves
    assert result.done == 2 and result.preset == "ring8" and result.grid.x == parse_axis("k=1,2")
    at.button(key="exp_start").click().run()  # a second one replaces the first
    assert owner.explore_job is not job
    at.button(key="exp_cancel").click().run()
    assert owner.explore_job.join(120) and not explore_threads()


def open_explore(at: AppTest, train_first: bool) -> AppTest:
    """The router on its Explore page, after the Train page (the tab opened on /) or not (opened on /explore).
    AppTest.switch_page takes file pages only; st.navigation keys a page by the hash of its url_path."""
    if train_first:
        at.run()
        assert at.number_input(key="w_seed").value == 0
    at._page_hash = calc_hash("explore")
    return at.run()


@pytest.mark.parametrize("train_first", [True, False], ids=["after-train", "opened-on-explore"])
def test_a_clicked_cell_opens_its_run_on_the_train_page(owner, tiny, monkeypatch, train_first):
    """Click the cell lr_d = 0.01, k = 3 on the outcome map: its two runs are listed; "Open seed 1 on Train" lands
    on the Train page with that cell's config and seed in the board's runner, from iteration 0, and the sidebar,
    the scene and the URL say the same, whether the tab had shown the Train page before or not."""
    monkeypatch.setattr(explore, "SHIPPED", tiny.parent)
    at = open_explore(AppTest.from_file(APP, default_timeout=60), train_first)
    assert not at.exception and at.radio(key="exp_source").value == "Shipped diagrams"
    click_cell(at, "exp_chart_outcome", "0.01", "3")
    assert not at.exception
    result = load(tiny)
    table = at.dataframe[0].value
    assert list(table["seed"]) == [0, 1]
    assert list(table["outcome"]) == [OUTCOMES[o] for o in result.outcome[1, 1]]
    assert any("Cell lr_d = 0.01, k = 3" in m.value for m in at.markdown)
    assert "x1" in charts(at)["exp_chart_metric"]["layout"]["shapes"][0]  # the cell outlined on both maps
    at.button(key="exp_open_1").click().run()
    assert not at.exception
    expected = result.grid.config(1, 1, 1)
    board = owner.board()
    assert board.config == expected and (board.config.lr_d, board.config.k, board.config.seed) == (0.01, 3, 1)
    assert board.snapshot(touch=False).iteration == 0 and board.state != RUNNING
    assert at.number_input(key="w_seed").value == 1 and at.slider(key="w_k").value == 3  # the Train page's sidebar
    assert at.select_slider(key="w_lr_d").value == 0.01 and at.selectbox(key="preset").value == "ring8"
    assert dict(at.query_params) == controls.url_params(expected, "ring8")  # the link to this very run
    assert at.query_params["seed"] == "1" and at.query_params["preset"] == "ring8"
    assert not at.warning  # the link read back without a word: every setting in range
    assert any("From Explore: seed 1 of this cell" in i.value for i in at.info)


# ---- the browser -------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def tab(browser, url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        yield page
        assert errors == []
    finally:
        context.close()


@pytest.mark.slow
@needs_chromium
def test_explore_in_the_browser_opens_a_cell_on_train(tiny):
    """Open /explore, load a diagram (the uploaded tiny one, whatever is shipped), click the cell lr_d = 0.01, k = 3
    on the outcome map, open seed 1 on Train: the Train page's URL and sidebar carry that config and seed."""
    with dashboard_server() as url, chromium() as browser, tab(browser, f"{url}/explore", 1920, 1080) as page:
        page.wait_for_selector("text=Explore: phase diagrams of training", timeout=90_000)
        page.get_by_text("A result file", exact=True).click()
        page.set_input_files('input[type="file"]', str(tiny))
        page.wait_for_function("document.body.innerText.includes('8 of 8 runs done')", timeout=60_000)
        outcome = page.locator('[data-testid="stPlotlyChart"]').nth(1).locator(".nsewdrag").first
        outcome.wait_for(timeout=30_000)
        box = outcome.bounding_box()
        x, y = box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25  # columns 0.0001 | 0.01, rows 3 | 1
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        page.wait_for_selector("text=Cell lr_d = 0.01, k = 3", timeout=30_000)
        page.screenshot(path="/tmp/explore_browser_cell.png")
        page.get_by_role("button", name="Open seed 1 on Train").click()
        # the Train page is the default one, at "/"; Streamlit writes the URL with history (page.url lags behind)
        on_train = "location.pathname === '/' && new URLSearchParams(location.search).get('seed') === '1'"
        page.wait_for_function(on_train, timeout=30_000)
        query = dict(page.evaluate("[...new URLSearchParams(location.search)]"))
        assert query == controls.url_params(tiny_grid().config(1, 1, 1), "ring8")
        assert query["k"] == "3" and query["lr_d"] == "0.01" and query["preset"] == "ring8"
        page.wait_for_selector("#minimax-iteration", timeout=90_000)
        assert page.locator(".st-key-w_seed input").input_value() == "1"
        assert "ring8, modified" in page.inner_text(".st-key-scene_bar strong")
