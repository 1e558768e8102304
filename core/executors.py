"""Where an exploration's runs are computed: each executor takes the runs' configs and yields (index, report)
as runs finish, in any order. A run is `core.explore.run_cell` on one torch thread, wherever it runs.

    serial  one after another in this process (the dashboard's job, tests);
    local   one process per core on this machine (concurrent.futures; spawned, so no torch state is forked);
    ray     Ray tasks on a cluster (`address`), or on a Ray started on this machine when none is given.
            Ray is optional (requirements-cluster.txt): the rest never imports it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

import torch

from .config import ConfigError, TrainConfig
from .explore import Exploration, failed, run_cell

RAY_INSTALL = "pip install -r requirements-cluster.txt"


class ExecutorUnavailable(RuntimeError):
    """The executor cannot run here (Ray not installed, no cluster at that address); says what to do."""


def run_one_thread(config: TrainConfig, cancel: threading.Event | None = None) -> dict:
    """A run as every executor computes it: one torch thread (a worker per core, not threads per worker)."""
    torch.set_num_threads(1)
    return run_cell(config, cancel)


def serial(configs: list[TrainConfig], workers: int, address: str | None, cancel: threading.Event | None = None):
    """In this thread; `cancel` stops the run in progress too (within core.explore.CANCEL_EVERY iterations)."""
    for i, config in enumerate(configs):
        try:
            yield i, run_one_thread(config, cancel)
        except InterruptedError:
            return


PARENT_CHECK_S = 1.0


def _exit_with(parent: int) -> None:
    """A local worker's initializer: exit once `parent` is gone. A parent killed outright (SIGKILL, or SIGTERM
    with no handler) never tells its pool, and a spawned worker would wait on its queue for ever, holding its
    memory (~400 MB with torch)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def local(configs: list[TrainConfig], workers: int, address: str | None, cancel: threading.Event | None = None):
    """At most `workers` processes; a run is submitted only when one is free, so an interrupt leaves no queue.
    The workers exit by themselves if this process dies without closing the pool."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_exit_with, initargs=(os.getpid(),)
    ) as pool:
        waiting, running = list(enumerate(configs))[::-1], dict[Future, int]()
        try:
            while waiting or running:
                while waiting and len(running) < workers and not (cancel is not None and cancel.is_set()):
                    i, config = waiting.pop()
                    running[pool.submit(run_one_thread, config)] = i
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield running.pop(future), future.result()
        finally:
            for future in running:
                future.cancel()


def ray(configs: list[TrainConfig], workers: int, address: str | None, cancel: threading.Event | None = None):
    """Ray tasks of one CPU each. With no `address`, a Ray of `workers` CPUs is started here (address "local":
    never one found through RAY_ADDRESS or /tmp/ray) and shut down, its processes waited for, however the
    generator ends (finished, closed early, cancelled, failed); with one, this process connects and disconnects,
    the cluster stays up (its machines need requirements.txt: this package is sent with the tasks). Quiet: no
    dashboard, no worker output here, Ray's log to errors. A Ray of 2 CPUs starts in about 3-5 s on 2 cores."""
    try:
        import ray as ray_module
    except ImportError:
        raise ExecutorUnavailable(f"Ray is not installed: {RAY_INSTALL}") from None
    # ray.init makes SIGTERM exit this process (sys.exit) and leaves it so: put the handler back after shutdown
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None

    def stop() -> None:
        ray_module.shutdown(wait_for_processes=True)
        if main_thread:
            signal.signal(signal.SIGTERM, sigterm)

    started_here = not ray_module.is_initialized()
    if started_here and address and address != "auto":
        # ray.init retries an address where nothing answers for minutes (20 tries of ~40 s here): ask it first
        host, _, port = address.split("://")[-1].rpartition(":")
        if port.isdigit():
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
            except OSError as error:
                raise ExecutorUnavailable(f"no Ray cluster answers at {address} ({error})") from None
    if started_here:
        try:
            ray_module.init(
                address=address or "local",
                num_cpus=None if address else workers,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
                # this package with the tasks: workers import it wherever they run, whatever their sys.path
                runtime_env={"py_modules": [str(Path(__file__).resolve().parent)]},
            )
        except Exception as error:  # no cluster there, or Ray could not start one
            stop()
            raise ExecutorUnavailable(f"Ray could not start ({type(error).__name__}: {error})") from None
    task = ray_module.remote(num_cpus=1)(run_one_thread)
    refs: dict = {}
    pending: list = []
    try:
        refs = {task.remote(config): i for i, config in enumerate(configs)}
        pending = list(refs)
        while pending and not (cancel is not None and cancel.is_set()):
            # a timeout, so that `cancel` and Ctrl-C are seen while a long run computes
            done, pending = ray_module.wait(pending, num_returns=1, timeout=0.5)
            for ref in done:
                yield refs[ref], ray_module.get(ref)
    finally:
        try:
            with contextlib.suppress(Exception):  # best effort: a Ray we started is shut down below anyway
                for ref in pending:
                    ray_module.cancel(ref)
        finally:
            if started_here:
                stop()


EXECUTORS: dict[str, Callable[..., Iterator[tuple[int, dict]]]] = dict(serial=serial, local=local, ray=ray)


def default_workers() -> int:
    return os.cpu_count() or 1


def run_exploration(
    result: Exploration,
    executor: str = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
    save_to=None,
    on_run: Callable[[Exploration], None] | None = None,
    cancel: threading.Event | None = None,
) -> Exploration:
    """Compute the runs `result` is missing with `executor`, recording each as it finishes (and saving the file
    `save_to` after each, so an interrupt keeps every finished run); `on_run(result)` after each (progress).
    A run that fails is recorded as failed, never stops the grid; an interrupt (KeyboardInterrupt) or `cancel`
    stops it with what is done recorded (and saved)."""
    grid, missing = result.grid, result.missing()
    configs: list[TrainConfig] = []
    for run in missing:
        try:
            configs.append(grid.config(*run))
        except ConfigError as error:  # the cell's values together are refused: a failed run, computed here
            configs.append(None)  # type: ignore[arg-type]
            result.record(run, failed(f"{error.field}: {error.message}"))
    todo = [(run, config) for run, config in zip(missing, configs, strict=True) if config is not None]
    runs = [run for run, _ in todo]
    record_runs(result, runs, [c for _, c in todo], executor, workers or default_workers(), address, save_to, on_run,
                cancel)  # fmt: skip
    return result


def record_runs(result, keys: list, configs: list[TrainConfig], executor: str, workers: int, address: str | None,
                save_to, on_run: Callable | None, cancel: threading.Event | None) -> None:  # fmt: skip
    """Run `configs` on `executor` and `result.record(keys[i], report)` each as it finishes, `result.save(save_to)`
    after each (and once more however it ends, so an interrupt keeps every finished run) and `on_run(result)`:
    what an exploration and a paper's table (core.reproduce) both do with their runs."""
    try:
        for i, report in EXECUTORS[executor](configs, workers, address, cancel):
            result.record(keys[i], report)
            if save_to is not None:
                result.save(save_to)
            if on_run is not None:
                on_run(result)
    finally:
        if save_to is not None:
            result.save(save_to)
