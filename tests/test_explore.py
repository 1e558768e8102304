"""Explore (issue 17): axes parsed and checked in one place, outcome classes by their definitions, a run as a pure
function of its config (serial and local processes agree bit for bit), a diverging cell recorded as diverged, a
refused cell recorded as failed, an interrupted exploration resumed to the same numbers, strict files, and the
CLI's one-line exits."""

import contextlib
import io
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.config import ConfigError
from core.executors import run_exploration
from core.explore import METRICS, OUTCOMES, Exploration, Grid, load, outcome, parse_axis, run_cell
from core.presets import PRESETS
from tests.conftest import one_torch_thread

ROOT = Path(__file__).resolve().parents[1]
BASE = PRESETS["ring8"].config.replace(hidden=32, depth=2, batch_size=64, eval_samples=500, grid_size=40)
SMALL_FLAGS = ["--hidden", "32", "--depth", "2", "--batch-size", "64", "--eval-samples", "500", "--grid-size", "40"]


def small_grid(steps: int = 60) -> Grid:
    return Grid(BASE, parse_axis("lr_d=1e-4:1e-2:2log"), parse_axis("k=1,2"), (0, 1), steps)


def same_numbers(a: Exploration, b: Exploration) -> bool:
    return (
        all(np.array_equal(a.values[m], b.values[m], equal_nan=True) for m in METRICS)
        and np.array_equal(a.outcome, b.outcome)
        and np.array_equal(a.diverged_at, b.diverged_at)
    )


# ---- axes -------------------------------------------------------------------------------------------------
def test_axes_are_lists_or_ranges_of_the_settings_values():
    log = parse_axis("lr_d=1e-5:1e-2:4log")
    assert log.log and log.values == pytest.approx((1e-5, 1e-4, 1e-3, 1e-2))
    assert parse_axis("label_smoothing=0:0.3:4").values == pytest.approx((0.0, 0.1, 0.2, 0.3))
    assert parse_axis("k=1:3:5").values == (1, 2, 3)  # 1, 1.5, 2, 2.5, 3 rounded: each value once
    assert parse_axis("loss=minimax, nonsaturating").values == ("minimax", "nonsaturating")
    assert parse_axis("spectral-norm=true,false").values == (True, False)
    assert parse_axis("batch_size=64,128").labels() == ["64", "128"]


@pytest.mark.parametrize(
    "text, says",
    [
        ("lr_x=1,2", "unknown setting"),
        ("lr_d", "setting=values"),
        ("lr_d=", "setting=values"),
        ("lr_d=1e-5:1e-2:0log", "1 to 32 values"),
        ("lr_d=0:1e-2:3log", "log range"),
        ("lr_d=1e4,1e-3", "from 1e-07 to 1000"),
        ("k=1:40:3", "from 1 to 20"),
        ("loss=minimax,hinge2", "hinge2"),
        ("seed=1,2", "cannot be an axis"),
        ("loss=minimax:nonsaturating:2", "a list of values"),
        ("lr_d=" + ",".join(f"{i}e-4" for i in range(1, 40)), "at most 32"),
    ],
)
def test_a_bad_axis_is_refused_with_its_reason(text, says):
    with pytest.raises((ConfigError, ValueError)) as error:
        parse_axis(text)
    message = f"{getattr(error.value, 'field', '')} {getattr(error.value, 'message', error.value)}"
    assert says in message


# ---- outcomes ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "modes, total, diverged, expected",
    [
        ([8, 8, 8, 8, 8], 8, False, "converged"),
        ([8, 7, 8, 8, 8], 8, False, "collapsed"),  # a swing of 1 is noise, and a mode was missing once
        ([1, 1, 1, 1, 1], 8, False, "collapsed"),
        ([0, 0, 0, 0, 0], 8, False, "stalled"),  # G never reached a mode: not mode collapse
        ([0, 1, 0, 0, 0], 8, False, "collapsed"),
        ([3, 5, 3, 6, 4], 8, False, "oscillating"),  # a swing of 3 >= ceil(0.25 x 8) = 2
        ([8, 6, 8, 8, 8], 8, False, "oscillating"),
        ([20, 25, 25, 25, 25], 25, False, "collapsed"),  # a swing of 5 < ceil(0.25 x 25) = 7
        ([8, 8, 8, 8, 8], 8, True, "diverged"),
    ],
)
def test_outcome_classes_follow_their_definitions(modes, total, diverged, expected):
    assert outcome(modes, total, diverged) == expected


