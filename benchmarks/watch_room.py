"""A class on one watch link (issue 18 §1): what 100 viewers polling at 5 Hz plus 3 real browsers cost the
lecturer's training, measured in one run on one machine.

Starts `streamlit run dashboard/app.py` on a free loopback port (with --via-nginx: as replica r1 behind
Debian's nginx and deploy/nginx/minimax.conf, whose cache serves the frames), opens the lecturer's board in
headless Chromium at 1920x1080, presses Start and Share live view. Then, in the order A B B A (--seconds
each; --rounds times, with the ratio of each round and their median, as this machine's speed drifts within
minutes):
  A  the lecturer's tab alone (the run watched at 10 frames/s, as in a lecture);
  B  the same, plus --viewers simulated viewers (one asyncio process, one keep-alive connection each, polling
     `now` at --hz and fetching each new frame by its number, as watch.js does) and --browsers watch pages in
     Chromium (their frames counted inside the page).
It prints the run's iterations/s in each stretch (read from the run's own frames at the stretch's start and
end), the frames/s reaching the lecturer's page over the stretch, B / A, the viewers' requests/s and p50/p95
latency (a poll: `now`, and the frame when it is new), frames per second reaching the simulated viewers and the
browsers, and bytes per frame. The simulated viewers run on this machine too, so B pays for their CPU as well as
the server's: a room's phones would not. With
--confine-class CPU the class's devices (the watch pages, in a Chromium of their own, and the simulated viewers)
run on that one core only, as if elsewhere but still taking up to a core of this machine; the lecturer's
browser and the server share the machine as on a lecturer's laptop. With --class-nice N they run at that
niceness instead (19: they take only what the server and the lecturer's tab leave idle, the nearest this one
machine comes to the students' own devices), still loading the server with every request a room makes; their
frames/s show what they got.

    python -m benchmarks.watch_room [--viewers 100] [--hz 5] [--browsers 3] [--seconds 20] [--rounds 1] [--via-nginx]
                                    [--cpu] [--confine-class 1] [--class-nice 19] [--server-nice 10 --renice frame]

--cpu prints, for each stretch, the cores each process took (and each of the server's threads, with the time it
was runnable but waiting for a core: `/proc/<pid>/task/<tid>/schedstat`). --server-nice N compares, in one run,
the server's own threads (--renice: its run's frame thread, its event loop, or all but the training thread) at
niceness 0 in odd rounds and N in even ones, and prints each setting's median; it needs root (a thread's priority
goes back up). The server ships its frame thread at core.runner.FRAME_NICE, so `--renice frame` at 10 against 0
is the server as it is against the server before.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.browser import chromium, dashboard_server, launch, share

OBSERVE = """() => {
  window.__frames = 0;
  const el = document.getElementById('minimax-iteration');
  let last = el.textContent;
  new MutationObserver(() => { if (el.textContent !== last) { last = el.textContent; window.__frames += 1; } })
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


# ---- the simulated viewers: one process, one keep-alive HTTP/1.1 connection per viewer --------------------------
async def _get(reader, writer, host: str, path: str) -> tuple[int, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = (line.partition(":") for line in lines[1:])
    length = next((int(v) for k, _, v in fields if k.lower() == "content-length"), 0)
    return status, await reader.readexactly(length)


async def _viewer(base: str, hz: float, until: float, stats: dict) -> None:
    parts = urllib.parse.urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    seen, period = None, 1 / hz
    try:
        while time.monotonic() < until:
            started = time.monotonic()
            status, body = await _get(reader, writer, parts.netloc, f"{parts.path}/now")
            stats["requests"] += 1
            if status == 200 and (number := json.loads(body)["frame"]) != seen:
                status, frame = await _get(reader, writer, parts.netloc, f"{parts.path}/frame/{number}")
                stats["requests"] += 1
                if status == 200:
                    seen = number
                    stats["frames"] += 1
                    stats["bytes"] += len(frame)
            elif status != 200:
                stats["errors"] += 1
            stats["latency"].append(time.monotonic() - started)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))
    finally:
        writer.close()


