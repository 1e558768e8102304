import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from core.data import grid, ring
from core.grid import discrete_jsd, jsd
from core.metrics import MODE_MIN_SAMPLES, MODE_RULES, mode_minimum, mode_statistics


def exact(mixture, n=2500, seed=0):
    return mixture.sample(n, torch.Generator().manual_seed(seed)).numpy()


@pytest.mark.parametrize("mixture", [ring(), grid()])
def test_exact_samples_cover_every_mode(mixture):
    stats = mode_statistics(exact(mixture), mixture)
    assert stats.modes_captured == mixture.n_modes
    assert stats.reverse_kl < 0.02
    # the distance of a 2-D isotropic Gaussian sample from its mean is Rayleigh: P(r <= 3s) = 1 - e^(-9/2)
    big = mode_statistics(exact(mixture, n=40_000), mixture)
    assert big.high_quality == pytest.approx(1 - math.exp(-4.5), abs=3 * math.sqrt(0.0111 / 40_000))
    assert stats.high_quality >= 0.98


def test_high_quality_of_exact_samples_in_one_dimension():
    from core.data import line

    mixture = line(means=(-3, 0, 3), stds=(0.1, 0.2, 0.3), weights=(1, 1, 1))
    stats = mode_statistics(exact(mixture, n=40_000), mixture)
    assert stats.high_quality == pytest.approx(math.erf(3 / math.sqrt(2)), abs=0.0015)  # 0.9973


def test_all_samples_on_one_mode():
    mixture = ring()
    samples = mixture.means[3] + 0.01 * np.random.default_rng(0).standard_normal((2500, 2))
    stats = mode_statistics(samples, mixture)
    assert stats.modes_captured == 1
    assert stats.counts[3] == 2500 and stats.high_quality == 1.0
    assert stats.reverse_kl == pytest.approx(math.log(8))  # KL(delta_3 || uniform over 8)


def test_samples_far_from_every_mode_are_not_high_quality():
    mixture = ring()
    stats = mode_statistics(np.zeros((2500, 2)), mixture)  # the ring's centre
    assert stats.high_quality == 0 and stats.modes_captured == 0
    assert stats.reverse_kl == pytest.approx(math.log(8))  # the worst single-mode value


def test_capture_threshold_follows_the_published_benchmarks():
    assert MODE_MIN_SAMPLES == 20 and mode_minimum(2500) == 20 and mode_minimum(5000) == 40
    mixture = ring()
    on_mode = lambda k, n: np.repeat(mixture.means[k : k + 1], n, 0)
    samples = np.concatenate([on_mode(0, 2461), on_mode(1, 20), on_mode(2, 19)])
    assert mode_statistics(samples, mixture).modes_captured == 2


def test_mode_rules_ours_and_pacgans_released_code():
    # 2,500 samples: 2,494 on mode 0, 5 on mode 1, and one halfway to mode 2 (nearest mode 2, 50 stds away)
    mixture = ring()
    on_mode = lambda k, n: np.repeat(mixture.means[k : k + 1], n, 0)
    samples = np.concatenate([on_mode(0, 2494), on_mode(1, 5), mixture.means[2:3] / 2])
    assert MODE_RULES["minimax"].minimum(2500) == 20 and MODE_RULES["pacgan"].minimum(2500) == 1
    assert mode_statistics(samples, mixture).modes_captured == 1  # ours is the default: 5 < 20
    assert mode_statistics(samples, mixture, rule="minimax").modes_captured == 1
    assert mode_statistics(samples, mixture, rule="pacgan").modes_captured == 2  # one sample is enough...
    assert mode_statistics(samples, mixture, rule="pacgan").counts[2] == 0  # ...if it is of high quality


def test_discrete_jsd_against_scipy():
    rng = np.random.default_rng(1)
    p, q = rng.random(50), rng.random(50)
    p, q = p / p.sum(), q / q.sum()
    assert discrete_jsd(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-9)
    assert discrete_jsd(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(math.log(2))
    assert discrete_jsd(p, p) == 0.0


@pytest.mark.parametrize("mixture", [ring(), grid()])
def test_jsd_of_exact_samples_is_near_zero_and_of_a_collapse_is_large(mixture):
    assert jsd(exact(mixture), mixture) < 0.02
    collapsed = mixture.means[0] + mixture.stds[0] * np.random.default_rng(0).standard_normal((2500, 2))
    # all mass on one of K equal modes: ~0.50 nats for K = 8, ~0.61 for K = 25 (closed form below)
    assert jsd(collapsed, mixture) > 0.4
    assert jsd(np.full((2500, 2), 40.0), mixture) == pytest.approx(math.log(2), abs=1e-6)


def test_jsd_of_one_mode_out_of_k_matches_the_closed_form():
    # p uniform on K separated modes, q all on mode 0, m = (p + q) / 2:
    # JSD = 1/2 [ (1/K) log((1/K) / m_0) + (K-1)/K log 2 ] + 1/2 log(1 / m_0),  m_0 = (1/K + 1) / 2
    mixture = ring()
    samples = exact(mixture, 20000)
    one = samples[np.linalg.norm(samples - mixture.means[0], axis=1) < 0.2]
    k = 8
    expected = 0.5 * ((1 / k) * math.log((1 / k) / ((1 / k + 1) / 2)) + (k - 1) / k * math.log(2)) + 0.5 * math.log(
        1 / ((1 / k + 1) / 2)
    )
    assert jsd(one, mixture) == pytest.approx(expected, abs=0.02)