# ---- runs ----------------------------------------------------------------------------------------------------
def test_a_run_is_a_pure_function_of_its_config():
    config = BASE.replace(steps=40, seed=3)
    with one_torch_thread():
        first, again = run_cell(config), run_cell(config)
    first.pop("seconds"), again.pop("seconds")
    assert first == again and first["outcome"] in OUTCOMES
    assert 0 <= first["modes_captured"] <= 8 and 0 <= first["jsd"] <= math.log(2)


def test_a_cancel_stops_a_serial_run_within_its_iterations_and_records_nothing_of_it():
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(InterruptedError):
        run_cell(BASE.replace(steps=10**6), cancel)  # a million iterations: stopped at the first look
    result = Exploration(small_grid())
    assert run_exploration(result, "serial", cancel=cancel).done == 0 and not (result.outcome >= 0).any()


def test_a_diverging_cell_is_recorded_as_diverged_and_the_grid_goes_on():
    grid = Grid(BASE, parse_axis("lr_d=5e-4,100"), None, (0,), 30)
    result = run_exploration(Exploration(grid), "serial", workers=1)
    calm, wild = (OUTCOMES[o] for o in result.outcome[0, :, 0])
    assert wild == "diverged" and calm != "diverged"
    assert 1 <= result.diverged_at[0, 1, 0] <= 3 and "loss" in str(result.message[0, 1, 0]) + "weight"
    assert math.isnan(result.values["jsd"][0, 1, 0]) and not math.isnan(result.values["jsd"][0, 0, 0])


def test_a_refused_combination_is_a_failed_cell_not_a_failed_grid():
    """Label smoothing on a loss without targets is refused by core.config.validate: that cell is failed."""
    grid = Grid(BASE, parse_axis("loss=nonsaturating,wgan"), parse_axis("label_smoothing=0,0.2"), (0,), 10)
    result = run_exploration(Exploration(grid), "serial", workers=1)
    outcomes = [[OUTCOMES[o] for o in row[:, 0]] for row in result.outcome]
    assert outcomes[1][1] == "failed" and "label_smoothing" in str(result.message[1, 1, 0])
    assert "failed" not in (outcomes[0][0], outcomes[0][1], outcomes[1][0])


def test_local_processes_give_the_serial_numbers(plain_main):
    """The issue's fast-tier grid: 2 x 2 cells x 2 seeds, one spawned process per core."""
    grid = small_grid(steps=200)
    serial = run_exploration(Exploration(grid), "serial", workers=1)
    local = run_exploration(Exploration(grid), "local", workers=2)
    assert same_numbers(serial, local) and serial.done == local.done == 8


def test_an_interrupted_exploration_resumes_to_the_same_numbers(tmp_path):
    path = tmp_path / "half.npz"
    grid = small_grid()
    cancel = threading.Event()
    first = run_exploration(
        Exploration(grid), "serial", save_to=path, cancel=cancel, on_run=lambda r: r.done >= 3 and cancel.set()
    )
    assert first.done == 3
    saved = load(path)
    assert saved.done == 3 and len(saved.missing()) == 5 and same_numbers(saved, first)
    resumed = run_exploration(saved, "serial", save_to=path)
    whole = run_exploration(Exploration(grid), "serial")
    assert same_numbers(resumed, whole) and same_numbers(load(path), whole)


# ---- files ----------------------------------------------------------------------------------------------------
def test_the_file_round_trips_and_says_what_ran(tmp_path):
    result = run_exploration(Exploration(small_grid(), "ring8"), "serial")
    back = load(io.BytesIO(result.to_bytes()))
    assert same_numbers(back, result) and back.grid == result.grid and back.preset == "ring8"
    with np.load(io.BytesIO(result.to_bytes()), allow_pickle=False) as raw:  # anyone can read it
        assert json.loads(str(raw["config"]))["d_hidden"] == 32 and raw["outcome"].shape == (2, 2, 2)
    run = result.grid.config(1, 0, 1)
    assert (run.k, run.lr_d, run.seed) == (2, pytest.approx(1e-4), 1)  # a cell's run, repeatable


def _tampered(result: Exploration, **changes) -> io.BytesIO:
    with np.load(io.BytesIO(result.to_bytes()), allow_pickle=False) as raw:
        arrays = dict(raw) | changes
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    "changes, says",
    [
        (dict(format=np.array("minimax-run")), "not an exploration file"),
        (dict(outcome=np.full((2, 2, 2), 9, dtype=np.int8)), "outcome out of range"),
        (dict(outcome=np.zeros((3, 2, 2), dtype=np.int8)), "shape"),
        (dict(grid=np.array("{")), "its grid"),
        (
            dict(
                grid=np.array(
                    json.dumps(
                        dict(
                            axes=[dict(name="k", values=[1, 2], log=False)],
                            seeds=[0, 1],
                            steps=60,
                            preset="<a href='x'>ring8</a>",
                        )
                    )
                )
            ),
            "unknown preset",
        ),
        (dict(config=np.array('{"hidden": -4}')), "hidden"),
        (dict(message=np.array([["x" * 999] * 2] * 2)), "per-run array"),
    ],
)
def test_a_tampered_file_is_refused(changes, says):
    result = Exploration(small_grid())
    with pytest.raises((ValueError, ConfigError)) as error:
        load(_tampered(result, **changes))
    assert says in str(error.value) + getattr(error.value, "field", "")


