"""Sessions that end (issue 14 §5): the server's memory and the stale frame tokens over many tabs opened and
closed, measured on a real server and a real headless Chromium.

Each cycle opens the Train page in a fresh browser context (a Streamlit session of its own), waits for the
board's first fetched frame, reads the run's frame token from that fetch, presses Start in every
--start-every-th tab (the others only build their run), and closes the context. The server's RSS
(/proc/<pid>/status) is read after one warm-up cycle ("before"), every --every cycles, once every closed
tab's session has ended ("after"), and, with --ttl, once more after Streamlit has dropped the closed
sessions (their TTL passed and one more session ended: Streamlit's session storage forgets expired
sessions only when it is written to). A stale token is one that still answers 200 after its tab closed.

Before the fix (issue 14): 43 of 50 tokens still answered 240 s after the last close, and RSS grew
608 -> 751 MB over 50 cycles (~2.9 MB per session) and stayed there. After it (2026-11-30, 500 cycles):
0 of 500 stale tokens; RSS 506 MB after the warm-up, 608 MB at 50 cycles, then between 584 and 768 MB at
every 50th cycle up to 500 (no trend: 0.16 MB per cycle over 50-500, -0.17 over 300-500). The bound this
benchmark holds the server to: every reading within RSS_BOUND_MB of the warm-up one, and no stale token;
it exits 1 otherwise.

    python -m benchmarks.sessions [--cycles 500] [--every 50] [--start-every 5] [--ttl 120]

--ttl sets the server's server.disconnectedSessionTTL (Streamlit's default is 120 s).
"""

from __future__ import annotations

import argparse
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.browser import chromium, dashboard_server

TOKEN_MARK = "/minimax/frame/"
RSS_BOUND_MB = 350  # over the warm-up reading, at any reading: 500 cycles peaked at +262 here


def server_pid() -> int:
    """The `streamlit run` process this process started (tests.browser.dashboard_server)."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[1] == me and b"streamlit" in cmdline:
            return int(stat.parent.name)
    raise RuntimeError("no streamlit server among this process's children")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_and_close(browser, url: str, *, start: bool = False, check=None) -> str:
    """One tab's life: open the board, wait for its first fetched frame, (Start,) close. Returns the token.
    check(page, token), if given, runs while the tab is open."""
    context = browser.new_context()
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url) if TOKEN_MARK in r.url else None)
        page.goto(url)
        page.wait_for_selector("#minimax-iteration", timeout=60_000)
        page.wait_for_function("document.querySelector('[data-stat=\"state\"]').textContent !== ''", timeout=60_000)
        deadline = time.monotonic() + 60
        while not fetched and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert fetched, "the board fetched no frame in 60 s"
        token = fetched[0].split(TOKEN_MARK, 1)[1].split("?", 1)[0]
        if start:
            page.get_by_role("button", name="Start", exact=True).click()
            page.wait_for_selector("text=/Pause|Cancel waiting/", timeout=60_000)
        if check:
            check(page, token)
        return token
    finally:
        context.close()


def answers(url: str, token: str) -> bool:
    """True if the token still serves frames (200); False for 404."""
    try:
        with urllib.request.urlopen(f"{url}{TOKEN_MARK}{token}", timeout=30) as response:
            return response.status == 200
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return False
        raise


def stale(url: str, tokens: list[str]) -> list[str]:
    return [t for t in tokens if answers(url, t)]


def wait_no_stale(url: str, tokens: list[str], timeout: float = 60.0) -> tuple[list[str], float]:
    """Poll until no token answers or timeout; returns the stale tokens and the seconds waited."""
    started = time.monotonic()
    while True:
        left = stale(url, tokens)
        if not left or time.monotonic() - started > timeout:
            return left, time.monotonic() - started
        time.sleep(0.5)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--every", type=int, default=50, help="read RSS every this many cycles")
    parser.add_argument("--start-every", type=int, default=5, help="press Start in every n-th tab (0: never)")
    parser.add_argument("--ttl", type=int, default=None, help="server.disconnectedSessionTTL in seconds")
    args = parser.parse_args(argv)
    env = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(args.ttl)} if args.ttl is not None else {}
    with dashboard_server(env=env) as url, chromium() as browser:
        pid = server_pid()
        open_and_close(browser, url, start=True)  # warm-up: imports, caches, the first runner's torch pools
        time.sleep(2)
        before = rss_mb(pid)
        print(f"server RSS before: {before:.0f} MB (after one warm-up session)", flush=True)
        tokens: list[str] = []
        readings: list[float] = []
        started = time.monotonic()
        for i in range(1, args.cycles + 1):
            start = bool(args.start_every) and i % args.start_every == 0
            tokens.append(open_and_close(browser, url, start=start))
            if i % args.every == 0:
                readings.append(rss_mb(pid))
                print(f"  {i:4d} cycles, {time.monotonic() - started:5.0f} s: RSS {readings[-1]:.0f} MB", flush=True)
        left, waited = wait_no_stale(url, tokens)
        after = rss_mb(pid)
        readings.append(after)
        print(f"stale tokens: {len(left)} of {len(tokens)} still answer, {waited:.1f} s after the last close")
        print(
            f"server RSS after {args.cycles} cycles: {after:.0f} MB "
            f"({after - before:+.0f} MB, {(after - before) / args.cycles * 1024:+.0f} kB per session)"
        )
        if args.ttl is not None:
            time.sleep(args.ttl + 2)
            open_and_close(browser, url)  # one more session ends: Streamlit's storage drops the expired ones
            time.sleep(2)
            dropped = rss_mb(pid)
            readings.append(dropped)
            print(
                f"server RSS once the closed sessions' TTL ({args.ttl} s) passed: {dropped:.0f} MB "
                f"({dropped - before:+.0f} MB from before); stale tokens then: {len(stale(url, tokens))}"
            )
        worst = max(readings) - before
        held = worst <= RSS_BOUND_MB and not left
        print(
            f"bound: at most +{RSS_BOUND_MB} MB over the warm-up reading and no stale token: "
            f"{'held' if held else 'BROKEN'} (worst +{worst:.0f} MB, {len(left)} stale)"
        )
        if not held:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
