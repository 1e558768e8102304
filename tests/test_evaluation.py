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
from core.evaluation import fid, frechet_distance, inception_score, mixture_moments, precision_recall, sample_report

ROOT = Path(__file__).resolve().parents[1]


def exact(mixture, n=10_000, seed=1):
    return mixture.sample(n, torch.Generator().manual_seed(seed)).numpy()


@pytest.mark.parametrize("mixture", [ring(), grid()])
def test_exact_samples_score_as_p_data(mixture):
    report = sample_report(exact(mixture), mixture)
    assert report["fid"] < 0.02
    assert report["inception_score"] == pytest.approx(mixture.n_modes, rel=0.02)
    assert report["precision"] >= 0.95 and report["recall"] >= 0.95 and report["f1"] >= 0.95
    # Naeem et al. (2020), Lemma 1 and 2, for fakes drawn from p_data itself: E[density] = 1 and, with M = N,
    # E[coverage] = 1 - (N-1)...(N-k) / ((2N-1)...(2N-k)) = 0.875 for k = 3 and large N
    assert report["density"] == pytest.approx(1, abs=0.05) and report["coverage"] == pytest.approx(0.875, abs=0.02)
    assert report["modes_captured"] == mixture.n_modes


@pytest.mark.parametrize("mixture", [ring(), grid()])
def test_all_samples_on_one_mode(mixture):
    one = mixture.means[0] + mixture.stds[0] * np.random.default_rng(0).standard_normal((10_000, 2))
    report = sample_report(one, mixture)
    assert report["inception_score"] <= 1.05
    assert report["recall"] <= 1.5 / mixture.n_modes and report["precision"] >= 0.95
    assert report["coverage"] <= 1.5 / mixture.n_modes  # only the real balls of one mode hold a fake


def test_precision_recall_density_coverage_by_hand():
    """Four real points and three fakes on a line, k = 1 (no point lies on a ball's edge).

    real 0, 1, 4, 10: 1-NN radii 1, 1, 3, 6, so real balls [-1, 1], [0, 2], [1, 7], [4, 16]
    fake 1.5, 5.5, -5: 1-NN radii 4, 4, 6.5, so fake balls [-2.5, 5.5], [1.5, 9.5], [-11.5, 1.5]
    precision = fakes in some real ball: 1.5 (in [0, 2], [1, 7]), 5.5 (in [1, 7], [4, 16]); not -5   = 2/3
    recall    = reals in some fake ball: 0, 1, 4; not 10 (9.5 < 10)                                   = 3/4
    density   = real balls holding each fake, summed, over k M: (2 + 2 + 0) / (1 x 3)                  = 4/3
    coverage  = reals whose own ball holds a fake: 0 no (nearest fake 1.5 > 1), 1 yes (0.5 <= 1),
                4 yes (1.5 <= 3), 10 yes (4.5 <= 6)                                                    = 3/4
    F1 = 2 (2/3)(3/4) / (2/3 + 3/4) = 12/17. prdc 0.2 (the authors' code) gives the same four numbers.
    """
    on_line = lambda *xs: np.array([[x, 0.0] for x in xs])
    report = precision_recall(on_line(0, 1, 4, 10), on_line(1.5, 5.5, -5), k=1)
    expected = dict(precision=2 / 3, recall=3 / 4, f1=12 / 17, density=4 / 3, coverage=3 / 4)
    assert report == pytest.approx(expected, abs=1e-12)


def test_precision_recall_density_coverage_match_naeem_et_als_code():
    """N(0, I) against N(0.5 1, I) in 2-D, k = 3; the figures are prdc 0.2's (Naeem et al.'s released
    `compute_prdc`) on these very arrays, run once by hand: prdc is not a dependency."""
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) + 0.5
    reference = dict(precision=0.966, recall=0.974, density=0.9626666666666666, coverage=0.778)
    assert {k: v for k, v in precision_recall(real, fake, 3).items() if k != "f1"} == pytest.approx(reference)
    rng = np.random.default_rng(0)  # unequal sizes: 500 real points, 300 fakes
    real, fake = rng.standard_normal((500, 2)), rng.standard_normal((300, 2)) + 0.5
    reference = dict(precision=0.9633333333333334, recall=0.932, density=0.9733333333333333, coverage=0.628)
    assert {k: v for k, v in precision_recall(real, fake, 3).items() if k != "f1"} == pytest.approx(reference)


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


