"""Seeds trained together: each seed is its single run (up to rounding), and the statistics are those of
the per-seed rows."""

import json
import math
import statistics

import pytest
import torch

from core.cli import main
from core.config import ConfigError, TrainConfig
from core.sweep import METRICS, Sweep, run_sweep
from core.training import GAN

SMALL = TrainConfig(hidden=32, depth=2, batch_size=64, eval_samples=500, k=2)


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp", "wgan"])
def test_seed_i_of_a_sweep_is_the_single_run_with_seed_i(loss):
    config = SMALL.replace(loss=loss, seed=5)
    sweep = Sweep(config, 3)
    singles = [GAN(config.replace(seed=s)) for s in sweep.seeds]
    for _ in range(3):
        sweep.train_iteration()
        for gan in singles:
            gan.train_iteration()
    for i, gan in enumerate(singles):
        for layer, (w, b) in enumerate(zip(sweep.G.weights, sweep.G.biases, strict=True)):
            # measured here: 2e-8 at most after 3 iterations (a batched product sums in another order)
            torch.testing.assert_close(w[i].T, gan.G[2 * layer].weight, rtol=0, atol=1e-7)
            torch.testing.assert_close(b[i, 0], gan.G[2 * layer].bias, rtol=0, atol=1e-7)
        assert sweep.last["loss_d"][i] == pytest.approx(gan.last["loss_d"], rel=0, abs=1e-6)


def test_the_summary_is_the_mean_and_spread_of_its_own_rows():
    result = run_sweep(SMALL, 2, steps=20, eval_every=10)
    rows = result.final()
    assert [r["seed"] for r in rows] == [0, 1] and list(result.curves["iteration"]) == [10, 20]
    for metric in METRICS:
        values = [r[metric] for r in rows]
        summary = result.summary()[metric]
        assert summary["mean"] == pytest.approx(statistics.fmean(values))
        assert summary["std"] == pytest.approx(statistics.stdev(values))
        assert summary["se"] == pytest.approx(statistics.stdev(values) / math.sqrt(2))
    assert result.curves["jsd"].shape == (2, 2)


def test_spectral_norm_is_refused_not_ignored():
    with pytest.raises(ConfigError):
        Sweep(SMALL.replace(spectral_norm=True), 2)


def test_sweep_from_the_command_line(capsys, keep_torch_threads):
    args = "sweep --seeds 2 --steps 10 --eval-every 5 --hidden 16 --depth 1 --eval-samples 200 --json --threads 1"
    assert main(args.split()) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["seeds"] == [0, 1] and len(report["rows"]) == 2 and set(METRICS) <= report["summary"].keys()
    jsd = [row["jsd"] for row in report["rows"]]
    assert report["summary"]["jsd"]["mean"] == pytest.approx(statistics.fmean(jsd))