async def _swarm(base: str, viewers: int, hz: float, seconds: float) -> dict:
    stats: dict = dict(requests=0, frames=0, bytes=0, errors=0, latency=[])
    until = time.monotonic() + seconds
    # spread the viewers' first polls over one period, as a room's would be
    await asyncio.gather(*(_delayed(i / viewers / hz, _viewer(base, hz, until, stats)) for i in range(viewers)))
    latency = sorted(stats.pop("latency"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return stats | dict(
        cores=(usage.ru_utime + usage.ru_stime) / seconds,
        seconds=seconds,
        p50_ms=1000 * latency[len(latency) // 2] if latency else None,
        p95_ms=1000 * latency[int(len(latency) * 0.95)] if latency else None,
    )


async def _delayed(delay: float, work):
    await asyncio.sleep(delay)
    await work


def swarm(
    base: str, viewers: int, hz: float, seconds: float, cpus: set[int] | None = None, nice: int = 0
) -> subprocess.Popen:
    """The viewers in a process of their own (their own GIL, as a room's browsers would be), on `cpus` if given,
    at niceness `nice`."""
    code = (
        "import asyncio, json, sys; from benchmarks.watch_room import _swarm; "
        f"print(json.dumps(asyncio.run(_swarm({base!r}, {viewers}, {hz}, {seconds}))))"
    )

    def place() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        os.nice(nice)
        if nice:  # a session, so an autogroup, of its own at that niceness (class_browser says why)
            os.setsid()
            with contextlib.suppress(OSError):
                Path("/proc/self/autogroup").write_text(str(nice))

    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, preexec_fn=place)


def chromium_pids() -> set[int]:
    return {int(p.parent.name) for p in Path("/proc").glob("[0-9]*/comm") if _read(p).startswith("chromium")}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@contextlib.contextmanager
def class_browser(browser, cpu: int | None, nice: int = 0):
    """The watch pages' browser: the lecturer's own, or (cpu or nice given) a Chromium of its own whose every
    process and thread runs on that core, at that niceness (the renderers it starts later inherit both from its
    zygote). Niceness alone would do nothing here: with sched_autogroup_enabled (Linux's default on desktops,
    and this machine's), the scheduler first shares the cores fairly between sessions, and Playwright starts
    each browser in a session of its own, so a thread's nice weighs only against the threads of its session.
    The session's own niceness (/proc/<pid>/autogroup) is what ranks it against the server's."""
    if cpu is None and not nice:
        yield browser
        return
    before = chromium_pids()
    other = launch(browser.browser_type)
    try:
        for pid in chromium_pids() - before:
            if cpu is not None:
                subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], check=False, capture_output=True)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError, ValueError):
                    os.setpriority(os.PRIO_PROCESS, int(task.name), nice)  # per thread on Linux
            with contextlib.suppress(OSError):  # the scheduler's autogroup: see below
                Path(f"/proc/{pid}/autogroup").write_text(str(nice))
        yield other
    finally:
        other.close()


# ---- the lecturer's run ----------------------------------------------------------------------------------------
def iteration(link: str) -> tuple[float, int]:
    """(time, the run's iteration) from its watch link's latest frame."""
    now = json.load(urllib.request.urlopen(f"{link}/now", timeout=10))
    frame = json.load(urllib.request.urlopen(f"{link}/frame/{now['frame']}", timeout=10))
    return time.monotonic(), frame["iteration"]


