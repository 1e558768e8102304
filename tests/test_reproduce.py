"""Reproduce (issue 19): the papers' tables as data (every row a config the papers' data sets and rules evaluate),
a smoke run of each table through the CLI (shape and columns, not values), the table's arithmetic against
hand-computed numbers, a resumed table that runs only its missing runs, Ctrl-C leaving a consistent file,
malformed result files refused, and the one-line exits."""

import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import core.executors
from core import explore_cli
from core.cli import build_parser, main
from core.data import mixture_for
from core.explore import OUTCOMES
from core.explore import load as load_exploration
from core.metrics import mode_statistics
from core.papers import BEST_SEARCH, DATASETS, METRICS, TABLES
from core.presets import PRESETS
from core.reproduce import FILE_KEYS, OUTSIDE, Reproduction, cell, cell_text, load, run_record

ROOT = Path(__file__).resolve().parents[1]
SMOKE_ITERATIONS = 20  # each run still takes its 10 evaluations of 2,500 samples


def strict(text: str) -> dict:
    def refuse(name):
        raise AssertionError(f"{name} in the JSON")

    return json.loads(text, parse_constant=refuse)


def fake_report(counts, outcome="collapsed") -> dict:
    """What core.explore.run_cell reports, for the parts under test: the last evaluation's counts per mode."""
    counts = np.asarray(counts)
    q = counts / max(counts.sum(), 1)
    kl = float((q[q > 0] * np.log(q[q > 0] * len(counts))).sum())
    share = counts.sum() / 2500
    return dict(outcome=outcome, message="", seconds=0.5, high_quality=share, reverse_kl=kl, mode_counts=list(counts))


def filled(name="pacgan-table1", seeds=2, iterations=30, done=3) -> Reproduction:
    """A reproduction with its first `done` runs recorded from fake reports."""
    result = Reproduction(name, seeds, iterations)
    for key in result.keys()[:done]:
        modes = DATASETS[key[1]]["modes"]
        result.record(key, fake_report([100] * (modes - 1) + [0]))
    return result


# ---- the tables as data -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TABLES)
def test_every_row_is_a_config_on_the_papers_data_sets(name):
    table = TABLES[name]
    assert table.iterations == {"pacgan-table1": 400_000, "veegan-table1": 25_000, "minimax-best": 20_000}[name]
    for row in table.rows:
        for ds in table.datasets:
            config = table.config(row, ds, seed=3)
            assert (config.seed, config.steps, config.eval_samples) == (3, table.iterations, 2500)
            settings = table.protocol | table.rows[row] | table.per_dataset.get(row, {}).get(ds, {})
            assert all(getattr(config, k) == v for k, v in settings.items() if k != "steps")
            assert set(table.published[row][ds]) == set(table.metrics) <= set(METRICS)
    ring = mixture_for(table.config(next(iter(table.rows)), "ring", 0))
    grid = mixture_for(table.config(next(iter(table.rows)), "grid", 0))
    # PacGAN's ring: angles 2 pi k / 8 from (1, 0), radius 1, std 0.01; its grid {-4, -2, 0, 2, 4}^2, std 0.05
    angles = 2 * np.pi * np.arange(8) / 8
    assert np.allclose(ring.means, np.stack([np.cos(angles), np.sin(angles)], 1)) and np.allclose(ring.stds, 0.01)
    lattice = {(x, y) for x in range(-4, 5, 2) for y in range(-4, 5, 2)}
    assert {tuple(m) for m in np.rint(grid.means).astype(int)} == lattice and np.allclose(grid.stds, 0.05)


def test_the_pacgan_rows_differ_in_packing_and_the_veegan_rows_in_unrolling():
    assert TABLES["pacgan-table1"].rows == {
        "GAN": dict(pack=1),
        "PacGAN2": dict(pack=2),
        "PacGAN3": dict(pack=3),
        "PacGAN4": dict(pack=4),
    }
    unrolled = dict(unrolled=5, simultaneous=False)  # TrainConfig's simultaneous update does not unroll
    assert TABLES["veegan-table1"].rows == {"GAN": dict(unrolled=0), "Unrolled GAN": unrolled}


def test_our_best_is_judged_against_the_best_pacgan_row_of_each_metric_with_the_presets_settings():
    """PacGAN Table 1, by hand: on the ring the most modes are PacGAN2's 7.9, the most high-quality samples the
    GAN's 98.2 %, the least reverse KL 0.07 (PacGAN2, the first of two); on the grid PacGAN4's 24.8, the GAN's
    94.8 % and PacGAN4's 0.04. Our row is the pacgan-ring / pacgan-grid preset on each data set."""
    best = TABLES["minimax-best"]
    assert best.published["Minimax"] == {
        "ring": dict(modes=(7.9, 0.1), high_quality=(98.2, 0.2), reverse_kl=(0.07, 0.03)),
        "grid": dict(modes=(24.8, 0.2), high_quality=(94.8, 0.7), reverse_kl=(0.04, 0.01)),
    }
    for dataset in ("ring", "grid"):
        preset = PRESETS[f"pacgan-{dataset}"].config
        assert best.config("Minimax", dataset, seed=preset.seed) == preset


