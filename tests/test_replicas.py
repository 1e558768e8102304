"""Two replicas behind Debian's nginx, end to end in a real headless Chromium (issue 18 §3).

Two replicas (`streamlit run dashboard/app.py` with MINIMAX_REPLICA=r1 / r2, one training slot each) and nginx
on deploy/nginx/minimax.conf, all on loopback. Two browser sessions open the app through nginx: round robin puts
them on different replicas, both train at once (with both on one replica, the cap of 1 would queue one), and
over 30 s every frame of each session comes from its own replica (the response's X-Minimax-Replica, the token's
prefix and the session's cookie agree). A watch link shared by one session works through nginx for two fresh
browsers (`now` from the run's replica, frames from nginx's cache), and says "ended" once that replica stops,
while the other session trains on. Screenshots go to test-artifacts/replicas-*.png.

Why the split is deterministic: a page load sends exactly one request without the replica's cookie (the
document: its answer sets the cookie before any other request goes out), and the app's page asks nothing else
of nginx's any-replica group (no /minimax/ path outside a token), so two new sessions are two consecutive picks
of a fresh nginx's round robin over two equal servers: one each. The test checks both premises (which requests
went to the any-replica group, in what order) before it relies on them.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.parse
from dataclasses import dataclass, field

import pytest

from tests.browser import ROOT, chromium, dashboard_server, needs_chromium, share
from tests.nginx_front import nginx_available, nginx_front

ARTIFACTS = ROOT / "test-artifacts"
pytestmark = [
    needs_chromium,
    pytest.mark.slow,
    pytest.mark.skipif(not nginx_available(), reason="Debian's nginx is not installed (apt-get install nginx)"),
]

TOKEN_ROUTE = re.compile(r"^/minimax/(frame|queue|watch)/([a-z0-9][a-z0-9-]{0,39})\.[A-Za-z0-9_-]{22}(?:/|$)")
BADGE = "document.querySelector('[data-stat=\"state\"]').textContent"
ITERATION = "+document.querySelector('#minimax-iteration').textContent"
WINDOW = 30.0  # seconds of training watched on both sessions
SAMPLE = 5.0  # seconds between two readings of each page's iteration
# The page fetches its frame every 0.1 s while training: ~300 in the window. Half a second per fetch (a
# 2-core machine running two trainings, nginx and Chromium) would still give 60; fewer than 50 means the
# frames did not flow.
MIN_FRAMES = 50


@dataclass
class Tab:
    """One browser context (a cookie jar of its own: a session of its own) and what its page asked and got."""

    name: str
    context: object
    page: object
    frames: list[tuple[int, str | None, str]] = field(default_factory=list)  # (status, header, token prefix)
    watch: list[tuple[str, int, str | None, str | None]] = field(default_factory=list)  # (kind, status, hdr, cache)
    errors: list[str] = field(default_factory=list)


def open_tab(browser, name: str, to_any: list, **options) -> Tab:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    tab = Tab(name, context, context.new_page())
    tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))

    def asked(request):  # which requests nginx sends to its any-replica group (minimax.conf): their order matters
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            return  # blob: and data: URLs stay in the browser
        if parts.path.startswith("/minimax/"):
            if not TOKEN_ROUTE.match(parts.path):
                to_any.append((name, parts.path))
        elif "minimax_replica=" not in (request.header_value("cookie") or ""):  # no replica named: round robin
            to_any.append((name, parts.path))

    def answered(response):
        path = urllib.parse.urlsplit(response.url).path
        route = TOKEN_ROUTE.match(path)
        if route is None:
            return
        header = response.headers.get("x-minimax-replica")
        if route[1] == "frame":
            tab.frames.append((response.status, header, route[2]))
        elif route[1] == "watch":
            tail = path[route.end() :]
            kind = "now" if tail == "now" else tail.split("/")[0] or "page"
            tab.watch.append((kind, response.status, header, response.headers.get("x-cache-status")))

    tab.page.on("request", asked)
    tab.page.on("response", answered)
    return tab


def iteration(page) -> int:
    return int(page.inner_text("#minimax-iteration") or 0)


def wait_js(page, condition: str, timeout: float, what: str) -> None:
    """page.wait_for_function, failing with what was awaited and what the page showed instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, timeout=timeout * 1000)
    except PlaywrightTimeout:
        shown = page.evaluate(f"() => [{BADGE}, document.querySelector('[data-stat=\"message\"]')?.textContent]")
        pytest.fail(f"{what}: not within {timeout:g} s; the page shows {shown}")


