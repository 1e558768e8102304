import numpy as np
import pytest
import torch

from core.data import DATASETS, Mixture, custom, grid, grid_masses, line, ring


def riemann(mixture: Mixture, cell: float) -> float:
    axes = [np.arange(lo + cell / 2, hi, cell) for lo, hi in mixture.bounds()]
    if mixture.dim == 1:
        return float(mixture.density(axes[0][:, None]).sum() * cell)
    xs, ys = np.meshgrid(*axes)
    pts = np.stack([xs.ravel(), ys.ravel()], 1)
    return float(sum(mixture.density(chunk).sum() for chunk in np.array_split(pts, 20)) * cell * cell)


@pytest.mark.parametrize(
    "mixture, cell",
    [(ring(), 0.004), (grid(), 0.01), (line(), 0.01), (custom([[0, 0, 0.3, 1], [1.5, -1, 0.1, 3]]), 0.01)],
)
def test_density_integrates_to_one(mixture, cell):
    assert riemann(mixture, cell) == pytest.approx(1.0, abs=1e-3)


def test_standard_benchmarks():
    r, g = ring(), grid()
    assert r.n_modes == 8 and np.allclose(np.linalg.norm(r.means, axis=1), 2.0) and np.allclose(r.stds, 0.02)
    assert g.n_modes == 25 and g.means.min() == -4 and g.means.max() == 4 and np.allclose(g.stds, 0.05)
    assert DATASETS["grid"][1] == dict(modes=25, spacing=2.0, std=0.05)


def test_sampling_matches_means_stds_and_weights():
    mixture = custom([[-2, 0, 0.1, 1], [2, 1, 0.3, 3]])
    x = mixture.sample(200_000, torch.Generator().manual_seed(0)).numpy().astype(np.float64)
    left = x[:, 0] < 0
    assert left.mean() == pytest.approx(0.25, abs=0.005)
    for part, mean, std in ((x[left], (-2, 0), 0.1), (x[~left], (2, 1), 0.3)):
        assert np.allclose(part.mean(0), mean, atol=5 * std / np.sqrt(len(part)))
        assert np.allclose(part.std(0), std, rtol=0.01)


def test_sampling_is_reproducible_from_a_seed():
    a = ring().sample(100, torch.Generator().manual_seed(7))
    b = ring().sample(100, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_cell_masses_agree_with_the_density():
    mixture = custom([[0.2, -0.1, 0.4, 1], [-0.5, 0.6, 0.25, 2]])
    edges = np.stack([np.linspace(-3, 3, 121)] * 2)
    masses = grid_masses(mixture.means, mixture.stds, mixture.weights, edges)
    centres = (edges[0, 1:] + edges[0, :-1]) / 2
    xs, ys = np.meshgrid(centres, centres, indexing="ij")
    approx = mixture.density(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(120, 120) * 0.05**2
    assert masses.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.abs(masses - approx).max() < 1e-4


@pytest.mark.parametrize(
    "bad",
    [
        [[0, 0, -0.1, 1]],  # negative std
        [[0, 0, 0.1, 0]],  # weights sum to 0
        [[0, np.nan, 0.1, 1]],  # not finite
        [],
    ],
)
def test_custom_mixtures_are_validated(bad):
    with pytest.raises(ValueError):
        custom(bad)
