"""A real server and a real headless Chromium for the dashboard's end-to-end tests and benchmark."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# CI installs chromium (.ci/run); elsewhere the browser tests are skipped without it
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard_server(env: dict | None = None, log_path: Path | None = None, root: Path = ROOT):
    """`streamlit run dashboard/app.py` on a free loopback port; yields its URL; always stops it. root: the
    checkout to serve (benchmarks compare with an older one)."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "w")) if log_path else subprocess.DEVNULL
        process = subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})  # fmt: skip
        try:
            deadline = time.monotonic() + 120  # a loaded machine imports torch and Streamlit slowly
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=5).status == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the dashboard server did not start (exit {process.poll()})")
                time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@functools.cache
def users_chromium() -> str:
    """Debian's Chromium as a user runs it: without CAP_SYS_NICE. As root (CI, this machine) Chromium raises its
    display threads to nice -8, and on two cores they then preempt the server's training thread; a user's
    browser cannot (RLIMIT_NICE is 0), nor would a class's browsers on their own laptops. A wrapper script
    that drops the capability before Chromium starts (setpriv, util-linux); Chromium itself when not root."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return CHROMIUM
    folder = Path(tempfile.mkdtemp(prefix="minimax-chromium-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    wrapper = folder / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec {setpriv} --bounding-set -sys_nice {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def launch(browser_type):
    """A headless Chromium (CHROMIUM_ARGS) as a user's (users_chromium)."""
    return browser_type.launch(executable_path=users_chromium(), args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p.chromium)
        try:
            yield browser
        finally:
            browser.close()


def press_in_share(page, name: str, tries: int = 3) -> None:
    """Press a button inside the Share live view popover, opening it first unless open. Its button's
    aria-expanded says so at once; a rerun still drawing (or closing) the popover is waited out and retried."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    opener = page.get_by_role("button", name="Share live view")
    for attempt in range(tries):
        if opener.get_attribute("aria-expanded") != "true":
            opener.click()
        try:
            page.get_by_role("button", name=name).click(timeout=15_000)
            return
        except PlaywrightTimeoutError:
            if attempt == tries - 1:
                raise


def share(page) -> str:
    """Share live view, Create the link: the link it shows."""
    press_in_share(page, "Create the link")
    code = page.locator("code").filter(has_text="/minimax/watch/")
    code.wait_for(timeout=30_000)
    return code.inner_text().strip()