def rate(link: str, seconds: float, settle: float = 2.0) -> float:
    time.sleep(settle)
    t0, i0 = iteration(link)
    time.sleep(seconds - settle)
    t1, i1 = iteration(link)
    return (i1 - i0) / (t1 - t0)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of every process and of the server's threads, by name (Chromium's renderers as one)."""
    tick, out = os.sysconf("SC_CLK_TCK"), collections.Counter()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = (
                stat.read_text().rsplit(")", 1)[0].split("(", 1)[1],
                stat.read_text().rsplit(")", 1)[1].split(),
            )
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if _is_server(cmdline):
            for tid, seconds in thread_seconds(int(stat.parent.name)).items():
                out[f"server thread {tid}"] += seconds
                with contextlib.suppress(OSError, IndexError, ValueError):
                    # the kernel's own account: ns on a core, ns runnable but waiting for one
                    waiting = (stat.parent / "task" / str(tid) / "schedstat").read_text().split()[1]
                    out[f"server thread {tid} waiting"] += int(waiting) / 1e9
            continue
        out[name] += (int(fields[11]) + int(fields[12])) / tick
    return out


def server_pid() -> int:
    return next(int(c.parent.name) for c in Path("/proc").glob("[0-9]*/cmdline") if _is_server(_read_bytes(c)))


def _is_server(cmdline: bytes) -> bool:
    return b"streamlit" in cmdline and b"dashboard/app.py" in cmdline


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of process `pid`, by thread id."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for task in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            f = task.read_text().rsplit(")", 1)[1].split()
            out[int(task.parent.name)] = (int(f[11]) + int(f[12])) / tick
    return out


def busiest_threads(pid: int) -> list[int]:
    """Process `pid`'s threads, the most CPU over 2 s first: with the lecturer's page alone watching, the server's
    training thread, then its frame thread (the event loop, the main thread, takes a few per cent then)."""
    before = thread_seconds(pid)
    time.sleep(2)
    after = thread_seconds(pid)
    return sorted(after, key=lambda tid: after[tid] - before.get(tid, after[tid]), reverse=True)


def renice_server(pid: int, which: str, nice: int, busiest: list[int]) -> None:
    """The server's threads `which` at niceness `nice` (as root: back to 0 too): "frame" its run's frame thread,
    "loop" its event loop (the main thread), "all" every thread but the training thread. Threads started later
    inherit their starter's."""
    training, frame = busiest[:2]
    chosen = {"frame": [frame], "loop": [pid]}.get(which) or [t for t in thread_seconds(pid) if t != training]
    for tid in chosen:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, nice)


def cores_since(started: float, before: dict[str, float]) -> dict[str, float]:
    """Cores each process and server thread took since `started`, when cpu_seconds() read `before`."""
    elapsed, used = time.monotonic() - started, cpu_seconds()
    return {name: (used[name] - before.get(name, 0.0)) / elapsed for name in used}