def test_the_search_commands_are_the_shipped_diagrams_and_the_best_is_their_winner():
    """Each command of the documented search (core.papers.BEST_SEARCH, on the Papers page) parses to the grid of
    the diagram it names, shipped in dashboard/explorations/ and complete; the presets' settings are a cell of
    the last stage on their data set, and no cell of that stage beat it on the search's seeds (the mean share of
    high-quality samples, among the cells that hold every mode in every seed)."""
    parser = build_parser()
    explore = parser._subparsers._group_actions[0].choices["explore"]
    last = {}
    for command in BEST_SEARCH:
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "core"]
        grid = explore_cli._exploration(explore, parser.parse_args(argv[3:]))[0].grid
        shipped = load_exploration(ROOT / argv[argv.index("--out") + 1])
        assert shipped.grid == grid and shipped.done == math.prod(grid.shape) and grid.seeds == (100, 101)
        last[grid.base.dataset] = shipped
    for dataset, shipped in last.items():
        grid, best = shipped.grid, TABLES["minimax-best"].config("Minimax", dataset, seed=100)
        cells = [(r, c) for r, c, s in shipped.grid.runs() if s == 0]
        (winner,) = [(r, c) for r, c in cells if grid.config(r, c, 0).replace(steps=best.steps) == best]
        modes, quality = shipped.values["modes_captured"], shipped.values["high_quality"]
        full = [cell for cell in cells if (modes[cell] == grid.base.modes).all()]
        assert winner in full and max(full, key=lambda cell: quality[cell].mean()) == winner


def test_reverse_kl_is_pacgans_log_k_minus_the_entropy_of_the_high_quality_shares():
    """PacGAN's code logs entropy(q) of the high-quality samples' modes (extensions.py l.174); KL(q || uniform)
    = log K - that entropy. Hand-made samples: 3 on mode 0, 1 on mode 2, one far from every mode."""
    table = TABLES["pacgan-table1"]
    ring = mixture_for(table.config("GAN", "ring", 0))
    samples = np.array([ring.means[0]] * 3 + [ring.means[2], [0.0, 0.0]])
    stats = mode_statistics(samples, ring, rule="pacgan")
    q = np.array([0.75, 0.25])
    assert stats.reverse_kl == pytest.approx(math.log(8) + (q * np.log(q)).sum())
    assert stats.modes_captured == 2 and stats.high_quality == pytest.approx(0.8)


# ---- the arithmetic -----------------------------------------------------------------------------------------
def test_mean_standard_error_interval_and_marker_by_hand():
    """1, 2, 3, 4: mean 2.5, sample std sqrt(5/3) = 1.29099, SE 0.645497, t(0.975, 3) = 3.182446, so the 95 %
    interval is 2.5 ± 2.054260 = [0.445740, 4.554260]."""
    c = cell([1.0, 2.0, 3.0, 4.0], paper=(4.6, 0.1))
    assert (c.n, c.mean) == (4, 2.5) and c.se == pytest.approx(0.645497, abs=1e-6)
    assert (c.low, c.high) == (pytest.approx(0.445740, abs=1e-6), pytest.approx(4.554260, abs=1e-6))
    assert c.outside is True and cell_text(c, 1) == f"2.5 ± 0.6 (4) | 4.6 ± 0.1 {OUTSIDE}"
    inside = cell([1.0, 2.0, 3.0, 4.0], paper=(4.5, None))
    assert inside.outside is False and cell_text(inside, 2) == "2.50 ± 0.65 (4) | 4.50"
    one = cell([7.0], paper=(6.3, 0.5))  # one seed: no SE, no interval, no marker
    assert (one.se, one.low, one.outside) == (None, None, None) and cell_text(one, 1) == "7.0 (1) | 6.3 ± 0.5"
    assert cell([], paper=(6.3, 0.5)).mean is None and cell_text(cell([]), 1) == "— | —"
    same = cell([8.0, 8.0], paper=(7.9, 0.1))  # every seed alike: SE 0, the interval is the point 8
    assert same.se == 0 and same.outside is True