def test_inception_score_data_is_p_datas_own_score_which_a_generator_can_exceed():
    from core.data import custom

    mixture = custom([[-3, 0, 0.1, 1], [3, 0, 0.1, 3]])  # weights 1/4, 3/4: exp(H(w)) = 1.755
    p_data_score = math.exp(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))
    assert sample_report(exact(mixture), mixture)["inception_score_data"] == pytest.approx(p_data_score)
    # a generator that uses both modes equally, each sample confidently one mode: IS = exp(log 2) = 2
    uniform = mixture.means[np.arange(10_000) % 2] + 0.1 * np.random.default_rng(0).standard_normal((10_000, 2))
    report = sample_report(uniform, mixture)
    assert report["inception_score"] == pytest.approx(2, rel=1e-3) and report["inception_score"] > p_data_score
    assert "inception_score_max" not in report


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
    np.savez(tmp / "whole.npz", samples=np.zeros((50, 2)))
    (tmp / "truncated.npz").write_bytes((tmp / "whole.npz").read_bytes()[:100])  # a zip cut short
    np.savez(tmp / "unnamed.npz", np.zeros((50, 2)))  # no 'samples' array
    return [
        *("pickled.npy", "three.npy", "nan.npy", "empty.npy", "words.csv", "blank.csv", "samples.txt", "missing.npy"),
        *("truncated.npz", "unnamed.npz"),
    ]


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


def dense_precision_recall(real, fake, k):
    """The definitions with a full distance matrix (this module's code before issue 14): the reference."""
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist

    real_radii = cKDTree(real).query(real, k=k + 1)[0][:, k]
    fake_radii = cKDTree(fake).query(fake, k=k + 1)[0][:, k]
    in_real = (cdist(fake, real) <= real_radii[None]).sum(1)
    in_fake = (cdist(real, fake) <= fake_radii[None]).sum(1)
    precision, recall = float((in_real > 0).mean()), float((in_fake > 0).mean())
    return dict(
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0,
        density=float(in_real.sum() / (k * len(fake))),
        coverage=float((cKDTree(fake).query(real, k=1)[0] <= real_radii).mean()),
    )