def stretch(link: str, browser, args, crowd: bool) -> dict:
    if not crowd:
        started, before = time.monotonic(), cpu_seconds()
        its = rate(link, args.seconds)
        return dict(its=its, cores=cores_since(started, before))
    pages, contexts = [], []
    with contextlib.ExitStack() as stack:
        for _ in range(args.browsers):
            context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            stack.callback(context.close)
            page = context.new_page()
            page.goto(link)
            page.wait_for_function("document.getElementById('minimax-iteration').textContent !== ''", timeout=60_000)
            page.evaluate(OBSERVE)
            pages.append(page)
            contexts.append(context)
        cpus = None if args.confine_class is None else {args.confine_class}
        viewers = swarm(link, args.viewers, args.hz, args.seconds, cpus, args.class_nice)
        started, before = time.monotonic(), cpu_seconds()
        its = rate(link, args.seconds - 0.5)
        out, _ = viewers.communicate(timeout=args.seconds + 60)
        elapsed = time.monotonic() - started
        cores = cores_since(started, before)
        shown = [page.evaluate("window.__frames") / elapsed for page in pages]
    crowd_stats = json.loads(out)
    cores["simulated viewers"] = crowd_stats["cores"]
    return dict(its=its, viewers=crowd_stats, browser_fps=shown, cores=cores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--hz", type=float, default=5.0)
    parser.add_argument("--browsers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=1, help="ABBA rounds: the ratio is their median")
    parser.add_argument("--via-nginx", action="store_true", help="replica r1 behind deploy/nginx/minimax.conf")
    parser.add_argument("--cpu", action="store_true", help="where the cores went in each stretch")
    parser.add_argument("--confine-class", type=int, metavar="CPU", help="the watch pages and viewers on this core")
    nice_flag = dict(type=int, default=0, choices=range(20), metavar="N")
    parser.add_argument("--class-nice", **nice_flag, help="the watch pages and viewers at this niceness (0-19)")
    parser.add_argument(
        "--server-nice", **nice_flag, help="odd rounds with the server's threads --renice at nice 0, even at N (root)"
    )
    parser.add_argument("--renice", choices=("frame", "loop", "all"), default="frame", help="which, for --server-nice")
    args = parser.parse_args()
    if args.confine_class is not None and args.confine_class not in os.sched_getaffinity(0):
        parser.error(f"--confine-class: no core {args.confine_class} here (cores {sorted(os.sched_getaffinity(0))})")
    env = {"MINIMAX_REPLICA": "r1"} if args.via_nginx else {}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(dashboard_server(env=env))
        if args.via_nginx:
            from tests.nginx_front import nginx_front

            port = stack.enter_context(nginx_front({"r1": urllib.parse.urlsplit(url).port}))
            url = f"http://127.0.0.1:{port}"
        browser = stack.enter_context(chromium())
        watchers = stack.enter_context(class_browser(browser, args.confine_class, args.class_nice))
        owner = browser.new_context(viewport={"width": 1920, "height": 1080})
        stack.callback(owner.close)
        page = owner.new_page()
        page.goto(url)
        page.wait_for_selector("#minimax-iteration", timeout=90_000)
        page.get_by_role("button", name="Start", exact=True).click()
        page.wait_for_function("document.querySelector('[data-stat=\"state\"]').textContent === 'running'")
        link = share(page)
        page.evaluate(OBSERVE)  # the lecturer's frames/s too: the server's frame thread yields to training
        print(f"watch link {link}{' (through nginx)' if args.via_nginx else ''}")
        results = {}
        pid = server_pid()
        busiest = busiest_threads(pid) if args.server_nice else []
        niceness = [args.server_nice * (r % 2) for r in range(args.rounds)]  # a round's, for --renice
        order = [(r, f"{kind}{r + 1}.{i}", kind == "B") for r in range(args.rounds) for i, kind in enumerate("ABBA")]
        for r, name, crowd in order:
            if args.server_nice and name.endswith(".0"):
                renice_server(pid, args.renice, niceness[r], busiest)
                print(f"round {r + 1}: the server's {args.renice} thread(s) at nice {niceness[r]}", flush=True)
            page.evaluate("window.__frames = 0")
            started = time.monotonic()
            results[name] = stretch(link, watchers, args, crowd)
            lecturer = page.evaluate("window.__frames") / (time.monotonic() - started)
            extra = ""
            if crowd and args.viewers:
                v = results[name]["viewers"]
                extra = (
                    f"  viewers: {v['requests'] / v['seconds']:.0f} req/s, poll p50 {v['p50_ms']:.1f} ms p95 "
                    f"{v['p95_ms']:.1f} ms, {v['frames'] / v['seconds'] / args.viewers:.2f} frames/s each, "
                    f"{v['bytes'] / max(v['frames'], 1) / 1024:.1f} KB a frame, {v['errors']} errors; browsers "
                    + ", ".join(f"{f:.1f}" for f in results[name]["browser_fps"])
                    + " frames/s"
                )
            print(f"{name}: {results[name]['its']:.1f} it/s, lecturer {lecturer:.1f} frames/s{extra}", flush=True)
            if args.cpu:
                busy = sorted(((c, n) for n, c in results[name]["cores"].items() if c >= 0.02), reverse=True)
                print("    cores: " + ", ".join(f"{n} {c:.2f}" for c, n in busy), flush=True)
        ratios = []
        for r in range(args.rounds):
            its = {
                kind: statistics.mean(v["its"] for k, v in results.items() if k.startswith(f"{kind}{r + 1}."))
                for kind in "AB"
            }
            ratios.append(its["B"] / its["A"])
        for nice in sorted(set(niceness)) if args.server_nice else ():
            picked = [ratio for ratio, n in zip(ratios, niceness, strict=True) if n == nice]
            listed = ", ".join(f"{ratio:.2f}" for ratio in picked)
            print(f"{args.renice} at nice {nice}: median {statistics.median(picked):.2f} of {listed}")
        print(
            f"owner's it/s with the class / alone: {statistics.median(ratios):.2f} (target >= 0.7), the median of "
            f"{args.rounds} rounds: " + ", ".join(f"{r:.2f}" for r in ratios)
        )


if __name__ == "__main__":
    main()