def test_a_run_is_scored_with_the_tables_rule_in_the_papers_units():
    """PacGAN's rule counts a mode with 1 high-quality sample (ours would need 20 of 2,500); high quality in %."""
    result = Reproduction("pacgan-table1", 2)
    for seed, counts in enumerate(([1, 0, 0, 0, 0, 0, 0, 30], [50, 50, 0, 0, 0, 0, 0, 0])):
        result.runs["GAN", "ring", seed] = run_record(result.table, ("GAN", "ring", seed), fake_report(counts), 2500)
    cells = result.cells()
    assert [r["modes"] for r in result.runs.values()] == [2, 2]
    assert cells["GAN", "ring", "modes"].mean == 2 and cells["GAN", "ring", "modes"].se == 0
    assert cells["GAN", "ring", "high_quality"].mean == pytest.approx((31 + 100) / 2500 / 2 * 100)
    assert cells["GAN", "grid", "modes"].n == 0  # nothing run there yet
    diverged = run_record(result.table, ("GAN", "grid", 0), dict(fake_report([0] * 25), outcome="diverged"), 2500)
    assert diverged["modes"] is None and diverged["mode_counts"] is None  # left out of the means


# ---- running a table ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TABLES)
def test_a_two_seed_smoke_run_of_each_table(name, tmp_path, capsys, keep_torch_threads):
    """The real protocol, 2 seeds, a few iterations, in this process (--workers 1): strict JSON of every row x
    data set x metric, the file written, and the text table from the finished file (nothing left to run)."""
    table, path = TABLES[name], tmp_path / "table.json"
    argv = ["reproduce", name, "--seeds", "2", "--iterations", str(SMOKE_ITERATIONS), "--workers", "1"]
    assert main([*argv, "--json", "--out", str(path)]) == 0
    report = strict(capsys.readouterr().out.strip())
    runs = len(table.rows) * len(table.datasets) * 2
    assert report["runs_done"] == report["runs_total"] == runs and len(report["runs"]) == runs
    assert {r["outcome"] for r in report["runs"]} <= set(OUTCOMES) - {"failed"}
    assert len(report["summary"]) == len(table.rows) * len(table.datasets) * len(table.metrics)
    for entry in report["summary"]:
        assert set(entry["ours"]) == {"n", "mean", "se", "low", "high"} and entry["paper"] is not None
    assert report["deviations"][:2] == [
        f"{SMOKE_ITERATIONS} iterations per run instead of {table.iterations:,}",
        f"2 seeds instead of the paper's {table.trials} trials",
    ]
    assert strict(path.read_text())["runs"] == report["runs"]
    assert main(["reproduce", name, "--resume", str(path)]) == 0  # nothing missing: the table only
    out = capsys.readouterr().out
    for label in ["ring: 8 modes, radius 1, std 0.01", "grid: 25 modes, spacing 2, std 0.05", *table.rows]:
        assert label in out
    header = next(line for line in out.splitlines() if line.startswith("row "))
    assert header.split() == ["row", *" ".join(METRICS[m].label for m in table.metrics).split()]


def test_a_resumed_table_runs_only_its_missing_runs(tmp_path, capsys, monkeypatch):
    path = tmp_path / "half.json"
    filled(done=5).save(path)
    trained = []

    def fake_run(config, cancel=None):
        trained.append((f"PacGAN{config.pack}".replace("PacGAN1", "GAN"), config.dataset, config.seed))
        assert config.steps == 30  # the file's iterations
        return fake_report([10] * config.modes)

    monkeypatch.setattr(core.executors, "run_one_thread", fake_run)
    assert main(["reproduce", "pacgan-table1", "--resume", str(path), "--workers", "1", "--json"]) == 0
    report = strict(capsys.readouterr().out)
    assert trained == Reproduction("pacgan-table1", 2).keys()[5:] and report["runs_done"] == 16
    assert len(load(path).runs) == 16


