"""core.theory against the paper's results and hand-computed values."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from core.theory import (
    LOG4,
    fit_gaussian,
    generator_gradient,
    js_divergence,
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


def test_kl_is_infinite_where_p_has_mass_and_q_has_none():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 0.0])
    assert kl_divergence(p, q, 1.0) == math.inf  # p = 0.5 > 0 = q on the second cell
    assert kl_divergence(q, p, 1.0) == pytest.approx(math.log(2))  # 1 log(1 / 0.5), and 0 log 0 = 0
    # m = (0.75, 0.25, 0): KL(p || m) = 1/2 log(4/3), KL(q || m) = log(4/3), so JSD = 3/4 log(4/3), finite
    assert js_divergence(p, q, 1.0) == pytest.approx(0.75 * math.log(4 / 3))
    # a subnormal p is an underflowed tail and counts as 0: (5e-324 + 0) / 2 rounds to 0, yet the JSD is 0
    tail, none = np.array([1.0, 5e-324]), np.array([1.0, 0.0])
    assert kl_divergence(tail, none, 1.0) == 0 and js_divergence(tail, none, 1.0) == 0


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


def test_theorem_1_on_a_live_run():
    from core.config import TrainConfig
    from core.data import mixture_for
    from core.grid import grid_edges
    from core.runner import Runner
    from core.theory import value_report

    with Runner(TrainConfig().replace(hidden=32, depth=2, batch_size=64), threads=1) as runner:
        snap = runner.advance(200, wait=True)
    h = snap.eval_history
    recorded = np.isfinite(h["value_d_star"])
    assert recorded[-1]  # the frame where stepping stopped has a fresh surface
    assert np.all(h["value_d"][recorded] <= h["value_d_star"][recorded] + 1e-9)
    assert np.all(h["value_d_star"][recorded] >= -LOG4 - 1e-9)
    mixture = mixture_for(snap.config)
    assert np.array_equal(snap.edges, grid_edges(mixture, snap.config.grid_size))  # one grid, on the snapshot
    report = value_report(snap.surface, snap.samples, mixture, snap.edges)
    assert report["value_d_star"] == pytest.approx(-LOG4 + 2 * report["jsd"], abs=1e-9)
    assert report["value_d"] <= report["value_d_star"]
    assert h["value_d_star"][-1] == pytest.approx(report["value_d_star"], abs=1e-12)


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