@pytest.mark.parametrize("spacing", [1.0, 0.1, 1 / 3])
def test_precision_recall_equal_the_dense_definition_with_ties_and_copies(spacing):
    """Points on a lattice: many on a ball's very edge, many copies of one point (a collapsed generator):
    the neighbour queries give exactly the numbers of a full distance matrix, not approximately."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        n, m, k = (int(v) for v in (rng.integers(5, 80), rng.integers(5, 80), rng.integers(1, 5)))
        real, fake = rng.integers(0, 5, (n, 2)) * spacing, rng.integers(-1, 4, (m, 2)) * spacing
        if rng.random() < 0.3:
            fake[: m // 2] = fake[0]
        assert precision_recall(real, fake, k) == dense_precision_recall(real, fake, k)


def test_precision_recall_memory_grows_with_n_not_n_squared():
    """Issue 14: 10k rows took 606 MB through dense blocks of distances (100k did not finish in 400 s at
    3.5 GB). 20,000 reals and fakes, a third of the fakes one point: the memory Python and NumPy hold stays
    far below one 2,048 x 20,000 block of distances (328 MB)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((20_000, 2)), rng.standard_normal((20_000, 2)) + 0.5
    fake[:7000] = fake[0]
    tracemalloc.start()
    try:
        precision_recall(real, fake, 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6, f"{peak / 1e6:.0f} MB"


def test_evaluate_scores_a_seeded_subsample_above_its_maximum(tmp_path, capsys, monkeypatch):
    import core.evaluation

    x = exact(ring(), 3000)
    report = sample_report(x, ring(), max_samples=1000)
    assert (report["n"], report["n_used"]) == (3000, 1000) and report["mode_minimum"] == 8  # 1000 rows' minimum
    assert report == sample_report(x, ring(), max_samples=1000)  # seeded: the same numbers again
    assert sample_report(x, ring())["n_used"] == 3000
    monkeypatch.setattr(core.evaluation, "EVAL_MAX_SAMPLES", 1000)
    path = tmp_path / "many.npy"
    np.save(path, x)
    assert main(["evaluate", str(path)]) == 0
    assert "n_used               1000 (a seeded subsample: at most 1,000 rows are scored)" in capsys.readouterr().out


def test_the_jsd_in_chunks_is_the_grids():
    import core.evaluation
    from core.grid import jsd

    for n in (1, 999, 2500):
        x = exact(ring(), n) * 1.2
        chunked = core.evaluation.jsd(x, ring())
        core.evaluation.JSD_CHUNK, saved = 97, core.evaluation.JSD_CHUNK
        try:
            assert core.evaluation.jsd(x, ring()) == pytest.approx(chunked, rel=1e-9, abs=1e-12)
        finally:
            core.evaluation.JSD_CHUNK = saved
        assert chunked == pytest.approx(jsd(x, ring()), rel=1e-9, abs=1e-12)


def npy_header_only(path: Path, shape, descr="<f8", data=b""):
    """A .npy file whose header declares `shape` whatever data follows."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    path.write_bytes(header.getvalue() + data)


def hostile_files(tmp: Path) -> dict[str, str]:
    """Files of issue 14's fuzzing, each with the true reason `evaluate` must give."""
    import io
    import os
    import zipfile

    npy_header_only(tmp / "huge.npy", (10**12, 2))
    npy_header_only(tmp / "short.npy", (100, 2), data=np.zeros((10, 2)).tobytes())
    (tmp / "notzip.npz").write_bytes(b"hello, this is not a zip archive")
    np.savez(tmp / "nested.npz", config=np.array("[" * 30_000 + "]" * 30_000), samples=np.zeros((50, 2)))
    np.savez_compressed(tmp / "bigconfig.npz", config=np.array("x" * 1_000_000), samples=np.zeros((50, 2)))
    with zipfile.ZipFile(tmp / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:  # declares 16 TB of zeros
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 2)})
        archive.writestr("samples.npy", header.getvalue() + bytes(1 << 20))
    np.savez(tmp / "threecolumns.npz", samples=np.zeros((50, 3)))
    os.symlink("/dev/zero", tmp / "zero.npy")
    (tmp / "folder.npy").mkdir()
    np.save(tmp / "big.npy", np.full((50, 2), 1e300))
    (tmp / "longline.csv").write_text("1," + "1" * 5000 + "\n")
    return {
        "huge.npy": "declares 1,000,000,000,000 rows; at most 10,000,000 are read",
        "short.npy": "is truncated",
        "notzip.npz": "not a zip archive",
        "nested.npz": "the run's config is nested too deeply",
        "bigconfig.npz": "the run's config is longer than 65,536 characters",
        "bomb.npz": "declares 1,000,000,000,000 rows",
        "threecolumns.npz": "must be n x 1 or 2, got shape (50, 3)",
        "zero.npy": "is not a regular file but a device",
        "folder.npy": "is not a regular file but a directory",
        "big.npy": "values must be finite and at most 1e+09 in absolute value",
        "longline.csv": "line 1 is longer than 1,000 characters",
    }


def test_hostile_files_exit_2_with_one_true_line(tmp_path, capsys):
    for name, reason in hostile_files(tmp_path).items():
        try:
            code = main(["evaluate", str(tmp_path / name), "--json"])
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (name, err)
        assert f"{name}: {reason}" in err, (name, err)


@pytest.mark.timeout(120)
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path, capsys):
    """Issue 14: a FIFO named .csv blocked forever. If the code under test opens it anyway, a writer comes
    after 20 s and closes it at once, so such code fails on the message instead of hanging the suite."""
    import os
    import threading

    pipe = tmp_path / "samples.csv"
    os.mkfifo(pipe)
    done = threading.Event()

    def release():
        if not done.wait(20):
            os.close(os.open(pipe, os.O_WRONLY))  # blocks until the reader is there, then gives it EOF

    threading.Thread(target=release, daemon=True).start()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["evaluate", str(pipe)])
    finally:
        done.set()
    assert exit_.value.code == 2 and "samples.csv: is not a regular file but a named pipe" in capsys.readouterr().err