def test_ctrl_c_leaves_a_consistent_file_that_resumes(tmp_path, capsys, monkeypatch):
    path = tmp_path / "stopped.json"
    calls = []

    def interrupted(config, cancel=None):
        calls.append(config.seed)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return fake_report([10] * config.modes)

    monkeypatch.setattr(core.executors, "run_one_thread", interrupted)
    argv = ["reproduce", "veegan-table1", "--seeds", "2", "--iterations", "30", "--workers", "1"]
    assert main([*argv, "--out", str(path)]) == 130
    assert "3 of 8 runs done" in capsys.readouterr().err and len(load(path).runs) == 3
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.slow
def test_ctrl_c_in_a_real_process_saves_what_is_done_and_resume_finishes(tmp_path):
    """A real `python -m core reproduce` on two local processes, SIGINT (Ctrl-C: the whole process group) once a
    run is saved: exit 130, a file that loads, and --resume computes only the others."""
    path = tmp_path / "stopped.json"
    argv = [sys.executable, "-m", "core", "reproduce", "veegan-table1", "--seeds", "2", "--iterations", "300",
            "--workers", "2", "--out", str(path)]  # fmt: skip
    process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (path.exists() and load(path).runs):
            assert process.poll() is None and time.monotonic() < deadline, "no run was saved"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 130 and "--resume" in process.stderr.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
    done = len(load(path).runs)
    assert 1 <= done < 8 and not list(tmp_path.glob("*.tmp*"))
    resumed = subprocess.run([sys.executable, "-m", "core", "reproduce", "veegan-table1", "--resume", str(path),
                              "--workers", "2", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-500:]
    assert strict(resumed.stdout)["runs_done"] == 8 and len(load(path).runs) == 8


# ---- files and flags ----------------------------------------------------------------------------------------
def _tamper(data: dict, change: str) -> dict | str:
    run = data["runs"][0]
    edits = {
        "not a dict": lambda: [1, 2],
        "format": lambda: data | {"format": "minimax-explore-1"},
        "an extra field": lambda: data | {"command": "rm -rf /"},
        "an unknown table": lambda: data | {"table": "wgan-table9"},
        "seeds": lambda: data | {"seeds": 0},
        "seeds as text": lambda: data | {"seeds": "2"},
        "iterations": lambda: data | {"iterations": 10**9},
        "the protocol": lambda: data | {"protocol": data["protocol"] | {"GAN": {}}},
        "a run of no row": lambda: data | {"runs": [run | {"row": "ALI"}]},
        "a run's row a list": lambda: data | {"runs": [run | {"row": ["GAN"]}]},
        "a seed past the seeds": lambda: data | {"runs": [run | {"seed": 2}]},
        "a run twice": lambda: data | {"runs": [run, run]},
        "more modes than the ring": lambda: data | {"runs": [run | {"modes": 9}]},
        "a negative count": lambda: data | {"runs": [run | {"mode_counts": [-1, *run["mode_counts"][1:]]}]},
        "a count too few": lambda: data | {"runs": [run | {"mode_counts": run["mode_counts"][1:]}]},
        "an unknown outcome": lambda: data | {"runs": [run | {"outcome": "won"}]},
        "a diverged run with numbers": lambda: data | {"runs": [run | {"outcome": "diverged"}]},
        "a run's extra field": lambda: data | {"runs": [run | {"x": 1}]},
    }
    return edits[change]()


@pytest.mark.parametrize(
    "change",
    [
        "not a dict", "format", "an extra field", "an unknown table", "seeds", "seeds as text", "iterations",
        "the protocol", "a run of no row", "a run's row a list", "a seed past the seeds", "a run twice",
        "more modes than the ring", "a negative count", "a count too few", "an unknown outcome",
        "a diverged run with numbers", "a run's extra field",
    ],
)  # fmt: skip
def test_a_malformed_result_file_is_refused_with_one_line(change, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_tamper(filled().to_json(), change)))
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "pacgan-table1", "--resume", str(path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "--resume" in err, err


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"format": NaN}', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b""]
)
def test_a_file_that_is_not_strict_json_is_refused(content, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "pacgan-table1", "--resume", str(path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "--resume" in err, err


def test_a_file_past_the_size_bound_is_refused_unread(tmp_path, capsys, monkeypatch):
    path = tmp_path / "big.json"
    filled().save(path)
    monkeypatch.setattr("core.reproduce.MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "pacgan-table1", "--resume", str(path)])
    assert exit_.value.code == 2 and "larger than" in capsys.readouterr().err


def test_the_file_holds_what_to_json_writes_and_round_trips(tmp_path):
    result = filled(done=4)
    assert tuple(result.to_json()) == FILE_KEYS
    result.save(tmp_path / "r.json")
    again = load(tmp_path / "r.json")
    assert again.runs == result.runs and (again.name, again.seeds, again.iterations) == ("pacgan-table1", 2, 30)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["pacgan-table9"], "table"),
        ([], "table"),
        (["pacgan-table1", "--seeds", "0"], "--seeds"),
        (["pacgan-table1", "--seeds", "65"], "--seeds"),
        (["pacgan-table1", "--iterations", "0"], "--iterations"),
        (["pacgan-table1", "--iterations", "1e3"], "--iterations"),
        (["pacgan-table1", "--workers", "0"], "--workers"),
        (["pacgan-table1", "--lr-d", "1e-3"], "--lr-d"),
        (["pacgan-table1", "--resume", "missing.json"], "--resume"),
        (["pacgan-table1", "--out", "."], "--out"),
    ],
)
def test_bad_reproduce_flags_exit_2_with_one_line(argv, named, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and named in err, err
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(
    "argv, named",
    [
        (["veegan-table1"], "table"),
        (["pacgan-table1", "--seeds", "3"], "--seeds"),
        (["pacgan-table1", "--iterations", "31"], "--iterations"),
    ],
)
def test_flags_that_disagree_with_the_resumed_file_exit_2(argv, named, capsys, tmp_path):
    path = tmp_path / "r.json"
    filled().save(path)
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", *argv, "--resume", str(path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and named in err, err
