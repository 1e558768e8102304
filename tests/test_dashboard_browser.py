"""The dashboard in a real headless Chromium against a real server: training starts and keeps going while
k and the loss change, stepping is exact, and closed tabs leave no training behind.

The fast tier runs the first test only (the board loads, trains and pauses); the long flows are `slow`."""

import os
import re
import time
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, ROOT, chromium, dashboard_server

ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)


@pytest.fixture(scope="module")
def server():
    ARTIFACTS.mkdir(exist_ok=True)
    with dashboard_server(log_path=ARTIFACTS / "server.log") as url:
        yield url


def iteration(page) -> int:
    return int(page.inner_text("#minimax-iteration"))


def updates(page) -> tuple[int, int]:
    d, g = page.inner_text('[data-stat="updates"]').split("/")
    return int(d), int(g)


def wait_iteration_above(page, n, timeout=60_000):
    page.wait_for_function(f"Number(document.getElementById('minimax-iteration').textContent) > {n}", timeout=timeout)


def settled(page, timeout=60.0) -> tuple[int, tuple[int, int]]:
    """Once the page shows the paused state: the frame where training stopped (two reads 1.5 s apart agree;
    a frame fetched while the last iteration finished may show the one before)."""
    page.wait_for_function("document.querySelector('[data-stat=\"state\"]').textContent === 'paused'",
                           timeout=timeout * 1000)  # fmt: skip
    deadline = time.monotonic() + timeout
    before = (iteration(page), updates(page))
    while True:
        time.sleep(1.5)
        now = (iteration(page), updates(page))
        if now == before or time.monotonic() > deadline:
            return now
        before = now