def test_evaluate_json_is_strict(tmp_path, capsys, monkeypatch):
    """`--json` printed `"fid": NaN`. Values beyond 1e9 are refused (above); a metric that still comes out
    non-finite is printed as null and named in `non_finite`."""
    import core.evaluation

    path = tmp_path / "exact.npy"
    np.save(path, exact(ring(), 500))
    real = core.evaluation.sample_report
    monkeypatch.setattr(core.evaluation, "sample_report", lambda *a, **k: real(*a, **k) | dict(fid=math.nan))
    assert main(["evaluate", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert report["fid"] is None and report["non_finite"] == ["fid"] and report["precision"] > 0.9


def test_a_1d_mixture_is_refused_by_evaluate(tmp_path, capsys):
    path = tmp_path / "exact.npy"
    np.save(path, exact(ring(), 500))
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(path), "--dataset", "line"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "argument --dataset: line is a 1-D mixture" in err, err


def test_read_run_checks_types_and_sizes_before_reading(tmp_path):
    """Issue 14: read_run returned whatever the archive held (a config that is a float, a list, a 50 MB
    string: 647 MB, 9.9 s)."""
    from core.export import read_run

    cases = {
        "float": (dict(config=np.array(1.5)), "the run's config is not a JSON object"),
        "list": (dict(config=np.array([1, 2])), "the run's config is not a JSON object"),
        "json list": (dict(config=np.array("[1, 2]")), "the run's config is not a JSON object"),
        "long": (dict(config=np.array("x" * 70_000)), "longer than 65,536 characters"),
        "deep": (dict(config=np.array('{"components": [[[[[0]]]]]}')), "nests deeper than 4 levels"),
        "digits": (dict(config=np.array('{"modes": ' + "9" * 5000 + "}")), "not a JSON object"),
        "text samples": (dict(samples=np.array([["a", "b"]] * 5)), "holds <U1 values, not numbers"),
        "3-D samples": (dict(samples=np.zeros((5, 2, 2))), "must be n x 1 or 2"),
        "no rows": (dict(samples=np.zeros((0, 2))), "is empty"),
    }
    for name, (arrays, reason) in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez_compressed(path, **{"samples": np.zeros((50, 2)), **arrays})
        with pytest.raises(ValueError, match=reason):
            read_run(path)
    path = tmp_path / "line.npz"  # the 1-D data set's samples are n x 1
    np.savez(path, config=np.array('{"dataset": "line"}'), samples=np.zeros((50, 1), dtype=np.float32))
    config, samples = read_run(path)
    assert config == {"dataset": "line"} and samples.shape == (50, 1)


def test_read_run_refuses_a_zip_directory_above_its_bound(tmp_path, monkeypatch):
    import core.export

    path = tmp_path / "many.npz"
    np.savez(path, samples=np.zeros((50, 2)), **{f"history/{i}": np.zeros(1) for i in range(200)})
    assert core.export.read_run(path)[1].shape == (50, 2)
    monkeypatch.setattr(core.export, "MAX_CENTRAL_DIRECTORY", 4096)
    with pytest.raises(ValueError, match="its zip directory takes"):
        core.export.read_run(path)


def test_fid_is_real_and_finite_for_degenerate_far_samples():
    """Found by tests/test_fuzz.py: two samples 2e9 apart (a singular covariance of 5e17) gave the matrix
    square root an imaginary part of 8, and `evaluate` a traceback. Against the 2 x 2 closed form
    tr (S1 S2)^(1/2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))."""
    x = np.array([[0.0, 1e9], [-1e9, 0.0]])
    mean, cov = mixture_moments(ring())
    s1 = np.cov(x, rowvar=False)
    root = math.sqrt(np.trace(s1 @ cov) + 2 * math.sqrt(max(np.linalg.det(s1), 0) * np.linalg.det(cov)))
    expected = ((x.mean(0) - mean) ** 2).sum() + np.trace(s1) + np.trace(cov) - 2 * root
    assert fid(x, ring()) == pytest.approx(expected, rel=1e-9)