def test_a_pickle_is_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, format=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        load(path)


# ---- the CLI --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--x", "lr_q=1,2"], "--x"),
        (["--x", "lr_d=1e-5:1e-2:0log"], "--x"),
        (["--x", "lr_d=5,10000"], "--x"),
        (["--x", "lr_d=1e-3", "--y", "lr_d=1e-4"], "--y"),
        ([], "--x"),
        (["--x", "k=1,2", "--seeds", "0"], "--seeds"),
        (["--x", "k=1,2", "--seed", "-1"], "--seed"),
        (["--resume", "missing.npz", "--seed", "100"], "--seed"),
        (["--x", "k=1,2", "--out", "result.txt"], "--out"),
        (["--resume", "missing.npz"], "--resume"),
        (["--resume", "missing.npz", "--x", "k=1,2"], "--x"),
    ],
)
def test_bad_explore_flags_exit_2_with_one_line(argv, flag, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["explore", *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and flag in err, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_explore_json_is_strict_and_complete(capsys, tmp_path, plain_main):
    out = tmp_path / "e.npz"
    argv = ["explore", "--x", "lr_d=1e-4,1e-3", "--seeds", "2", "--steps", "30", "--out", str(out), "--json"]
    assert main([*argv, "--workers", "1", *SMALL_FLAGS]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["runs_done"] == report["runs"] == 4 and report["axes"]["x"]["values"] == [1e-4, 1e-3]
    assert [c["seeds_done"] for c in report["cells"]] == [2, 2] and sum(report["cells"][0]["outcomes"].values()) == 2
    assert load(out).done == 4


def test_explore_seed_moves_every_cell_off_the_default_seeds(capsys, tmp_path, plain_main):
    """--seed 100 --seeds 2: each cell trains seeds 100 and 101 (a search kept off the seeds 0-9 it is judged on),
    and the file remembers them."""
    out = tmp_path / "e.npz"
    argv = ["explore", "--x", "k=1,2", "--seed", "100", "--seeds", "2", "--steps", "5", "--out", str(out), "--json"]
    assert main([*argv, "--workers", "1", *SMALL_FLAGS]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [[r["seed"] for r in c["runs"]] for c in report["cells"]] == [[100, 101], [100, 101]]
    assert load(out).grid.seeds == (100, 101)


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


@pytest.mark.slow
def test_an_explore_killed_alone_leaves_no_worker_behind(tmp_path):
    """Only the CLI's process is killed (SIGKILL: no handler runs, the pool is never shut down): its two
    spawned workers notice the parent is gone and exit within seconds instead of waiting on their queue."""
    argv = [sys.executable, "-m", "core", "explore", "--x", "k=1,2", "--seeds", "2", "--steps", "100000",
            "--workers", "2", "--out", str(tmp_path / "e.npz"), *SMALL_FLAGS]  # fmt: skip
    process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(workers := children(process.pid)) < 3:  # the resource tracker and two workers
            assert process.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        process.kill()
        process.wait(30)
        deadline = time.monotonic() + 30
        while alive := {pid for pid in workers if Path(f"/proc/{pid}").exists()}:
            assert time.monotonic() < deadline, f"workers {alive} outlived their parent"
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_explore_resumes_from_its_file(tmp_path):
    """A real `python -m core explore` killed (its whole process group, workers too) once some runs are saved;
    --resume computes only the others, and the numbers are those of an exploration never interrupted."""
    path = tmp_path / "killed.npz"
    argv = [sys.executable, "-m", "core", "explore", "--x", "lr_d=1e-4:1e-2:2log", "--y", "k=1,2", "--seeds", "2",
            "--steps", "300", "--workers", "2", "--out", str(path), *SMALL_FLAGS]  # fmt: skip
    process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (path.exists() and load(path).done >= 2):
            assert process.poll() is None and time.monotonic() < deadline, "no run was saved"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    done = load(path).done
    assert 2 <= done < 8
    resumed = subprocess.run([sys.executable, "-m", "core", "explore", "--resume", str(path), "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-500:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["runs_done"] == 8
    grid = load(path).grid
    assert same_numbers(load(path), run_exploration(Exploration(grid), "serial"))
