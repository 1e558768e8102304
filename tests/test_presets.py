"""Every claim a lecture preset's text makes, checked over its seeds 0-3.

One seed's run is one draw, and not even a portable one: another CPU rounds the same seed differently and
a GAN amplifies the last bits into another run. So the texts state what happens over seeds 0-3 (measured
here) and each claim checks its direction with a margin. The seeds train together as one batched sweep
(core.sweep: each seed starts as its single run and agrees with it to rounding, so the runs have the same
distribution; four seeds take 0.6 of four single runs' time here). What a text says of the first
iterations on screen (where the samples go, what switching the loss does) is checked on single runs of
seeds 0-3 with one torch thread, as the dashboard trains.

The claims train thousands of iterations (slow tier); the fast tier checks that every preset has a claim
here and that every preset trains."""

from pathlib import Path

import numpy as np
import pytest
import torch

from core.config import validate
from core.explore import run_cell
from core.metrics import generator_metrics, mode_minimum
from core.papers import TABLES
from core.presets import PRESETS, REMEDY_PRESETS
from core.reproduce import load, run_record
from core.snapshot import Probe
from core.training import GAN
from tests.conftest import one_torch_thread

SEEDS = 4
COMMITTED = Path(__file__).resolve().parents[1] / "dashboard" / "papers" / "minimax-best.json"
CLAIMS = {}


def claim(name):
    def register(check):
        CLAIMS[name] = check
        return check

    return register


def late(result, metric, start):
    """Each seed's mean of `metric` over the evaluations from iteration `start` on."""
    return result.curves[metric][result.curves["iteration"] >= start].mean(0)


def final(result, metric):
    return result.curves[metric][-1]


def radius(gan):
    """The median distance from the centre of G's evaluation samples (the ring's radius is 2)."""
    probe = Probe(gan)
    samples = generator_metrics(gan, probe.z_eval, probe.real_eval, with_jsd=False)[1]
    return float(np.median(np.hypot(*samples.T)))


