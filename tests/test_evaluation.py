"""The evaluation metrics against their known values: exact samples of p_data, a collapsed generator,
closed forms; and `python -m core evaluate` refusing bad files."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.cli import main
from core.data import grid, ring
from core.evaluation import evaluate, fid, frechet_distance, inception_score, mixture_moments

ROOT = Path(__file__).resolve().parents[1]


def exact(mixture, n=10_000, seed=1):
    return mixture.sample(n, torch.Generator().manual_seed(seed)).numpy()


@pytest.mark.parametrize("mixture", [ring(), grid()])
def test_exact_samples_score_as_p_data(mixture):
    report = evaluate(exact(mixture), mixture)
    assert report["fid"] < 0.02
    assert report["inception_score"] == pytest.approx(mixture.n_modes, rel=0.02)
    assert report["precision"] >= 0.95 and report["recall"] >= 0.95 and report["f1"] >= 0.95
    assert report["modes_captured"] == mixture.n_modes


@pytest.mark.parametrize("mixture", [ring(), grid()])
def test_all_samples_on_one_mode(mixture):
    one = mixture.means[0] + mixture.stds[0] * np.random.default_rng(0).standard_normal((10_000, 2))
    report = evaluate(one, mixture)
    assert report["inception_score"] <= 1.05
    assert report["recall"] <= 1.5 / mixture.n_modes and report["precision"] >= 0.95


def test_frechet_distance_of_two_gaussians_against_the_closed_form():
    # diagonal: ||mu1 - mu2||^2 + sum (s1 - s2)^2
    assert frechet_distance([0, 0], np.diag([4.0, 1.0]), [1, 2], np.diag([1.0, 9.0])) == pytest.approx(
        5 + (2 - 1) ** 2 + (1 - 3) ** 2
    )
    # any 2 x 2: tr (S1 S2)^(1/2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    s1, s2 = a @ a.T + 0.1 * np.eye(2), b @ b.T + 0.1 * np.eye(2)
    root = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    assert frechet_distance([1, 0], s1, [0, 0], s2) == pytest.approx(1 + np.trace(s1) + np.trace(s2) - 2 * root)


def test_mixture_moments_match_samples():
    mixture = grid()
    mean, cov = mixture_moments(mixture)
    x = exact(mixture, 200_000)
    assert np.allclose(mean, x.mean(0), atol=0.03) and np.allclose(cov, np.cov(x, rowvar=False), atol=0.05)
    assert fid(x, mixture) < 0.01


def test_inception_score_of_unequal_weights_uses_their_entropy():
    from core.data import custom

    mixture = custom([[-3, 0, 0.1, 1], [3, 0, 0.1, 3]])  # weights 1/4, 3/4
    expected = math.exp(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert inception_score(exact(mixture), mixture) == pytest.approx(expected, rel=0.01)


def test_evaluate_a_file_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "exact.csv"
    np.savetxt(path, exact(ring(), 2000), delimiter=",", header="x,y", comments="")
    assert main(["evaluate", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    keys = "n fid inception_score precision recall f1 modes_captured modes_total high_quality reverse_kl jsd"
    assert set(keys.split()) <= report.keys()
    # exact samples of p_data: every mode, 1 - e^(-4.5) of them within 3 std, JSD 0 up to the estimate's 0.01
    assert report["n"] == 2000 and report["modes_captured"] == report["modes_total"] == 8
    assert report["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01) and report["jsd"] < 0.01


def bad_files(tmp: Path):
    np.save(tmp / "pickled.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    np.save(tmp / "three.npy", np.zeros((5, 3)))
    np.save(tmp / "nan.npy", np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]))
    np.save(tmp / "empty.npy", np.zeros((0, 2)))
    (tmp / "words.csv").write_text("x,y\nhello,world\n")
    (tmp / "blank.csv").write_text("")
    (tmp / "samples.txt").write_text("1,2\n")
    return ["pickled.npy", "three.npy", "nan.npy", "empty.npy", "words.csv", "blank.csv", "samples.txt", "missing.npy"]


def test_bad_files_exit_2_with_one_line(tmp_path, capsys):
    for name in bad_files(tmp_path):
        with pytest.raises(SystemExit) as exit_:
            main(["evaluate", str(tmp_path / name)])
        out, err = capsys.readouterr()
        assert exit_.value.code == 2 and out == "" and len(err.strip().splitlines()) == 1, (name, err)
        assert name in err


@pytest.mark.slow
def test_a_pickled_file_is_refused_in_a_real_process(tmp_path):
    bad_files(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "core", "evaluate", str(tmp_path / "pickled.npy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr and "allow_pickle=False" in run.stderr


def test_a_run_archive_round_trips_without_pickle(tmp_path):
    from core.config import TrainConfig
    from core.export import read_run, run_archive

    samples = exact(ring(), 500)
    path = tmp_path / "run.npz"
    path.write_bytes(run_archive(TrainConfig(k=4), samples, {"iteration": np.arange(3.0)}))
    config, back = read_run(path)
    assert config["k"] == 4 and np.allclose(back, samples, atol=1e-6)
    with np.load(path, allow_pickle=False) as archive:
        assert list(archive["history/iteration"]) == [0, 1, 2]
    assert main(["evaluate", str(path), "--json"]) == 0  # a run archive is a sample file too
