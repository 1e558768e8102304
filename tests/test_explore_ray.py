"""The `ray` executor: the same runs as `local`, bit for bit (a run is a pure function of its config), no Ray
process left once it returns, and what to install where Ray is not installed."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from core.executors import RAY_INSTALL, ExecutorUnavailable, ray, run_exploration
from core.explore import METRICS, Exploration, Grid, parse_axis
from core.presets import PRESETS

BASE = PRESETS["ring8"].config.replace(hidden=32, depth=2, batch_size=64, eval_samples=500)


def grid() -> Grid:
    """2 x 2 cells x 2 seeds of 200 steps: 8 runs."""
    return Grid(BASE, parse_axis("lr_d=1e-4:1e-2:2log"), parse_axis("lr_g=1e-4,1e-3"), (0, 1), 200)


def need_ray() -> None:
    """CI installs Ray (requirements-dev.txt): there a missing Ray fails; elsewhere the test is skipped."""
    if not os.environ.get("CI"):
        pytest.importorskip("ray")


def ray_processes() -> dict[int, str]:
    """This process's descendants whose command line is Ray's (raylet, GCS, workers, agents): pid -> command."""
    parents, commands = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])  # pid (comm) state ppid ...
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parents[pid], commands[pid] = parent, command_of(pid)
    ours, grew = {os.getpid()}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= found
        grew = bool(found)
    return {pid: commands[pid] for pid in ours - {os.getpid()} if "ray" in commands[pid]}


def command_of(pid: int) -> str:
    """The process's command line ('' for a zombie or a process gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def still_running(seen: dict[int, str]) -> list[str]:
    """Ray's processes of ours now, and those of `seen` still running as the same command (a worker whose
    raylet died would no longer be our descendant)."""
    left = ray_processes() | {pid: command for pid, command in seen.items() if command_of(pid) == command}
    return sorted(command[:100] for command in left.values())


def test_without_ray_the_executor_says_what_to_install(monkeypatch, no_thread_leak):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = Exploration(grid(), "ring8")
    with pytest.raises(ExecutorUnavailable, match=re.escape("pip install -r requirements-cluster.txt")):
        run_exploration(result, "ray", workers=2)
    assert RAY_INSTALL == "pip install -r requirements-cluster.txt" and result.done == 0


def test_an_address_where_no_cluster_answers_is_refused_at_once(no_thread_leak):
    need_ray()
    result = Exploration(grid(), "ring8")
    with pytest.raises(ExecutorUnavailable, match=re.escape("no Ray cluster answers at 127.0.0.1:1")):
        run_exploration(result, "ray", workers=2, address="127.0.0.1:1")
    assert result.done == 0


@pytest.mark.slow
def test_ray_computes_the_same_runs_as_local_and_leaves_no_process(no_thread_leak, plain_main):
    need_ray()
    import ray as ray_module

    local = run_exploration(Exploration(grid(), "ring8"), "local", workers=2)
    seen: dict[int, str] = {}
    on_run = lambda result: seen.update(ray_processes())
    remote = run_exploration(Exploration(grid(), "ring8"), "ray", workers=2, on_run=on_run)
    assert local.done == remote.done == 8
    for metric in METRICS:  # seconds differ: each run's own wall time
        assert np.array_equal(local.values[metric], remote.values[metric], equal_nan=True), metric
    assert np.array_equal(local.outcome, remote.outcome)
    assert np.array_equal(local.diverged_at, remote.diverged_at)
    assert np.array_equal(local.message, remote.message)
    assert any("raylet" in command for command in seen.values())  # the Ray started for the runs, seen running
    assert not ray_module.is_initialized()
    assert not still_running(seen), still_running(seen)


@pytest.mark.slow
def test_a_ray_executor_closed_early_stops_its_ray(no_thread_leak):
    """The consumer stops after the first run (a generator closed early): the queued runs are cancelled and
    the Ray it started shut down, every process of it gone."""
    need_ray()
    import ray as ray_module

    g = grid()
    runs = ray([g.config(*run) for run in g.runs()], 2, None)
    index, report = next(runs)
    seen = ray_processes()
    assert 0 <= index < 8 and report["outcome"] != "failed"
    assert any("raylet" in command for command in seen.values())
    runs.close()
    assert not ray_module.is_initialized()
    assert not still_running(seen), still_running(seen)
