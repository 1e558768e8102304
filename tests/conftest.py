"""Shared fixtures: the thread-leak guard, torch threads put back, and the session caches of the claims' runs
(single runs and batched sweeps), collected first so that the long claims start early."""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.metrics import Metrics, generator_metrics
from core.runner import live_runners
from core.snapshot import Probe
from core.sweep import SweepResult, run_sweep
from core.training import GAN


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The claims' trainings first (longest first within each file), then the other slow tests, then the
    rest: with `--dist worksteal` a worker that runs out of work takes the other's queue from its end, so the
    long claims start early on both workers and the short tests fill in around them."""
    trains = lambda item: bool({"sweeps", "trajectories"} & set(getattr(item, "fixturenames", ())))
    items.sort(key=lambda item: (not trains(item), item.get_closest_marker("slow") is None))


@pytest.fixture
def plain_main(monkeypatch):
    """Spawned workers import the parent's __main__ (multiprocessing's rule): under pytest an earlier AppTest in
    the same process leaves its page script there, which a worker would run. `python -m core` is the real
    parent, whose __main__ is guarded; here the workers get an empty one."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def runner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("minimax-runner") and t.is_alive()]


@pytest.fixture
def no_thread_leak():
    """Fails the test if it leaves a training thread of ours alive."""
    before = set(runner_threads())
    yield
    leaked = [t.name for t in runner_threads() if t not in before]
    assert not leaked, f"runner threads left alive: {leaked}"


APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "main.py")


@pytest.fixture
def app(no_thread_leak):
    """The dashboard under AppTest; every runner it made is stopped after the test."""
    at = AppTest.from_file(APP, default_timeout=60)
    yield at
    for runner in live_runners():
        runner.stop()


def runner_of(at):
    """The tab's training run: the `app` fixture stops every runner after each test, so it is the only live one."""
    (runner,) = live_runners()
    return runner


@pytest.fixture
def keep_torch_threads():
    """The in-process CLI sets torch's thread count (--threads): put it back for the tests after."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@contextlib.contextmanager
def one_torch_thread():
    """Train as the dashboard does, with one torch thread: another thread count sums in another order,
    and a GAN amplifies the last bits, so the same seed would give another run (0.09 apart in G's weights
    after 300 iterations of ring8 here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class Evaluation:
    iteration: int
    metrics: Metrics
    grad_norm_g: float  # G's gradient norm at its last step


class Trajectories:
    """Every preset claim trains its fixed-seed runs through here: a run asked for twice (ring8 by its own
    claim and as label smoothing's control, the mode-collapse baseline by every remedy) trains once per
    session. A longer request for a cached run trains on from where it stopped, so asking 500 then 2,000
    iterations costs 2,000."""

    def __init__(self) -> None:
        self._runs: dict[tuple[TrainConfig, int], tuple[GAN, Probe, list[Evaluation]]] = {}

    def __call__(self, config: TrainConfig, steps: int, every: int) -> list[Evaluation]:
        """The evaluations at iterations every, 2·every, … ≤ steps of the single run of `config`."""
        if (config, every) not in self._runs:
            gan = GAN(config)
            self._runs[config, every] = (gan, Probe(gan), [])
        gan, probe, out = self._runs[config, every]
        with one_torch_thread():
            while gan.iteration < steps:
                gan.train_iteration()
                if gan.iteration % every == 0:
                    metrics = generator_metrics(gan, probe.z_eval, probe.real_eval)[0]
                    out.append(Evaluation(gan.iteration, metrics, gan.last["grad_norm_g"]))
        return [e for e in out if e.iteration <= steps]


class Sweeps:
    """Seeds of one config trained together (core.sweep: one batch of matrix products, each seed its single
    run up to rounding), cached for the session like Trajectories. A claim about a lecture preset is a claim
    about its seeds: one seed's run is one draw, and on another CPU the same seed rounds to another run."""

    def __init__(self) -> None:
        self._results: dict[tuple[TrainConfig, int, int, int], SweepResult] = {}

    def __call__(self, config: TrainConfig, seeds: int, steps: int, every: int) -> SweepResult:
        key = (config, seeds, steps, every)
        if key not in self._results:
            with one_torch_thread():
                self._results[key] = run_sweep(config, seeds, steps, every)
        return self._results[key]


@pytest.fixture(scope="session")
def sweeps() -> Sweeps:
    return Sweeps()


@pytest.fixture(scope="session")
def trajectories() -> Trajectories:
    return Trajectories()
