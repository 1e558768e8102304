"""A room on one server (issue 18 §2): N tabs, one training slot, N - 1 tabs waiting in line. What does a new
tab wait for its first frame, how fast does the server answer its health check, and how soon does the next in
line start when the trainer leaves?

For each --tabs N, a fresh `streamlit run dashboard/app.py` with MINIMAX_MAX_TRAINING=1 and one headless
Chromium: tab 1 presses Start (it trains), tabs 2..N press Start (each waits: "queued, number k"). Then:
  - health: --health GETs of /_stcore/health, 50 ms apart: p50, p95 and max in ms; each one alternates with
    a GET of the same size from a control, a bare `http.server` in a process of its own that trains nothing:
    what the machine itself (Chromium's N tabs and the training thread on 2 cores) adds to any server's
    answer. The difference is ours;
  - a new tab: goto until its board has drawn its first frame (#minimax-iteration written), --samples times
    (each tab closed before the next), median and max in s;
  - the line moving: tab 1 closes; seconds until tab 2's badge reads "running";
  - the server's RSS with all N tabs open, and its growth per tab after the first (each holds a built run).
Pages, not only HTTP clients: every tab is a browser context of its own, its component polling as it does.
With --compare REV it measures the same at git revision REV (a temporary worktree) in the same run, first,
so the figures stand side by side.

    python -m benchmarks.room [--tabs 8 16 32] [--samples 3] [--compare ffd4bfe]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.sessions import rss_mb, server_pid
from tests.browser import ROOT, chromium, dashboard_server

BADGE = "document.querySelector('[data-stat=\"state\"]').textContent"
DRAWN = "(document.getElementById('minimax-iteration') || {}).textContent > ''"  # a frame drawn


def open_tab(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    started = time.monotonic()
    page.goto(url)
    page.wait_for_function(DRAWN, timeout=180_000, polling=100)
    return context, page, time.monotonic() - started


CONTROL = """
import http.server, sys
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""


@contextlib.contextmanager
def control_server():
    """A server that does nothing but answer "ok", in its own process: the machine's share of a latency."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", CONTROL, str(port)])
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=1).read()
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the control server did not answer in 5 s")
        yield url
    finally:
        process.kill()
        process.wait()


def answered_in(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        response.read()
    return 1000 * (time.monotonic() - started)


def health(url: str, control: str, count: int) -> tuple[list[float], list[float]]:
    """Health and control GETs taken in turn, 50 ms apart: the same moments of the same room."""
    ours, bare = [], []
    for _ in range(count):
        ours.append(answered_in(f"{url}/_stcore/health"))
        time.sleep(0.025)
        bare.append(answered_in(control))
        time.sleep(0.025)
    return sorted(ours), sorted(bare)


def percentiles(times: list[float]) -> tuple[float, float, float]:
    return times[len(times) // 2], times[int(len(times) * 0.95)], times[-1]


def room(root: Path, tabs: int, samples: int, health_count: int) -> dict:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(dashboard_server(env={"MINIMAX_MAX_TRAINING": "1"}, root=root))
        browser = stack.enter_context(chromium())
        pages, pid, rss = [], server_pid(), []
        for number in range(tabs):
            context, page, _ = open_tab(browser, url)
            stack.callback(context.close)
            page.get_by_role("button", name="Start", exact=True).click()
            wanted = "running" if number == 0 else f"queued, number {number}"
            page.wait_for_function(f"{BADGE} === '{wanted}'", timeout=120_000, polling=200)
            pages.append((context, page))
            if number in (0, tabs - 1):
                rss.append(rss_mb(pid))
        time.sleep(3)  # the room settles: every waiting tab in its once-a-second loop
        answers, bare = health(url, stack.enter_context(control_server()), health_count)
        paints = []
        for _ in range(samples):
            context, page, seconds = open_tab(browser, url)
            paints.append(seconds)
            context.close()
        pages[0][0].close()  # the trainer leaves: its session ends, its slot frees
        started = time.monotonic()
        pages[1][1].wait_for_function(f"{BADGE} === 'running'", timeout=120_000, polling=100)
        moved = time.monotonic() - started
    return dict(
        health=percentiles(answers),
        control=percentiles(bare),
        paint_median=statistics.median(paints),
        paint_max=max(paints),
        next_starts=moved,
        mb_per_tab=(rss[-1] - rss[0]) / max(tabs - 1, 1),
        rss_mb=rss[-1],
    )


@contextlib.contextmanager
def checkout(revision: str):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "minimax"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), revision], check=True,
                       capture_output=True)  # fmt: skip
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def report(name: str, tabs: int, r: dict) -> None:
    print(
        f"{name:>10} {tabs:>3} tabs: new tab paints in {r['paint_median']:.1f} s (max {r['paint_max']:.1f}); "
        "health p50 {:.1f} ms, p95 {:.1f}, max {:.1f} ".format(*r["health"])
        + "(a bare control server beside it: p50 {:.1f}, p95 {:.1f}, max {:.1f}); ".format(*r["control"])
        + f"next in line starts {r['next_starts']:.1f} s after the trainer's tab closes; server RSS "
        f"{r['rss_mb']:.0f} MB, {r['mb_per_tab']:.1f} MB per waiting tab",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--health", type=int, default=200)
    parser.add_argument("--compare", metavar="REV", help="measure this git revision too, first")
    args = parser.parse_args()
    for tabs in args.tabs:
        if args.compare:
            with checkout(args.compare) as old:
                report(args.compare, tabs, room(old, tabs, args.samples, args.health))
        report("this tree", tabs, room(ROOT, tabs, args.samples, args.health))


if __name__ == "__main__":
    main()
