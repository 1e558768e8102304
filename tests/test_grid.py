"""core.grid and Theorem 1 on the grid: exact samples of p_data must look like p_data.

References not written here: the closed-form JSD of a mixture against half of its modes, a Monte Carlo JSD
from the exact densities, and SciPy's chi distribution for the width of a Gaussian mode."""

import math

import numpy as np
import pytest
import torch

from core.data import Mixture, line, ring
from core.grid import bandwidth, cell_size, data_mass, grid_edges, jsd, sample_mass
from core.metrics import mode_width
from core.theory import LOG4, value_function, value_report


def exact(mixture, n, seed=0):
    return mixture.sample(n, torch.Generator().manual_seed(seed)).numpy()


def half_ring() -> Mixture:
    full = ring()
    return Mixture(full.means[::2], full.stds[::2], full.weights[::2])


def test_exact_samples_give_theorem_1s_equilibrium():
    """A perfect G: JSD ~ 0, V(D*, G) ~ -log 4, D* ~ 1/2 wherever p_data has mass. (Comparing a smoothed p_g
    with an unsmoothed p_data gave JSD 0.438, V(D*, G) = -0.511 and D* from 0.05 to 0.93 here.)"""
    mixture = ring()
    edges = grid_edges(mixture, 100)
    report = value_report(np.full((100, 100), 0.5), exact(mixture, 100_000), mixture, edges)
    assert report["jsd"] < 0.02
    assert abs(report["value_d_star"] + LOG4) < 0.05
    p_mass = report["p_data"] * cell_size(edges)
    held = p_mass >= 1e-4 * p_mass.max()
    assert held.sum() > 300  # the eight modes' cells, not a handful
    assert np.abs(report["d_star"][held] - 0.5).max() < 0.05
    assert report["value_d"] == pytest.approx(-LOG4, abs=1e-9)  # D = 1/2 everywhere: V = log(1/2) + log(1/2)
    assert report["d_star_real"] == pytest.approx(0.5, abs=0.01) and report["d_star_fake"] == pytest.approx(
        0.5, abs=0.01
    )


def test_half_the_modes_gives_the_closed_form_jsd():
    """p = 8 equal modes, q = 4 of them (far apart): on q's modes p = 1/8, q = 1/4, m = 3/16; on the other
    four p = 1/8, q = 0, m = 1/16. JSD = 1/2 [1/2 log(2/3) + 1/2 log 2] + 1/2 log(4/3) = 3/4 log(4/3)."""
    closed_form = 0.75 * math.log(4 / 3)
    mixture = ring()
    edges = grid_edges(mixture, 100)
    samples = exact(half_ring(), 100_000)
    assert jsd(samples, mixture) == pytest.approx(closed_form, abs=0.02)
    report = value_report(np.full((100, 100), 0.5), samples, mixture, edges)
    assert report["jsd"] == pytest.approx(closed_form, abs=0.02)
    assert report["value_d_star"] == pytest.approx(-LOG4 + 2 * closed_form, abs=0.04)
    # D* = 1/3 on q's four modes (p = 1/8, q = 1/4) and 1 on the others: E_p[D*] = 1/2 (1/3) + 1/2 = 2/3,
    # E_q[D*] = 1/3
    assert report["d_star_real"] == pytest.approx(2 / 3, abs=0.02) and report["d_star_fake"] == pytest.approx(
        1 / 3, abs=0.02
    )


def test_no_discriminator_beats_d_star():
    mixture, rng = ring(), np.random.default_rng(3)
    edges = grid_edges(mixture, 60)
    for seed, samples in enumerate((exact(half_ring(), 3000), exact(mixture, 3000), rng.normal(size=(3000, 2)))):
        report = value_report(np.full((60, 60), 0.5), samples, mixture, edges)
        cell = cell_size(edges)
        for d in (rng.random((60, 60)), np.clip(report["d_star"] + 0.05 * rng.standard_normal((60, 60)), 0, 1)):
            assert value_function(d, report["p_data"], report["p_g"], cell) <= report["value_d_star"] + 1e-12, seed


def test_the_kernel_estimate_of_exact_samples_is_p_data_through_the_same_kernel():
    """E[KDE] = p * N(0, h^2): with many samples the two cell distributions agree, in 2-D and in 1-D."""
    for mixture, bins in ((ring(std=0.1), 80), (line(), 200)):
        edges = grid_edges(mixture, bins)
        p, q = data_mass(mixture, edges), sample_mass(exact(mixture, 200_000), edges)
        assert p.shape == q.shape == (bins,) * mixture.dim
        assert np.abs(p - q).sum() < 0.03  # total variation x 2
        assert bandwidth(edges) == pytest.approx((edges[0, -1] - edges[0, 0]) / bins)


def monte_carlo_jsd(p: Mixture, q: Mixture, n=200_000) -> float:
    """JSD = 1/2 E_p log(2p / (p + q)) + 1/2 E_q log(2q / (p + q)), from the exact densities."""
    xp, xq = exact(p, n, 1), exact(q, n, 2)
    term = lambda x, a, b: np.log(2 * a.density(x) / (a.density(x) + b.density(x))).mean()
    return 0.5 * term(xp, p, q) + 0.5 * term(xq, q, p)


def test_the_grid_cannot_see_modes_too_wide_but_mode_width_does():
    """Modes twice too wide: the grid's JSD stays near its noise floor while the true JSD is 0.17."""
    data, wide = ring(), ring(std=0.04)
    samples = exact(wide, 2500)
    true = monte_carlo_jsd(data, wide)
    assert true == pytest.approx(0.173, abs=0.01)
    assert jsd(samples, data) < 0.03 < true / 5  # what the docstring says: far below the truth
    assert mode_width(samples, data) == pytest.approx(2.0, abs=0.1)
    assert mode_width(exact(data, 2500), data) == pytest.approx(1.0, abs=0.05)
    assert math.isnan(mode_width(np.zeros((100, 2)), data))  # G still at the centre: no mode, no width
    strays = np.concatenate([samples, np.zeros((1500, 2))])  # 1,500 of 4,000 samples far from every mode
    assert mode_width(strays, data) == pytest.approx(2.0, abs=0.1)
    one_d = line(means=(-3, 0, 3), stds=(0.1, 0.2, 0.3), weights=(1, 1, 1))
    assert mode_width(exact(one_d, 20_000), one_d) == pytest.approx(1.0, abs=0.03)  # chi(1): median 0.674
