"""Issue 14 §2 in a real browser: a frame that does not come is shown, not hidden behind the last one, and
every number on the board reads well however huge.

The page once stayed on "running / iteration 0" for 47 s while every frame was refused (NaN is not JSON),
and showed a critic score as 6.814674232815912e+28. Here the frame route is made to fail (Playwright's
page.route: a 500 with the route's JSON error, a body that is not JSON, no answer at all), then to answer
again, and a frame is rewritten with huge numbers."""

import json

import pytest

from tests.browser import ROOT, chromium, dashboard_server, needs_chromium

ARTIFACTS = ROOT / "test-artifacts"
FRAMES = "**/minimax/frame/**"
pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]


@pytest.fixture(scope="module")
def server():
    ARTIFACTS.mkdir(exist_ok=True)
    with dashboard_server(log_path=ARTIFACTS / "server-frame-errors.log") as url:
        yield url


def open_board(browser, url):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("#minimax-iteration", timeout=60_000)
    wait_badge(page, "idle")  # the first fetched frame is drawn
    return page, errors


def stat(page, name) -> str:
    return page.inner_text(f'[data-stat="{name}"]')


def wait_badge(page, text, timeout=60_000):
    page.wait_for_function(
        f"document.querySelector('[data-stat=\"state\"]').textContent === {json.dumps(text)}", timeout=timeout
    )


def wait_message(page, part, timeout=60_000):
    page.wait_for_function(
        f"document.querySelector('[data-stat=\"message\"]').textContent.includes({json.dumps(part)})",
        timeout=timeout,
    )


def test_a_failing_frame_route_is_shown_and_its_recovery_said(server):
    with chromium() as browser:
        page, errors = open_board(browser, server)
        assert "mm-stale" not in page.get_attribute(".mm-root", "class")

        refused = {"error": "this frame could not be sent: Out of range float values are not JSON compliant"}
        page.route(FRAMES, lambda route: route.fulfill(status=500, json=refused))
        wait_badge(page, "no frame")
        wait_message(page, "the frame route answered 500: this frame could not be sent: Out of range float")
        assert "The views show the last frame received (iteration 0)" in stat(page, "message")
        assert "mm-stale" in page.get_attribute(".mm-root", "class")  # the views are dimmed
        page.unroute(FRAMES)

        page.route(FRAMES, lambda route: route.fulfill(status=200, content_type="application/json", body='{"it'))
        wait_message(page, "a frame could not be read")
        assert stat(page, "state") == "no frame"
        page.unroute(FRAMES)

        page.route(FRAMES, lambda route: route.abort("connectionrefused"))
        wait_badge(page, "connection lost")
        wait_message(page, "the server did not answer")
        page.screenshot(path=str(ARTIFACTS / "connection-lost-1920x1080.png"))
        page.unroute(FRAMES)

        wait_badge(page, "idle")  # frames come again: the run's own state, and the page says they are back
        wait_message(page, "frames again after")
        assert "of connection lost" in stat(page, "message")
        assert "mm-stale" not in page.get_attribute(".mm-root", "class")
        assert not errors, errors


HUGE = {"d_real": 6.814674232815912e28, "d_fake": -3.2e30}


def huge_frame(route):
    """The real frame with a critic's exploded scores in it (the board's stats and the surface's legend)."""
    frame = route.fetch().json()
    frame["metrics"].update(HUGE)
    frame["probability"] = False
    frame["grad_norm_g"] = 1.5e33
    frame["surface_range"] = [-6.814674232815912e28, 6.814674232815912e28]
    frame["its"] = 123456789.0
    route.fulfill(status=200, content_type="application/json", body=json.dumps(frame))


def test_huge_numbers_are_written_short(server):
    with chromium() as browser:
        page, errors = open_board(browser, server)
        page.route(FRAMES, huge_frame)
        page.wait_for_function(
            "document.querySelector('[data-stat=\"dreal\"]').textContent === '6.8e+28'", timeout=60_000
        )
        assert (stat(page, "dfake"), stat(page, "gradg"), stat(page, "its")) == ("-3.2e+30", "1.50e+33", "1.2e+8")
        assert (stat(page, "lo"), stat(page, "hi")) == ("-6.8e+28", "6.8e+28")
        longest = page.evaluate(
            "Math.max(...Array.from(document.querySelectorAll('.mm-value')).map(e => e.textContent.length))"
        )
        assert longest <= 10, longest  # the board's widest number, "4321 / 4321"-like, not 22 digits
        page.screenshot(path=str(ARTIFACTS / "huge-numbers-1920x1080.png"))
        page.unroute(FRAMES)
        assert not errors, errors
