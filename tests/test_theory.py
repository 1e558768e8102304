"""core.theory against the paper's results and hand-computed values."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from core.data import line, ring
from core.metrics import grid_edges
from core.theory import (
    LOG4,
    fit_gaussian,
    generator_gradient,
    js_divergence,
    kernel_density,
    kl_divergence,
    optimal_discriminator,
    pure_nash_equilibria,
    saddle_path,
    value_function,
)

X = np.linspace(-20, 20, 8001)
CELL = X[1] - X[0]


def normal(mean, std):
    density = np.exp(-0.5 * ((X - mean) / std) ** 2)
    return density / (density.sum() * CELL)  # normalised on the grid, as Theorem 1 assumes


def test_optimal_discriminator_by_hand():
    assert np.allclose(optimal_discriminator([1.0, 3.0, 0.0, 0.0], [1.0, 1.0, 2.0, 0.0]), [0.5, 0.75, 0.0, 0.5])


@pytest.mark.parametrize("q", [normal(0, 1), normal(1.5, 0.5), 0.3 * normal(-2, 0.3) + 0.7 * normal(2, 1.0)])
def test_theorem_1_value_at_d_star_is_minus_log_4_plus_twice_jsd(q):
    p = 0.5 * normal(-1, 0.5) + 0.5 * normal(1.5, 0.7)
    d_star = optimal_discriminator(p, q)
    assert value_function(d_star, p, q, CELL) == pytest.approx(-LOG4 + 2 * js_divergence(p, q, CELL), abs=1e-9)
    for d in (np.full_like(X, 0.5), np.clip(d_star + 0.1, 0, 1), 1 / (1 + np.exp(-X))):  # no D does better
        assert value_function(d, p, q, CELL) <= value_function(d_star, p, q, CELL) + 1e-12


def test_value_is_minus_log_4_exactly_when_the_densities_agree():
    p = normal(0, 1)
    assert value_function(optimal_discriminator(p, p), p, p, CELL) == pytest.approx(-LOG4, abs=1e-9)


def test_kl_and_js_of_gaussians_against_closed_forms():
    # KL(N(0,1) || N(1,2^2)) = log 2 + (1 + 1)/8 - 1/2
    assert kl_divergence(normal(0, 1), normal(1, 2), CELL) == pytest.approx(math.log(2) + 2 / 8 - 0.5, abs=1e-6)
    far = js_divergence(normal(-4, 0.2), normal(4, 0.2), CELL)
    assert far == pytest.approx(math.log(2), abs=1e-6) and js_divergence(normal(0, 1), normal(0, 1), CELL) == 0


def test_generator_gradient_saturates_for_minimax_only():
    d = np.array([0.001, 0.5, 0.999])
    assert np.allclose(generator_gradient(d, "minimax"), d)
    assert np.allclose(generator_gradient(d, "nonsaturating"), 1 - d)
    assert generator_gradient(0.001, "minimax") < 0.01 * generator_gradient(0.001, "nonsaturating")


def test_saddle_gradient_descent_ascent():
    path = saddle_path("x2-y2", (1.0, 1.0), 0.1, 50)
    assert path.shape == (51, 2) and np.allclose(path[1], [0.8, 0.8]) and np.abs(path[-1]).max() < 1e-4
    spiral = saddle_path("xy", (1.0, 0.0), 0.1, 100, "simultaneous")
    radius = np.linalg.norm(spiral, axis=1)
    assert radius[-1] == pytest.approx(math.sqrt(1 + 0.01) ** 100, rel=1e-9)  # outward spiral, exactly
    cycle = saddle_path("xy", (1.0, 0.0), 0.1, 2000, "alternating")
    invariant = cycle[:, 0] ** 2 + cycle[:, 1] ** 2 - 0.1 * cycle[:, 0] * cycle[:, 1]  # conserved by the update
    assert np.allclose(invariant, invariant[0]) and np.linalg.norm(cycle, axis=1).max() < 1.1


def test_pure_nash_equilibria_of_the_seeds_example():
    # defect / cooperate: the unique equilibrium pays (5, 5), though both would get 8 by cooperating
    payoff_1 = [[5, 10], [0, 8]]
    payoff_2 = np.transpose(payoff_1)
    assert pure_nash_equilibria(payoff_1, payoff_2) == [(0, 0)]
    assert pure_nash_equilibria([[1, 0], [0, 1]], [[1, 0], [0, 1]]) == [(0, 0), (1, 1)]  # coordination
    assert pure_nash_equilibria([[1, -1], [-1, 1]], [[-1, 1], [1, -1]]) == []  # matching pennies


def test_fit_gaussian_mean_seeking_and_mode_seeking():
    p = 0.5 * normal(-2, 0.4) + 0.5 * normal(2, 0.4)
    mean, std = fit_gaussian(X, p, "kl")
    assert mean == pytest.approx(0, abs=1e-6) and std == pytest.approx(math.sqrt(4 + 0.16), rel=1e-4)
    mean, std = fit_gaussian(X, p, "reverse_kl")
    assert abs(mean) == pytest.approx(2, abs=0.02) and std == pytest.approx(0.4, rel=0.05)
    # against SciPy's jensenshannon (squared: the JSD in nats) minimised by brute force over a (mean, std) grid,
    # on |x| <= 10 where no density is subnormal (SciPy's (p + q) / 2 would round such a value to 0)
    mean, std = fit_gaussian(X, p, "js")
    inside = np.abs(X) <= 10
    jsd = lambda m, s: jensenshannon(p[inside], normal(m, s)[inside]) ** 2
    means, stds = np.linspace(0, 3, 31), np.linspace(0.2, 3, 57)  # p is symmetric: mean >= 0 is enough
    grid = np.array([[jsd(m, s) for s in stds] for m in means])
    i, j = np.unravel_index(grid.argmin(), grid.shape)
    assert abs(mean) == pytest.approx(means[i], abs=0.1) and std == pytest.approx(stds[j], abs=0.05)
    assert jsd(mean, std) <= grid.min() + 1e-9  # no grid point does better
    assert (abs(mean), std) == pytest.approx((2, 0.4), abs=0.01)  # with modes this far apart: on one mode


def test_kernel_density_is_a_density_close_to_p_data():
    mixture = ring(std=0.2)
    samples = mixture.sample(5000, __import__("torch").Generator().manual_seed(0)).numpy()
    edges = grid_edges(mixture, 80)
    estimate = kernel_density(samples, edges)
    cell = (edges[0, 1] - edges[0, 0]) ** 2
    assert estimate.sum() * cell == pytest.approx(1, abs=0.02)  # less the kernel's tails beyond the square
    centres = [(e[1:] + e[:-1]) / 2 for e in edges]
    xs, ys = np.meshgrid(*centres, indexing="ij")
    truth = mixture.density(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(80, 80)
    assert js_divergence(truth, kernel_density(samples, edges, bandwidth=0.1), cell) < 0.05
    # Scott's rule assumes one Gaussian: on eight tight modes it over-smooths, as its docstring says
    assert js_divergence(truth, estimate, cell) > js_divergence(truth, kernel_density(samples, edges, 0.1), cell)
    one_d = line()
    assert kernel_density(one_d.sample(2000).numpy(), grid_edges(one_d, 200)).shape == (200,)


def test_theorem_1_on_a_live_run():
    from core.config import TrainConfig
    from core.runner import Runner

    with Runner(TrainConfig(hidden=32, depth=2, batch_size=64), threads=1) as runner:
        snap = runner.step(200, wait=True)
    h = snap.eval_history
    assert np.all(h["value_d"] <= h["value_d_star"] + 1e-9) and np.all(h["value_d_star"] >= -LOG4 - 1e-9)
    edges = np.stack([np.linspace(lo, hi, snap.surface.shape[0] + 1) for lo, hi in snap.bounds])
    from core.theory import value_report

    report = value_report(snap.surface, snap.p_data_mass, snap.samples, edges)
    assert report["value_d_star"] == pytest.approx(-LOG4 + 2 * report["jsd"], abs=1e-9)
    assert report["value_d"] <= report["value_d_star"]


def test_theorem_1_on_random_normalised_densities():
    rng = np.random.default_rng(7)
    cell = 0.01
    for _ in range(20):
        p, q = rng.random(500), rng.random(500) * (rng.random(500) > 0.3)  # q vanishes on part of the support
        p, q = p / (p.sum() * cell), q / (q.sum() * cell)
        d_star = optimal_discriminator(p, q)
        v_star = value_function(d_star, p, q, cell)
        assert v_star == pytest.approx(-LOG4 + 2 * js_divergence(p, q, cell), abs=1e-9)
        for _ in range(5):
            assert value_function(rng.random(500), p, q, cell) <= v_star
    same = rng.random(50)
    assert np.all(optimal_discriminator(same, same) == 0.5)


def test_generator_gradient_matches_autograd():
    import torch

    from core.losses import LOSSES

    logits = torch.linspace(-6, 6, 25, requires_grad=True)
    for loss in ("minimax", "nonsaturating"):
        (grad,) = torch.autograd.grad(LOSSES[loss].g(logits) * len(logits), logits)  # per-sample gradient
        expected = generator_gradient(torch.sigmoid(logits).detach().numpy(), loss)
        assert np.allclose(np.abs(grad.numpy()), expected, atol=1e-6)


def test_paths_converge_spiral_or_cycle_as_theory_says():
    for update in ("simultaneous", "alternating"):
        assert np.abs(saddle_path("x2-y2", (1.5, -1.0), 0.05, 400, update)[-1]).max() < 1e-6
    norms = np.linalg.norm(saddle_path("xy", (0.3, 0.8), 0.2, 100, "simultaneous"), axis=1)
    assert np.all(np.diff(norms) > 0)  # outward every single step
    bounded = np.linalg.norm(saddle_path("xy", (0.3, 0.8), 0.2, 5000, "alternating"), axis=1)
    assert bounded.max() < 1.2 * bounded[0]
