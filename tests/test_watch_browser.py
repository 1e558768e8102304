"""A watch link in a real headless Chromium (issue 18): the lecturer shares the run, a student's browser (another
session, no cookie) sees it live with what to watch and no controls, follows the lecture's scenes, and is told
when the link stops. Screenshots go to test-artifacts/."""

import pytest

from tests.browser import needs_chromium, press_in_share, share
from tests.test_lecture_browser import ARTIFACTS, board, browser, server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.slow]
BADGE = "document.querySelector('[data-stat=\"state\"]').textContent"


def viewer(browser, link, width=1280, height=800):  # noqa: F811
    """A student's browser: a context of its own. bypass_csp: the page's policy forbids the string evaluation
    Playwright's waits use, not the page's own scripts."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(link)
    return context, page, errors


def iteration(page) -> int:
    return int(page.inner_text("#minimax-iteration") or 0)


def test_a_watch_link_shows_the_run_live_without_controls_and_says_when_it_stops(server, browser):  # noqa: F811
    elsewhere: list[str] = []  # requests the lecturer's page makes to any other server: none (no CDN, no fonts)

    def watch_hosts(page):
        page.on(
            "request",
            lambda r: elsewhere.append(r.url) if r.url.startswith("http") and not r.url.startswith(server) else None,
        )

    with board(browser, f"{server}/?preset=ring8", on_page=watch_hosts) as owner:
        owner.get_by_role("button", name="Start", exact=True).click()
        owner.wait_for_function(f"{BADGE} === 'running'", timeout=60_000)
        link = share(owner)
        assert link.startswith(server + "/minimax/watch/")
        context, page, errors = viewer(browser, link)
        try:
            page.wait_for_function("+document.querySelector('#minimax-iteration').textContent > 0", timeout=60_000)
            first = iteration(page)
            page.wait_for_function(f"+document.querySelector('#minimax-iteration').textContent > {first}")
            assert page.inner_text('[data-stat="state"]') == "running"
            assert "What to watch: Scene 1 of" in page.inner_text('[data-stat="scene-heading"]')
            assert page.locator("button, input[type=range], select").count() == 0  # no controls at all
            assert not page.locator('[data-opt="paint"]').is_visible()  # and painting is the owner's
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            page.wait_for_timeout(2000)
            assert asked and all("/minimax/watch/" in url for url in asked), asked[:5]  # only its own routes
            page.screenshot(path=ARTIFACTS / "watch-1280x800.png")
            owner.get_by_role("button", name="Next ▶").click()  # the lecture moves on: so does the link
            page.wait_for_function(
                "document.querySelector('[data-stat=\"scene-heading\"]').textContent.includes('Scene 2 of')",
                timeout=30_000,
            )
            press_in_share(owner, "Stop sharing")  # the scene's rerun may have closed the popover
            page.wait_for_function(f"{BADGE} === 'ended'", timeout=30_000)
            assert "stopped sharing" in page.inner_text('[data-stat="message"]')
            page.screenshot(path=ARTIFACTS / "watch-ended.png")
            assert errors == []
        finally:
            context.close()
        assert elsewhere == [], elsewhere[:5]
        link = share(owner)  # a new link: the old one stays ended
        assert link.rsplit("/", 1)[1] not in page.url
        context, page, errors = viewer(browser, link + "?present=1", 1920, 1080)
    try:  # the owner's tab closed: its session ended, and the link says so
        page.wait_for_function(f"{BADGE} === 'ended'", timeout=60_000)
        assert "session ended" in page.inner_text('[data-stat="message"]')
        assert page.locator(".mm-root.mm-present").count() == 1
        assert errors == []
    finally:
        context.close()
