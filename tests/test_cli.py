"""python -m core as a user runs it: JSON keys, saved samples, and one-line errors with status 2.

Each command runs in this process through core.cli.main (what `python -m core` calls); one test runs a real
process, for what only a process shows: the exit status and no traceback."""

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from core.cli import REPORT_KEYS, main
from core.config import TrainConfig
from core.data import mixture_for
from core.export import run_archive, run_config
from core.presets import PRESETS
from core.training import GAN

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--hidden", "16", "--depth", "1", "--batch-size", "32", "--eval-samples", "200", "--threads", "1"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, keep_torch_threads):
    """`python -m core ARGS` in this process: its exit status and what it printed."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def test_train_json_lines_and_saved_samples(cli, tmp_path):
    out = tmp_path / "samples.npy"
    run = cli("train", "--steps", "30", "--eval-every", "10", "--json", "--save-samples", str(out), *FAST)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["iteration"] for r in lines] == [10, 20, 30, 30] and lines[-1]["final"] is True
    for record in lines:
        assert set(REPORT_KEYS) <= record.keys()
        assert record["modes_total"] == 8 and 0 <= record["d_real"] <= 1 and 0 <= record["jsd"] <= np.log(2) + 1e-9
    final = lines[-1]["config"]
    assert final["g_hidden"] == final["d_hidden"] == 16 and final["loss"] == "nonsaturating" and "hidden" not in final
    samples = np.load(out, allow_pickle=False)
    assert samples.shape == (200, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()


def test_a_run_is_reproduced_from_its_flags(cli, tmp_path):
    args = ("train", "--steps", "20", "--eval-every", "20", "--json", "--seed", "3", *FAST)
    first, second = cli(*args), cli(*args)
    strip = lambda out: [{k: v for k, v in json.loads(l).items() if k != "its_per_s"} for l in out.splitlines()]  # noqa
    assert strip(first.stdout) == strip(second.stdout)


def test_csv_samples_and_flags_override_the_preset(cli, tmp_path):
    out = tmp_path / "s.csv"
    run = cli(
        "train", "--preset", "grid25", "--steps", "5", "--json", "--save-samples", str(out), "--loss", "lsgan", *FAST
    )
    assert run.returncode == 0, run.stderr
    final = json.loads(run.stdout.splitlines()[-1])
    assert final["modes_total"] == 25 and final["config"]["loss"] == "lsgan" and final["d_is_probability"] is False
    samples = np.loadtxt(out, delimiter=",", skiprows=1)
    assert samples.shape == (200, 2)


def test_g_steps_flag_trains_that_many_generator_updates_per_iteration(cli):
    run = cli("train", "--steps", "3", "--eval-every", "3", "--json", "--g-steps", "2", *FAST)
    assert run.returncode == 0, run.stderr
    final = json.loads(run.stdout.splitlines()[-1])
    assert final["config"]["g_steps"] == 2
    gan = GAN(run_config(final["config"]))  # the same run in this process (the CLI left torch at --threads 1)
    for _ in range(3):
        gan.train_iteration()
    assert (gan.d_steps, gan.g_steps) == (3, 6) and gan.last["loss_g"] == final["loss_g"]


def test_human_readable_progress(cli):
    run = cli("train", "--steps", "4", "--eval-every", "2", *FAST)
    assert run.returncode == 0
    assert run.stdout.count("modes ") == 2 and "JSD" in run.stdout and "done: 4 iterations" in run.stdout


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--loss", "nope"], "--loss"),
        (["--k", "0"], "--k"),
        (["--k", "21"], "--k"),
        (["--g-steps", "0"], "--g-steps"),
        (["--g-steps", "11"], "--g-steps"),
        (["--std", "-1"], "--std"),
        (["--lr-g", "abc"], "--lr-g"),
        (["--batch-size", "2.5"], "--batch-size"),
        (["--label-smoothing", "0.7"], "--label-smoothing"),
        (["--loss", "wgan", "--label-smoothing", "0.1"], "--label-smoothing"),
        (["--dataset", "grid", "--modes", "10"], "--modes"),
        (["--save-samples", "out.txt"], "--save-samples"),
        (["--preset", "nope"], "--preset"),
        (["--threads", "0"], "--threads"),
        (["--components", "1,2,3"], "--components"),
        (["--dataset", "custom", "--components", "0,0,-1,1"], "--components"),
        (["--frobnicate"], "--frobnicate"),
        (["--pack", "5"], "--pack"),
        (["--unrolled", "11"], "--unrolled"),
        (["--feature-matching", "2"], "--feature-matching"),
        (["--historical-averaging", "-0.1"], "--historical-averaging"),
        (["--minibatch-kind", "cosine"], "--minibatch-kind"),
        # settings the config would ignore: said, not silently dropped
        (["--clip", "0.1"], "--clip"),
        (["--loss", "wgan", "--gp-lambda", "5"], "--gp-lambda"),
        (["--dataset", "grid", "--radius", "3"], "--radius"),
        (["--spacing", "3"], "--spacing"),
        (["--dataset", "custom", "--components", "0,0,0.1,1", "--std", "0.1"], "--std"),
        (["--minibatch-kind", "stddev"], "--minibatch-kind"),
    ],
)
def test_bad_flags_exit_2_with_one_line_naming_the_flag(args, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *args])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert flag in err


@pytest.mark.slow
def test_a_bad_flag_in_a_real_process_exits_2_without_traceback():
    run = subprocess.run(
        [sys.executable, "-m", "core", "train", "--lr-g", "abc"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.strip() == "python -m core train: error: argument --lr-g: expected float, got 'abc'"


def test_presets_are_listed(cli):
    run = cli("presets")
    assert run.returncode == 0
    for name, preset in PRESETS.items():  # each name on its own line, then what to watch
        assert f"{name}\n    {preset.watch}\n" in run.stdout
    assert run.stdout.count("\n    ") == len(PRESETS)


def test_divergence_is_reported_not_crashed(cli):
    run = cli(
        "train",
        "--optimizer",
        "sgd",
        "--lr-d",
        "500",
        "--lr-g",
        "500",
        "--steps",
        "300",
        "--hidden",
        "32",
        "--depth",
        "2",
        "--batch-size",
        "64",
        "--threads",
        "1",
    )
    assert run.returncode == 1 and "diverged at iteration" in run.stderr and "Traceback" not in run.stderr


def test_a_weight_past_its_bound_is_divergence_in_the_cli_too(cli, monkeypatch):
    """The runner checks the weights with every frame; the CLI with every evaluation. With the bound lowered
    below the initial weights, the first evaluation (step 2) must stop the run, naming the weight."""
    monkeypatch.setattr("core.training.WEIGHT_BOUND", 1e-3)
    run = cli("train", *FAST, "--steps", "5", "--eval-every", "2")
    assert run.returncode == 1 and run.stdout == "", run
    assert run.stderr.startswith("diverged at iteration 2: ") and "weight" in run.stderr and "> 0.001" in run.stderr


def test_remedy_flags_have_help_and_train(cli, tmp_path):
    help_text = cli("train", "--help").stdout
    for flag, paper in (
        ("--feature-matching W", "Salimans"),
        ("--minibatch-discrimination", "Salimans"),
        ("--historical-averaging L", "Salimans"),
        ("--unrolled K", "Metz"),
        ("--pack M", "PacGAN"),
    ):
        assert "\n  " + flag in help_text
        assert paper in " ".join(help_text.split("\n  " + flag, 1)[1].split()[:12])  # its help names the paper
    run = cli(
        "train",
        "--steps",
        "3",
        "--eval-every",
        "3",
        "--json",
        "--feature-matching",
        "0.5",
        "--minibatch-discrimination",
        "--minibatch-kind",
        "stddev",
        "--historical-averaging",
        "0.01",
        "--unrolled",
        "2",
        "--pack",
        "2",
        *FAST,
    )
    assert run.returncode == 0, run.stderr
    config = json.loads(run.stdout.splitlines()[-1])["config"]
    assert (
        config["feature_matching"],
        config["minibatch_discrimination"],
        config["minibatch_kind"],
        config["historical_averaging"],
        config["unrolled"],
        config["pack"],
    ) == (0.5, True, "stddev", 0.01, 2, 2)


TEN = tuple((3 * np.cos(a), 3 * np.sin(a), 0.05, 1.0) for a in 2 * np.pi * np.arange(10) / 10)


def test_evaluate_scores_a_run_against_its_own_mixture(cli, tmp_path):
    config = TrainConfig().replace(dataset="custom", components=TEN)
    samples = mixture_for(config).sample(2500, torch.Generator().manual_seed(1)).numpy()  # not the real set's seed
    path = tmp_path / "ten.npz"
    path.write_bytes(run_archive(config, samples))
    run = cli("evaluate", str(path), "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["mixture"] == {"dataset": "custom", "modes": 10, "source": "the run's config"}
    assert report["modes_total"] == report["modes_captured"] == 10 and report["jsd"] < 0.02
    assert "mixture              custom, 10 modes (the run's config)\n" in cli("evaluate", str(path)).stdout
    # any data flag, --preset included, replaces the stored mixture; a file without a config gets the default
    for flags, source, modes in ((["--dataset", "grid"], "flags", 25), (["--preset", "ring8"], "flags", 8)):
        report = json.loads(cli("evaluate", str(path), "--json", *flags).stdout)
        assert report["mixture"] == {"dataset": flags[1][:4], "modes": modes, "source": source}
        assert report["modes_total"] == modes
    np.save(tmp_path / "ten.npy", samples)
    report = json.loads(cli("evaluate", str(tmp_path / "ten.npy"), "--json").stdout)
    assert report["mixture"] == {"dataset": "ring", "modes": 8, "source": "default"}


@pytest.mark.parametrize(
    "stored, named",
    [
        ('{"frobnicate": 1}', "frobnicate: is not a setting"),
        ('{"dataset": "grid", "modes": 10}', "modes: a grid needs a square number"),
        ('{"std": -1}', "std: must be from"),
        ('{"dataset": "custom", "components": [[0, 0, 1]]}', "components"),
        ('{"modes": "ten"}', "modes: expected int"),
        ('{"dataset": []}', "dataset: expected str, got a JSON list"),
        ("[1, 2]", "not a JSON object"),
        ("{not json", "not a JSON object"),
    ],
)
def test_a_bad_stored_config_exits_2_with_one_line_naming_it(cli, tmp_path, stored, named):
    path = tmp_path / "bad.npz"
    np.savez(path, config=np.array(stored), samples=np.zeros((50, 2), dtype=np.float32))
    run = cli("evaluate", str(path))
    assert run.returncode == 2 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "bad.npz" in run.stderr and named in run.stderr and "Traceback" not in run.stderr


def test_evaluate_mode_rule_flag_says_which_rule_counted(cli, tmp_path):
    mixture = mixture_for(TrainConfig())
    on_mode = np.concatenate([np.repeat(mixture.means[:1], 2495, 0), np.repeat(mixture.means[1:2], 5, 0)])
    samples = on_mode + 0.002 * np.random.default_rng(0).standard_normal((2500, 2))  # 3 stds of a mode: 0.06
    path = tmp_path / "five.npy"
    np.save(path, samples)
    for rule, captured, minimum in (("minimax", 1, 20), ("pacgan", 2, 1)):
        report = json.loads(cli("evaluate", str(path), "--json", "--mode-rule", rule).stdout)
        assert (report["modes_captured"], report["mode_rule"], report["mode_minimum"]) == (captured, rule, minimum)
    assert json.loads(cli("evaluate", str(path), "--json").stdout)["mode_rule"] == "minimax"  # the default
    text = cli("evaluate", str(path), "--mode-rule", "pacgan").stdout
    assert "mode_rule            pacgan: at least 1 high-quality sample" in text
    assert "--mode-rule {minimax,pacgan}" in cli("evaluate", "--help").stdout
    run = cli("evaluate", str(path), "--mode-rule", "veegan")
    assert run.returncode == 2 and "--mode-rule" in run.stderr and len(run.stderr.strip().splitlines()) == 1


TINY = ["--steps", "2", "--hidden", "8", "--depth", "1", "--batch-size", "16", "--eval-samples", "100"]


@pytest.mark.parametrize(
    "args, named",
    [
        (["train", *TINY, "--threads", "2147483648"], "argument --threads: expected an integer from 1 to"),
        (["train", *TINY, "--threads", "١٢"], "argument --threads: expected an integer from 1 to"),
        (["train", *TINY, "--threads", "9" * 5000], "argument --threads: expected an integer from 1 to"),
        (["sweep", *TINY, "--threads", "1", "--seeds", "65"], "argument --seeds: expected an integer from 1 to 64"),
        (["train", *TINY, "--threads", "1", "--components", "0,0,0.1,1"], "argument --components: is read only"),
        (["train", *TINY, "--threads", "1", "--optimizer", "sgd", "--beta1", "0.9"], "argument --beta1: is Adam's"),
        (["train", *TINY, "--threads", "1", "--optimizer", "sgd", "--beta2", "0.9"], "argument --beta2: is Adam's"),
        (["sweep", *TINY, "--threads", "1", "--seeds", "1", "--components", "0,0,0.1,1"], "argument --components"),
        (["evaluate", "EXACT", "--components", "0,0,0.1,1"], "argument --components: is read only"),
        (["evaluate", "EXACT", "--neighbours", "1000000000"], "argument --neighbours: expected an integer from 1 to"),
        # found by the slow fuzzer: evaluate's --seed is read outside a config, and 2^64 overflowed torch's seed
        (["evaluate", "EXACT", "--seed", "1.8446744073709552e+19"], "argument --seed: must be from 0 to"),
        (["evaluate", "EXACT", "--dataset", "grid", "--radius", "3"], "argument --radius: is read only"),
    ],
)
def test_flags_that_overflowed_or_were_ignored_exit_2_with_one_line(cli, tmp_path, args, named):
    """Issue 14 §4: --threads 2^31 was a torch traceback, --seeds 1000 reached 4.5 GB, --components without
    --dataset custom and --beta1/--beta2 with sgd were ignored silently."""
    exact = tmp_path / "exact.npy"
    np.save(exact, mixture_for(TrainConfig()).sample(200, torch.Generator().manual_seed(1)).numpy())
    run = cli(*[str(exact) if arg == "EXACT" else arg for arg in args])
    assert run.returncode == 2 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert named in run.stderr


def test_custom_weights_of_1e308_exit_2_naming_components(cli):
    """Issue 14 §4: weights whose sum overflows were a traceback from torch.multinomial; core.config's
    validation of custom components refuses them."""
    run = cli("train", *TINY, "--threads", "1", "--dataset", "custom", "--components", "0,0,0.1,1e308;1,1,0.1,1e308")
    assert run.returncode == 2 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "argument --components" in run.stderr


def test_save_paths_are_checked_before_training(cli, tmp_path):
    """Issue 14 §4: an unwritable --save-samples or --save-run was discovered only after all training, as a
    traceback. Now: exit 2 naming the flag, before a single step (nothing on stdout)."""
    (tmp_path / "a file").write_text("")
    (tmp_path / "folder.npz").mkdir()
    for name, path, reason in (
        ("--save-samples", tmp_path / "a file" / "out.npy", "is not a folder"),
        ("--save-run", tmp_path / "a file" / "deeper" / "run.npz", "is not a folder"),
        ("--save-run", tmp_path / "folder.npz", "it exists and is not a regular file"),
    ):
        run = cli("train", *TINY, "--threads", "1", "--eval-every", "1", name, str(path))
        assert run.returncode == 2 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert f"argument {name}: cannot write" in run.stderr and reason in run.stderr
    # a writable path in a folder that does not exist yet: made, and nothing left behind by the check
    out = tmp_path / "new" / "samples.csv"
    assert cli("train", *TINY, "--threads", "1", "--save-samples", str(out)).returncode == 0 and out.is_file()
    assert (
        cli("train", *TINY, "--threads", "1", "--lr-g", "-1", "--save-samples", str(tmp_path / "x.npy")).returncode == 2
    )
    assert not (tmp_path / "x.npy").exists()


def test_save_run_keeps_a_bounded_evenly_spaced_history(cli, tmp_path, monkeypatch):
    """Issue 14 §4: --eval-every 1 kept every report (0.75 KB each). With --save-run they are kept in a
    core.history.BoundedHistory of MAX_SAVED_EVALUATIONS rows, evenly spaced over the run."""
    import core.cli

    monkeypatch.setattr(core.cli, "MAX_SAVED_EVALUATIONS", 8)
    path = tmp_path / "run.npz"
    args = ["--steps", "40", "--eval-every", "1", "--save-run", str(path)]
    assert cli("train", *TINY, "--threads", "1", *args).returncode == 0
    with np.load(path, allow_pickle=False) as archive:
        steps = archive["eval/iteration"]
        assert set(REPORT_KEYS) <= {name.removeprefix("eval/") for name in archive.files}
    assert len(steps) <= 8 and steps[0] == 1 and steps[-1] >= 30 and len(set(np.diff(steps))) == 1, steps


def test_reports_are_not_kept_without_save_run(capsys, keep_torch_threads):
    """Issue 14 §4: without --save-run nothing needs the past reports. The memory that core/cli.py's own
    lines hold at the last of 200 evaluations is that of one report, not 200 (~0.6 KB each)."""
    import io
    import tracemalloc

    import core.cli

    held = []

    class Out(io.TextIOBase):  # keeps nothing it is given
        def write(self, text):
            if text.startswith("iteration 200/"):
                snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, core.cli.__file__)])
                held.append(sum(stat.size for stat in snapshot.statistics("filename")))
            return len(text)

    config = TrainConfig().replace(
        steps=200, eval_every=1, hidden=8, depth=1, batch_size=16, eval_samples=100, grid_size=10
    )
    tracemalloc.start()
    try:
        assert core.cli.train(config, json_lines=False, save_samples=None, out=Out()) == 0
    finally:
        tracemalloc.stop()
    assert len(held) == 1 and held[0] < 20_000, held


def test_error_lines_clip_long_values(cli, tmp_path):
    """Issue 14 §4: error lines echoed a 5,000-character value whole."""
    for args in (
        ["train", "--loss", "x" * 5000],
        ["train", "--lr-g", "y" * 5000],
        ["train", "--components", "z" * 5000],
        ["train", "--save-samples", "w" * 5000 + ".txt"],
        ["train", "--frobnicate" + "v" * 5000],
        ["evaluate", "u" * 5000 + ".npy"],
        ["train", "--lr-g", "1\n2\n3"],
    ):
        run = cli(*args)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr[:300]
        assert len(run.stderr) < 300 and ("…" in run.stderr or "\\n" in run.stderr), run.stderr


def test_json_output_is_strict(cli, monkeypatch):
    """A non-finite number in a report is printed as null and named in `non_finite`, never as NaN."""
    import core.cli

    real = core.cli.generator_metrics
    monkeypatch.setattr(
        core.cli,
        "generator_metrics",
        lambda *a, **k: (
            real(*a, **k)[0].__class__(**{**real(*a, **k)[0].__dict__, "mode_width": float("nan")}),
            real(*a, **k)[1],
        ),
    )
    run = cli("train", *TINY, "--threads", "1", "--json")
    assert run.returncode == 0, run.stderr
    for line in run.stdout.splitlines():
        report = json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
        assert report["mode_width"] is None and report["non_finite"] == ["mode_width"]


def test_the_cli_trains_on_painted_points_and_refuses_them_elsewhere(cli):
    run = cli("train", "--dataset", "painted", "--points", "0,0;0.1,0;0.2,0;2,2;2.1,2.1", "--steps", "20",
              "--eval-every", "20", "--threads", "1")  # fmt: skip
    assert run.returncode in (0, None) and "iteration 20/20" in run.stdout
    assert re.search(r"modes [0-2]/2 ", run.stdout)  # the two strokes are the two modes counted
    refused = cli("train", "--points", "0,0;1,1", "--steps", "1")
    assert refused.returncode == 2 and "--points" in refused.stderr and "--dataset painted" in refused.stderr