def cookie(tab: Tab) -> str:
    return {c["name"]: c["value"] for c in tab.context.cookies()}.get("minimax_replica", "")


def test_two_sessions_train_on_two_replicas_behind_nginx_and_a_watch_link_works_through_it():
    ARTIFACTS.mkdir(exist_ok=True)
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        replicas: dict[str, contextlib.ExitStack] = {}
        ports: dict[str, int] = {}
        for name in ("r1", "r2"):  # each in a stack of its own: one of them is stopped mid-test
            replicas[name] = stack.enter_context(contextlib.ExitStack())
            url = replicas[name].enter_context(
                dashboard_server(
                    env={"MINIMAX_REPLICA": name, "MINIMAX_MAX_TRAINING": "1"},
                    log_path=ARTIFACTS / f"server-{name}.log",
                )
            )
            ports[name] = urllib.parse.urlsplit(url).port
        front = f"http://127.0.0.1:{stack.enter_context(nginx_front(ports))}"
        browser = stack.enter_context(chromium())
        to_any: list[tuple[str, str]] = []

        def tab(name: str, **options) -> Tab:
            opened = open_tab(browser, name, to_any, **options)
            stack.callback(opened.context.close)
            return opened

        # --- two new sessions through nginx: one on each replica ---
        a, b = tab("A"), tab("B")
        a.page.goto(front + "/")
        b.page.goto(front + "/")
        for t in (a, b):
            t.page.wait_for_selector("#minimax-iteration", timeout=90_000)
            wait_js(t.page, f"{BADGE} !== ''", 60, f"session {t.name}'s board")
        # the premises of a deterministic split: each page load's only request to the any-replica group was its
        # document, A's before B's (nothing between them moved the round robin on)
        assert to_any == [("A", "/"), ("B", "/")], to_any
        replica = {t.name: cookie(t) for t in (a, b)}
        assert set(replica.values()) == {"r1", "r2"}, replica  # two sessions, two replicas
        replica_a, replica_b = replica["A"], replica["B"]

        # --- both train: neither is queued behind the other (one slot per replica) ---
        for t in (a, b):
            t.page.get_by_role("button", name="Start", exact=True).click()
        for t in (a, b):
            wait_js(t.page, f"{BADGE} === 'running' || {BADGE}.startsWith('queued')", 60, f"{t.name} starts")
            assert t.page.inner_text('[data-stat="state"]') == "running", t.name

        # --- 30 s: both boards move on, every frame from the session's own replica ---
        counted = {t.name: len(t.frames) for t in (a, b)}
        samples: dict[str, list[int]] = {t.name: [iteration(t.page)] for t in (a, b)}
        start = time.monotonic()
        for step in range(1, int(WINDOW / SAMPLE) + 1):
            for t in (a, b):  # the condition first: the board shows a later iteration than last time
                wait_js(t.page, f"{ITERATION} > {samples[t.name][-1]}", 20, f"{t.name}'s iteration moves on")
            a.page.wait_for_timeout(max(0.0, start + step * SAMPLE - time.monotonic()) * 1000)  # the window
            for t in (a, b):
                samples[t.name].append(iteration(t.page))
        window = time.monotonic() - start
        for t in (a, b):
            # Start's tooltip stays up after the click (the button became Pause under the mouse): a hover and a
            # move away take it down before the screenshot
            t.page.get_by_role("button", name="Pause", exact=True).hover()
            t.page.mouse.move(700, 890)
            t.page.get_by_text("Start or pause training.").wait_for(state="hidden", timeout=5000)
            t.page.screenshot(path=ARTIFACTS / f"replicas-{t.name.lower()}.png")
        for t in (a, b):
            assert samples[t.name] == sorted(set(samples[t.name])), (t.name, samples)  # strictly increasing
            assert t.page.inner_text('[data-stat="state"]') == "running", t.name
            expected = replica[t.name]
            assert t.frames and all(f == (200, expected, expected) for f in t.frames), (t.name, expected, t.frames)
            in_window = len(t.frames) - counted[t.name]
            assert in_window >= MIN_FRAMES, (t.name, in_window, window)
        print(f"\nA={replica_a} B={replica_b}; iterations over {window:.1f} s: {samples}")
        print(f"frames in the window: A {len(a.frames) - counted['A']}, B {len(b.frames) - counted['B']}")

        # --- A shares its run: two fresh browsers watch it through nginx ---
        link = share(a.page)
        assert link.startswith(f"{front}/minimax/watch/{replica_a}."), link  # nginx's address, A's replica's token
        viewers = [tab(name, bypass_csp=True) for name in ("C", "D")]  # bypass_csp: for Playwright's waits only
        for v in viewers:
            v.page.goto(link)
        for v in viewers:
            wait_js(v.page, f"{ITERATION} > 0", 60, f"viewer {v.name}'s first frame")
        seen = {v.name: iteration(v.page) for v in viewers}
        for v in viewers:
            wait_js(v.page, f"{ITERATION} > {seen[v.name]}", 30, f"viewer {v.name}'s iteration moves on")
            assert v.page.inner_text('[data-stat="state"]') == "running", v.name
        hits = lambda: sum(1 for v in viewers for kind, _, _, cache in v.watch if kind == "frame" and cache == "HIT")
        deadline = time.monotonic() + 30
        while hits() == 0 and time.monotonic() < deadline:  # two viewers polling ~10 frames a second: soon
            viewers[0].page.wait_for_timeout(250)
        viewers[0].page.screenshot(path=ARTIFACTS / "replicas-watch.png")
        watched = [(v.name, *w) for v in viewers for w in v.watch]
        frames = [w for w in watched if w[1] == "frame"]
        nows = [w for w in watched if w[1] == "now"]
        assert nows and all(status == 200 and header == replica_a for _, _, status, header, _ in nows), nows
        assert all(cache != "HIT" for *_, cache in nows), nows  # `now` is never cached
        assert frames and all(status == 200 and header == replica_a for _, _, status, header, _ in frames), frames
        assert hits() >= 1, frames  # nginx served a frame of the run from its cache
        print(f"viewers: {len(nows)} now, {len(frames)} frames, {hits()} from nginx's cache")
        assert not a.errors and not b.errors, (a.errors, b.errors)

        # --- A's replica stops: its watch link says so, B trains on ---
        b_before = iteration(b.page)
        stopped = time.monotonic()
        replicas[replica_a].close()  # terminates A's server and waits for it
        for v in viewers:
            wait_js(v.page, f"{BADGE} === 'ended'", 30, f"viewer {v.name} told its run is gone")
        ended_after = time.monotonic() - stopped
        message = viewers[0].page.inner_text('[data-stat="message"]')
        assert "server is gone" in message or "live view is over" in message, message
        viewers[0].page.screenshot(path=ARTIFACTS / "replicas-watch-ended.png")
        wait_js(b.page, f"{ITERATION} > {b_before}", 20, "B trains on")
        wait_js(b.page, f"{ITERATION} > {iteration(b.page)}", 20, "B trains on")
        assert b.page.inner_text('[data-stat="state"]') == "running"
        assert all(f == (200, replica_b, replica_b) for f in b.frames), b.frames
        assert not b.errors and not any(v.errors for v in viewers), (b.errors, [v.errors for v in viewers])
        print(f"viewers ended {ended_after:.1f} s after {replica_a} stopped: {message!r}")
        print(f"the test took {time.monotonic() - began:.0f} s")
