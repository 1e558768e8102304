import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def runner_threads():
    return [t for t in threading.enumerate() if t.name.startswith("minimax-runner") and t.is_alive()]


@pytest.fixture
def no_thread_leak():
    """Fails the test if it leaves a training thread of ours alive."""
    before = set(runner_threads())
    yield
    leaked = [t.name for t in runner_threads() if t not in before]
    assert not leaked, f"runner threads left alive: {leaked}"
