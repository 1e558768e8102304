"""Frames/s of the Train page in a real browser, and what watching costs training, measured in one run.

Starts `streamlit run dashboard/app.py` on a free loopback port, opens it in headless Chromium, presses
Start and for --seconds records inside the page (a MutationObserver on #minimax-iteration, read once at
the end: polling the page from here every few ms would itself steal the CPU):
  - frames/s that reached the screen, and iterations/s while watched;
  - bytes per frame the component fetches from the frame route (dashboard/frames.py).
In the same run it trains the same config headless with the same single torch thread before and after each
watched stretch, and prints watched / headless (against the mean of the two headless rates beside it), for the
board as it opens and in presentation mode (`?present=1`, the sidebar hidden: four views in one row, 16 px
text). The views are watched in the order A B B A (`--rounds 2`), so that neither view is always measured
first: the view measured second read lower in every run of the old single pass (docs/architecture.md).

    python -m benchmarks.dashboard_live [--seconds 20] [--views board present] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from core.config import TrainConfig
from core.runner import Runner
from core.training import GAN
from dashboard.payload import payload
from tests.browser import chromium, dashboard_server

OBSERVE = """() => {
  window.__frames = [];
  const el = document.getElementById('minimax-iteration');
  let last = el.textContent;
  new MutationObserver(() => {
    if (el.textContent !== last) { last = el.textContent; window.__frames.push([performance.now(), Number(last)]); }
  }).observe(el, {childList: true, characterData: true, subtree: true});
}"""


def headless_rate(config: TrainConfig, seconds: float) -> float:
    torch.set_num_threads(1)  # the dashboard's setting (dashboard/session.py)
    gan, n, start = GAN(config), 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        gan.train_iteration()
        n += 1
    return n / (time.perf_counter() - start)


def payload_kb(config: TrainConfig, include_static: bool = False) -> float:
    with Runner(config, threads=1) as runner:
        snap = runner.advance(200, wait=True)
    return len(json.dumps(payload(snap, include_static))) / 1024


def watched(url: str, browser, seconds: float, present: bool) -> dict:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = context.new_page()
        received = []  # bytes of the frames fetched from the frame route
        page.on(
            "response",
            lambda r: received.append(int(r.headers.get("content-length", 0))) if "/minimax/frame/" in r.url else None,
        )
        page.goto(f"{url}/?present=1" if present else url)
        page.wait_for_selector("#minimax-iteration", timeout=60_000)
        if present:  # the lecturer's screen: the sidebar hidden
            page.locator('[data-testid="stSidebar"]').hover()
            page.locator('[data-testid="stSidebarCollapseButton"] button').first.click(force=True)
            page.wait_for_selector(".mm-root.mm-present")
        page.get_by_role("button", name="Start", exact=True).click()
        page.wait_for_function("Number(document.getElementById('minimax-iteration').textContent) > 0", timeout=60_000)
        time.sleep(2.0)  # past the start-up
        page.evaluate(OBSERVE)
        bytes_before = sum(received)
        time.sleep(seconds)
        frames = page.evaluate("window.__frames")
        draw = page.evaluate("window.__minimaxDraw")
        bytes_during = sum(received) - bytes_before
        page.get_by_role("button", name="Pause", exact=True).click()
    finally:
        context.close()
    (t0, i0), (t1, i1) = frames[0], frames[-1]
    span = (t1 - t0) / 1000
    return dict(
        frames=len(frames),
        fps=(len(frames) - 1) / span,
        its=(i1 - i0) / span,
        kb_per_frame=bytes_during / max(1, len(frames)) / 1024,
        draw_ms=draw["ms"] / draw["frames"],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--views", nargs="+", choices=("board", "present"), default=["board", "present"])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the views, every other one reversed")
    args = parser.parse_args(argv)
    config = TrainConfig()
    order = [v for r in range(args.rounds) for v in (args.views if r % 2 == 0 else args.views[::-1])]
    seen: dict[str, list[dict]] = {view: [] for view in args.views}
    rates = [headless_rate(config, args.seconds / 2)]
    with dashboard_server() as url, chromium() as browser:
        for view in order:
            s = watched(url, browser, args.seconds, view == "present")
            rates.append(headless_rate(config, args.seconds / 2))
            s["ratio"] = s["its"] / statistics.mean(rates[-2:])
            seen[view].append(s)
    print(
        f"default config (MLPs G {config.g_layers}, D {config.d_layers}, batch {config.batch_size}), 1 torch thread, "
        f"{args.seconds:g} s watched at 1920x1080 per stretch, views in the order {' '.join(order)}"
    )
    print(f"  iterations headless     {statistics.mean(rates):6.1f} /s   ({', '.join(f'{r:.0f}' for r in rates)})")
    for view, runs in seen.items():
        ratios = ", ".join(f"{s['ratio']:.2f}" for s in runs)
        drawing = statistics.mean(s["draw_ms"] for s in runs)
        print(
            f"  {view}: frames on screen {min(s['fps'] for s in runs):5.1f} /s at least, iterations while watched "
            f"{statistics.mean(s['its'] for s in runs):5.1f} /s, watched / headless {ratios} "
            f"(lowest {min(s['ratio'] for s in runs):.2f}), drawing {drawing:4.1f} ms"
        )
    s = seen[args.views[0]][0]
    print(
        f"  fetched per frame       {s['kb_per_frame']:6.1f} KB   (the data-set layer, "
        f"{payload_kb(config, True) - payload_kb(config):.1f} KB more, comes once per data set)"
    )


if __name__ == "__main__":
    main()