@claim("ring8")
def ring8_drops_modes_and_d_stays_above_one_half(sweeps):
    config = PRESETS["ring8"].config
    run = sweeps(config, SEEDS, config.steps, 250)
    modes, d_real = final(run, "modes_captured"), late(run, "d_real", config.steps // 2)
    assert modes.mean() >= 4 and modes.max() >= 6, modes  # 4.75 on average here, 2 to 7
    assert np.median(final(run, "high_quality")) >= 0.8  # 0.86: most samples on the modes G holds
    # D* = p_data / (p_data + p_g) -> 1/2 as p_g -> p_data: the seed holding the most modes has D(x) nearer
    # 1/2 (0.58 here) than the one holding the fewest (0.70)
    best, worst = modes.argmax(), modes.argmin()
    assert 0.5 < d_real[best] < min(0.65, d_real[worst]), d_real
    assert (d_real > 0.5).all()  # G does not reach p_data: D(x) stays above the 1/2 line in every seed
    # "gaining and losing some as they go": in every seed the count of modes held falls at least once
    assert (np.diff(run.curves["modes_captured"], axis=0) < 0).any(0).all()
    # "leave the centre": the median distance of G's samples from it, 0.07 to 0.16 at the start, 1.4 to 2.3
    # by iteration 50 here (single runs, as on screen)
    for seed in range(SEEDS):
        gan = GAN(config.replace(seed=seed))
        before = radius(gan)
        with one_torch_thread():
            for _ in range(50):
                gan.train_iteration()
        assert before < 0.3 and radius(gan) > 1.0, (seed, before, radius(gan))


@claim("label-smoothing")
def label_smoothing_moves_the_equilibrium_to_one_minus_eps_over_two(sweeps):
    config = PRESETS["label-smoothing"].config
    assert config.replace(label_smoothing=0) == PRESETS["ring8"].config  # the same runs but for eps
    smoothed = sweeps(config, SEEDS, config.steps, 250)
    plain = sweeps(PRESETS["ring8"].config, SEEDS, config.steps, 250)
    d_smoothed, d_plain = late(smoothed, "d_real", config.steps // 2), late(plain, "d_real", config.steps // 2)
    # D* = (1 - eps) p_data / (p_data + p_g): 0.4 where p_g = p_data with eps = 0.2, instead of 1/2
    assert d_plain.mean() - d_smoothed.mean() > 0.05, (d_plain, d_smoothed)  # 0.09 lower here
    best = final(smoothed, "jsd").argmin()
    assert d_smoothed[best] == pytest.approx((1 - config.label_smoothing) / 2, abs=0.06)  # 0.44 here
    assert smoothed.curves["d_real"].max() < 1 - config.label_smoothing  # never reaches its target 0.8


@claim("minimax-saturates")
def minimax_saturates_against_a_confident_discriminator(sweeps):
    config = PRESETS["minimax-saturates"].config
    for seed in range(SEEDS):
        minimax_then_nonsaturating(config.replace(seed=seed))
    stalled = sweeps(config, SEEDS, 500, 500)
    moving = sweeps(config.replace(loss="nonsaturating"), SEEDS, 500, 500)
    # after 500 iterations: the minimax samples mostly off the modes, the non-saturating ones on them
    assert final(stalled, "high_quality").mean() < final(moving, "high_quality").mean() - 0.2  # 0.08 vs 0.55
    assert final(stalled, "jsd").mean() > final(moving, "jsd").mean() + 0.05  # 0.61 against 0.51 here


SWITCH = 100  # "switch the loss to non-saturating around iteration 100"


def minimax_then_nonsaturating(config):
    """One seed as on screen (a single run, one thread): 100 iterations of the paper's loss, then the loss
    switched live to non-saturating (as the sidebar does, GAN.set_live) for 500 more."""
    gan = GAN(config)
    probe = Probe(gan)
    lo, hi = probe.bounds[:, 0], probe.bounds[:, 1]
    z = gan.latent(1024, torch.Generator().manual_seed(5))

    def look():
        metrics, samples = generator_metrics(gan, probe.z_eval, probe.real_eval, with_jsd=False)
        return metrics, ((samples < lo) | (samples > hi)).any(1).mean(), samples

    ratio, grad_before, outside = [], [], []
    with one_torch_thread():
        while gan.iteration < SWITCH:
            gan.train_iteration()
            # same weights, same z: the paper's loss against the non-saturating one
            ratio.append(gan.generator_grad_norm("minimax", z) / gan.generator_grad_norm("nonsaturating", z))
            grad_before.append(gan.last["grad_norm_g"])
            if gan.iteration == 10:
                # "D(G(z)) is under 0.01" by iteration 10 (0.002 to 0.003 here)
                assert look()[0].d_fake < 0.01, config.seed
            if gan.iteration == 30:
                # "in one streak, out at the ring": median distance from the centre 1.7 to 2.2 here, and the
                # samples' directions aligned (mean resultant length of their angles 0.996 or more)
                samples = look()[2]
                angles = np.arctan2(samples[:, 1], samples[:, 0])
                assert np.median(np.hypot(*samples.T)) > 1.4 and np.abs(np.exp(1j * angles).mean()) > 0.9
            if gan.iteration % 10 == 0:
                outside.append(look()[1])
        # "under a tenth" at iteration 10 (0.003 to 0.01 here) and in the median over iterations 10-100
        # (0.04 to 0.07 here; single iterations reach 0.5)
        assert ratio[9] < 0.1 and np.median(ratio[9:]) < 0.1, (config.seed, ratio[9], np.median(ratio[9:]))
        assert max(outside) > 0.05, outside  # "some past the edge of the view": 12% to 51% at most here
        gan.set_live(config.replace(loss="nonsaturating"))
        grad_after, after = [], []
        while gan.iteration < SWITCH + 500:
            gan.train_iteration()
            grad_after.append(gan.last["grad_norm_g"])
            if gan.iteration % 10 == 0:
                metrics, out, _ = look()
                after.append((gan.iteration - SWITCH, metrics, out))
    # "from about 1 to about 100": medians 1.2 to 1.8 before (iterations 10-100), 60 to 190 after here
    assert np.median(grad_before[9:]) < 5 and np.median(grad_after) > 30, (grad_before, grad_after)
    # "within 50 iterations back in view and on a mode": in view by +10, over half of high quality by +30 here
    assert min(out for t, _, out in after if t <= 50) < 0.01
    assert max(m.high_quality for t, m, _ in after if t <= 50) > 0.5
    assert max(m.modes_captured for _, m, _ in after) <= 2  # "one mode only": 1 at every evaluation here


@claim("mode-collapse")
def mode_collapse_keeps_quality_without_diversity(sweeps):
    config = PRESETS["mode-collapse"].config
    run = sweeps(config, SEEDS, config.steps, 500)
    # medians over seeds (ring8's seeds hold 5.3 modes on average): few modes, most samples on them
    assert np.median(final(run, "modes_captured")) <= 4  # 3 here (2 to 4)
    assert np.median(final(run, "high_quality")) >= 0.6  # 0.75
    assert np.median(final(run, "reverse_kl")) >= 0.6  # 1.17


@claim("grid25")
def grid25_drops_most_modes(sweeps):
    config = PRESETS["grid25"].config
    assert (config.modes, config.spacing, config.std) == (25, 2.0, 0.05)
    run = sweeps(config, SEEDS, config.steps, 1000)
    modes = final(run, "modes_captured")
    assert modes.max() < 13, modes  # 7 to 11 of the 25 here
    assert final(run, "high_quality").min() > 0.5  # 0.64 to 0.77


@claim("strong-discriminator")
def strong_discriminator_keeps_d_real_and_d_fake_apart(sweeps):
    config = PRESETS["strong-discriminator"].config
    strong, usual = sweeps(config, SEEDS, 2000, 250), sweeps(config.replace(k=1), SEEDS, 2000, 250)
    gap = lambda run: late(run, "d_real", 1000) - late(run, "d_fake", 1000)
    assert gap(strong).mean() > gap(usual).mean() + 0.1  # 0.47 against 0.31 over the second half here
    assert final(strong, "modes_captured").max() <= 5  # "a few modes": 2 to 4 of eight here
    # "no more than with k = 1": 3.25 on average either way here (k = 1: 0 to 5)
    assert final(strong, "modes_captured").mean() <= final(usual, "modes_captured").mean() + 0.5


@claim("wgan-gp")
def wgan_gp_finds_every_mode_with_balanced_mass(sweeps):
    config = PRESETS["wgan-gp"].config
    run = sweeps(config, SEEDS, config.steps, 1000)
    # three seeds of four here: all eight modes, reverse KL 0.04-0.06; seed 1 has found none by 4,000
    assert np.median(final(run, "modes_captured")) == 8 and np.median(final(run, "reverse_kl")) < 0.1
    assert np.median(final(run, "high_quality")) < 0.6  # 0.42: the high-quality share climbs slowly
    d = run.curves["d_real"]
    assert d.max() > 1 or d.min() < 0  # a critic's score, not a probability: it leaves [0, 1] (2.3 here)


def pacgan_runs(name: str) -> list[dict]:
    """Seeds 0-3 of a pacgan preset as `python -m core reproduce minimax-best` trains them (core.explore.run_cell,
    one torch thread), beside the committed 10-seed result's runs of the same seeds."""
    config = PRESETS[name].config
    dataset = config.dataset
    assert config == TABLES["minimax-best"].config("Minimax", dataset, seed=0)
    committed = load(COMMITTED)
    runs = []
    for seed in range(SEEDS):
        with one_torch_thread():
            report = run_cell(config.replace(seed=seed))
        run = run_record(committed.table, ("Minimax", dataset, seed), report, config.eval_samples)
        mine = committed.runs["Minimax", dataset, seed]
        # the same run as the committed one, up to another CPU's rounding
        assert abs(run["high_quality"] - mine["high_quality"]) < 0.1 and abs(run["modes"] - mine["modes"]) <= 2
        runs.append(run | dict(ours=sum(c >= mode_minimum(config.eval_samples) for c in run["mode_counts"])))
    return runs


def average_and_g(name: str, until: int) -> dict[int, tuple[int, int]]:
    """Seed 0 of a pacgan preset every 1,000 iterations: (modes of the average shown, modes of G itself)."""
    with one_torch_thread():
        gan = GAN(PRESETS[name].config)
        probe, seen = Probe(gan), {}
        while gan.iteration < until:
            gan.advance()
            if gan.iteration % 1000 == 0:
                shown, _ = generator_metrics(gan, probe.z_eval, probe.real_eval, with_jsd=False)
                average, gan.g_average = gan.g_average, None  # G itself, as with beta 0
                own, _ = generator_metrics(gan, probe.z_eval, probe.real_eval, with_jsd=False)
                gan.g_average = average
                seen[gan.iteration] = (shown.modes_captured, own.modes_captured)
    return seen


@claim("pacgan-ring")
def pacgan_ring_holds_every_mode_with_little_reverse_kl_and_as_many_high_quality_samples(sweeps):
    seen = average_and_g("pacgan-ring", 12000)  # the average trails G: none up to 7,000, G seven by 2,000 here
    assert all(seen[i][0] == 0 for i in range(1000, 8000, 1000)) and seen[2000][1] >= 7
    assert all(seen[i][0] == 8 for i in range(9000, 13000, 1000))
    runs = pacgan_runs("pacgan-ring")
    # all eight modes at the end in every seed, by our stricter rule too (>= 20 of 2,500); KL 0.0009-0.0038 here
    assert all(r["modes"] == r["ours"] == 8 for r in runs), runs
    assert max(r["reverse_kl"] for r in runs) < 0.02  # PacGAN's best: 0.07
    hq = np.mean([r["high_quality"] for r in runs])
    assert hq > 0.96, hq  # 97.8 % over seeds 0-3 here (98.1 % over 0-9); PacGAN: 98.2 % (GAN), 97.7 % (PacGAN3)


@claim("pacgan-grid")
def pacgan_grid_holds_every_mode_with_more_high_quality_samples(sweeps):
    seen = average_and_g("pacgan-grid", 12000)  # at 6,000: 7 against G's 18 here
    assert seen[6000][0] + 5 < seen[6000][1] and all(seen[i][0] >= seen[i][1] for i in range(8000, 13000, 1000))
    runs = pacgan_runs("pacgan-grid")
    assert all(r["modes"] == 25 for r in runs), runs  # PacGAN4: 24.8
    hq = np.mean([r["high_quality"] for r in runs])
    assert hq > 0.94, hq  # PacGAN's best: 94.8 %; 95.9 % over seeds 0-3 here (95.4 % over 0-9)
    assert np.median([r["reverse_kl"] for r in runs]) < 0.02  # PacGAN4: 0.04; 0.005-0.007 here


def test_the_pacgan_presets_texts_quote_the_committed_result():
    """The figures a pacgan preset's text gives for seeds 0-9 are the committed file's (dashboard/papers/), and its
    settings are the ones the text names."""
    result = load(COMMITTED)
    assert result.seeds == 10 and len(result.runs) == len(result.keys())
    cells = result.cells()
    ring, grid = PRESETS["pacgan-ring"].watch, PRESETS["pacgan-grid"].watch
    assert cells["Minimax", "ring", "modes"].mean == 8 and "all eight modes in every seed" in ring
    assert f"{cells['Minimax', 'ring', 'high_quality'].mean:.1f}% of its samples" in ring
    assert f"reverse KL {cells['Minimax', 'ring', 'reverse_kl'].mean:.3f}" in ring
    assert cells["Minimax", "grid", "modes"].mean == 25 and "all 25 modes in every seed" in grid
    assert f"{cells['Minimax', 'grid', 'high_quality'].mean:.1f}% of its samples" in grid
    assert f"reverse KL {cells['Minimax', 'grid', 'reverse_kl'].mean:.3f}" in grid
    kl = sorted(r["reverse_kl"] for r in result.runs.values() if r["dataset"] == "grid")
    assert sum(k < 0.01 for k in kl) == 9 and f"{kl[9]:.2f} in the tenth" in grid
    for name, text in (("pacgan-ring", ring), ("pacgan-grid", grid)):
        config = PRESETS[name].config
        assert f"averaged with beta {config.g_ema:g}" in text and (config.loss, config.pack) == ("hinge", 2)
    assert PRESETS["pacgan-ring"].config.lr_d == 2e-4 and "lr_d 2e-4" in ring


def test_every_lecture_preset_has_its_claim_checked():
    assert CLAIMS.keys() == PRESETS.keys() - REMEDY_PRESETS.keys()


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_valid_and_trains(name):
    """The fast tier's smoke run: each preset (remedies included) builds, trains and is evaluated."""
    config = PRESETS[name].config
    assert validate(config) == config and PRESETS[name].watch.strip()
    gan = GAN(config.replace(eval_samples=500))
    for _ in range(3):
        gan.train_iteration()
    assert gan.finite(weights=True) is None and (gan.iteration, gan.d_steps) == (3, 3 * config.k)
    probe = Probe(gan)
    metrics, samples = generator_metrics(gan, probe.z_eval, probe.real_eval)
    assert samples.shape == (500, 2) and metrics.modes_total == config.modes
    assert metrics.d_is_probability == gan.loss.probability


# Longest first, and ring8's runs with label smoothing, whose control they are (one test: one cache)
RUNS = [("pacgan-ring",), ("pacgan-grid",), ("wgan-gp",), ("ring8", "label-smoothing"), ("strong-discriminator",),
        ("grid25",), ("minimax-saturates",), ("mode-collapse",)]  # fmt: skip


def test_every_lecture_preset_has_its_claim_checked_in_a_run():
    assert sorted(n for names in RUNS for n in names) == sorted(CLAIMS)


@pytest.mark.slow
@pytest.mark.parametrize("names", RUNS, ids="+".join)
def test_preset_claims(names, sweeps):
    for name in names:
        CLAIMS[name](sweeps)
