"""Issue 14 §5 against a real server: a closed tab's frame token is revoked with its session.

A closed tab's runner stopped within a second, but its token went on serving the last frame (43 of 50
tokens still answered 240 s after the last close, past Streamlit's 120 s session TTL) and every session
left ~2.9 MB behind. What held the stopped runners (gc referrers in a live server): the closed session's
widget callbacks (their args) in its session state, which Streamlit keeps for server.disconnectedSessionTTL
and drops lazily (when its session storage is next written), and the download button's deferred callable
(a closure over the runner) in Streamlit's process-wide MediaFileManager, which outlives its session. The
frame route looked runners up in a WeakValueDictionary, so every such runner kept answering. Now the
session's end revokes the token and the stopped runner lets go of its torch state; benchmarks/sessions.py
measures the memory over 500 cycles."""

import re

import pytest

from benchmarks.sessions import answers, open_and_close, wait_no_stale
from tests.browser import ROOT, chromium, dashboard_server, needs_chromium

ARTIFACTS = ROOT / "test-artifacts"
CYCLES = 12
pytestmark = [
    pytest.mark.slow,
    needs_chromium,
]


def test_closed_tabs_tokens_stop_answering():
    ARTIFACTS.mkdir(exist_ok=True)
    with dashboard_server(log_path=ARTIFACTS / "server-sessions.log") as url, chromium() as browser:

        def served_while_open(page, token):
            assert answers(url, token)  # the capability works while its tab is open

        # every third tab trains (one slot on two cores: the others wait in line when they close)
        tokens = [open_and_close(browser, url, start=i % 3 == 0, check=served_while_open) for i in range(CYCLES)]
        assert len(set(tokens)) == CYCLES and all(re.fullmatch(r"[\w-]{20,}", t) for t in tokens)
        # a session ends when its websocket closes; the release revokes the token at once. Streamlit's
        # session TTL (120 s) plays no part: nothing here waits for it
        left, waited = wait_no_stale(url, tokens, timeout=60.0)
        assert not left, f"{len(left)} of {CYCLES} closed tabs' tokens still answer after {waited:.0f} s"