def open_page(browser, url):
    """A 1920x1080 tab at url that records the page's JavaScript errors."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, errors


def sidebar_slider(page, label):
    return page.locator('[data-testid="stSidebar"] .stSlider').filter(has_text=label).get_by_role("slider")


def test_the_board_trains_and_pauses_in_a_real_browser(server):
    with chromium() as browser:
        page, errors = open_page(browser, server)
        page.wait_for_selector("#minimax-iteration", timeout=60_000)
        assert iteration(page) == 0 and updates(page) == (0, 0)
        page.get_by_role("button", name="Start", exact=True).click()
        wait_iteration_above(page, 10)
        page.get_by_role("button", name="Pause", exact=True).click()
        page.get_by_role("button", name="Resume", exact=True).wait_for(timeout=60_000)
        page.wait_for_function(  # the paused frame: as many D as G updates at k = 1, one per iteration
            "(() => { const [d, g] = document.querySelector('[data-stat=\"updates\"]').textContent.split('/')"
            ".map(Number); return d === g && g === Number(document.getElementById('minimax-iteration').textContent)"
            " })()",
            timeout=60_000,
        )
        assert iteration(page) > 10
        page.screenshot(path=str(ARTIFACTS / "smoke-1920x1080.png"))
        assert not errors, errors


@pytest.mark.slow
def test_train_live_change_k_and_loss_pause_and_step(server):
    with chromium() as browser:
        page, errors = open_page(browser, server)
        page.wait_for_selector("#minimax-iteration", timeout=60_000)
        assert iteration(page) == 0
        page.get_by_role("button", name="Start", exact=True).click()
        wait_iteration_above(page, 10)

        k_slider = sidebar_slider(page, "k: D steps per G step")
        k_slider.focus()
        k_slider.press("ArrowRight")
        k_slider.press("ArrowRight")
        page.wait_for_function("document.body.innerText.includes('k = 3')", timeout=60_000)
        page.locator('[data-testid="stSidebar"] .stSelectbox').filter(has_text="Loss").click()
        page.get_by_role("option", name="minimax").click()
        page.wait_for_function("document.body.innerText.includes('The game now: minimax')", timeout=60_000)
        after_changes = iteration(page)
        wait_iteration_above(page, after_changes + 5)  # still training, with the new k and loss
        d0, g0 = updates(page)
        assert d0 > g0  # k = 3 from some iteration on: more D updates than G updates

        page.get_by_role("button", name="Pause", exact=True).click()
        page.get_by_role("button", name="Resume", exact=True).wait_for(timeout=60_000)
        paused_at, (d1, g1) = settled(page)
        time.sleep(1.5)  # paused means paused: a frame later (one a second while paused), nothing moved
        assert iteration(page) == paused_at and updates(page) == (d1, g1)

        page.get_by_role("button", name="D step", exact=True).click()
        page.wait_for_function(
            f"document.querySelector('[data-stat=\"updates\"]').textContent.startsWith('{d1 + 1} /')", timeout=60_000
        )
        assert iteration(page) == paused_at and updates(page) == (d1 + 1, g1)
        page.get_by_role("button", name="k·D + G", exact=True).click()
        wait_iteration_above(page, paused_at)
        assert iteration(page) == paused_at + 1 and updates(page) == (d1 + 1 + 3, g1 + 1)
        page.screenshot(path=str(ARTIFACTS / "train-1920x1080.png"))
        page.set_viewport_size({"width": 1280, "height": 800})
        time.sleep(1.0)
        page.screenshot(path=str(ARTIFACTS / "train-1280x800.png"))
        assert not errors, errors


@pytest.mark.slow
def test_remedies_switch_on_live_and_the_mode_collapse_view_lists_them(server):
    with chromium() as browser:
        page, errors = open_page(browser, f"{server}/?preset=remedy-packing")
        page.wait_for_selector("#minimax-iteration", timeout=60_000)
        on_rows = "Array.from(document.querySelectorAll('.mm-remedies tr.mm-on')).map(r => r.innerText).join('|')"
        page.wait_for_function(
            f"({on_rows}).includes('Packing (PacGAN)') && ({on_rows}).includes('m = 2')", timeout=60_000
        )
        page.get_by_role("button", name="Start", exact=True).click()
        wait_iteration_above(page, 20)
        page.locator('[data-testid="stSidebar"] label').filter(has_text="Minibatch discrimination").click()
        page.wait_for_function(f"({on_rows}).includes('Minibatch discrimination')", timeout=60_000)
        page.wait_for_function(
            "document.body.innerText.includes('a fresh D was built; G keeps its weights')", timeout=60_000
        )
        switched_at = iteration(page)
        assert switched_at > 20  # a new D, not a new run: the iteration count goes on
        wait_iteration_above(page, switched_at + 10, timeout=90_000)
        off = page.evaluate("Array.from(document.querySelectorAll('.mm-remedies tr.mm-off')).length")
        assert off == 7  # nine remedies listed, two on
        page.screenshot(path=str(ARTIFACTS / "remedies-1920x1080.png"))
        assert not errors, errors


def runs_open(page) -> tuple[int, int, int]:
    text = page.locator('[data-testid="stSidebar"]').inner_text()
    busy, capacity, alive = re.search(
        r"Server: (\d+) of (\d+) training slot\(s\) in use; (\d+) run\(s\) open", text
    ).groups()
    return int(busy), int(capacity), int(alive)


@pytest.mark.slow
def test_closed_tabs_leave_no_training_behind(server):
    with chromium() as browser:
        for _ in range(10):  # ten tabs against one training slot: most of them wait in line when closed
            context = browser.new_context()
            page = context.new_page()
            page.goto(server)
            page.wait_for_selector("#minimax-iteration", timeout=60_000)
            page.get_by_role("button", name="Start", exact=True).click()
            page.wait_for_selector("text=/Pause|Cancel waiting/", timeout=60_000)
            context.close()
        deadline = time.monotonic() + 120
        while True:
            context = browser.new_context()
            page = context.new_page()
            page.goto(server)
            page.wait_for_selector("#minimax-iteration", timeout=60_000)
            page.wait_for_selector("text=/run\\(s\\) open/", timeout=60_000)
            busy, capacity, alive = runs_open(page)
            context.close()
            if alive <= 2 or time.monotonic() > deadline:  # this page's run (and the previous check's)
                break
            time.sleep(2)
        assert busy <= capacity and alive <= 2, (busy, capacity, alive)


@pytest.mark.slow
def test_theory_and_compare_pages_render(server):
    with chromium() as browser:
        page, errors = open_page(browser, f"{server}/theory")
        page.wait_for_selector("text=The optimal discriminator and the value of the game", timeout=60_000)
        # the charts render one after another: wait for all of them, however slow the machine
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 8", timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "theory-1920x1080.png"))
        page.goto(f"{server}/compare")
        page.wait_for_selector("text=Compare two configurations over seeds", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "compare-1920x1080.png"))
        assert not errors, errors
