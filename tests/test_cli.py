"""python -m core as a user runs it: JSON keys, saved samples, and one-line errors with status 2."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli import REPORT_KEYS, main

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--hidden", "16", "--depth", "1", "--batch-size", "32", "--eval-samples", "200", "--threads", "1"]


def cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_train_json_lines_and_saved_samples(tmp_path):
    out = tmp_path / "samples.npy"
    run = cli("train", "--steps", "30", "--eval-every", "10", "--json", "--save-samples", str(out), *FAST)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["step"] for r in lines] == [10, 20, 30, 30] and lines[-1]["final"] is True
    for record in lines:
        assert set(REPORT_KEYS) <= record.keys()
        assert record["modes_total"] == 8 and 0 <= record["d_real"] <= 1 and 0 <= record["jsd"] <= np.log(2) + 1e-9
    assert lines[-1]["config"]["hidden"] == 16 and lines[-1]["config"]["loss"] == "nonsaturating"
    samples = np.load(out, allow_pickle=False)
    assert samples.shape == (200, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()


def test_a_run_is_reproduced_from_the_shell(tmp_path):
    args = ("train", "--steps", "20", "--eval-every", "20", "--json", "--seed", "3", *FAST)
    first, second = cli(*args), cli(*args)
    strip = lambda out: [{k: v for k, v in json.loads(l).items() if k != "its_per_s"} for l in out.splitlines()]  # noqa
    assert strip(first.stdout) == strip(second.stdout)


def test_csv_samples_and_flags_override_the_preset(tmp_path):
    out = tmp_path / "s.csv"
    run = cli(
        "train", "--preset", "grid25", "--steps", "5", "--json", "--save-samples", str(out), "--loss", "lsgan", *FAST
    )
    assert run.returncode == 0, run.stderr
    final = json.loads(run.stdout.splitlines()[-1])
    assert final["modes_total"] == 25 and final["config"]["loss"] == "lsgan" and final["d_is_probability"] is False
    samples = np.loadtxt(out, delimiter=",", skiprows=1)
    assert samples.shape == (200, 2)


def test_human_readable_progress():
    run = cli("train", "--steps", "4", "--eval-every", "2", *FAST)
    assert run.returncode == 0
    assert run.stdout.count("modes ") == 2 and "JSD" in run.stdout and "done: 4 steps" in run.stdout


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--loss", "nope"], "--loss"),
        (["--k", "0"], "--k"),
        (["--k", "21"], "--k"),
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
    ],
)
def test_bad_flags_exit_2_with_one_line_naming_the_flag(args, flag, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *args])
    out, err = capsys.readouterr()
    assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert flag in err


def test_a_bad_flag_in_a_real_process_exits_2_without_traceback():
    run = cli("train", "--lr-g", "abc")
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.strip() == "python -m core train: error: argument --lr-g: expected float, got 'abc'"


def test_presets_are_listed():
    run = cli("presets")
    assert run.returncode == 0
    for name in (
        "ring8",
        "grid25",
        "minimax-saturates",
        "mode-collapse",
        "label-smoothing",
        "strong-discriminator",
        "wgan-gp",
    ):
        assert f"\n{name}\n" in "\n" + run.stdout


def test_divergence_is_reported_not_crashed():
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
    assert run.returncode == 1 and "diverged at step" in run.stderr and "Traceback" not in run.stderr


def test_remedy_flags_have_help_and_train(tmp_path):
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
