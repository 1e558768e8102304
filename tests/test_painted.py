"""Painted data (issue 16 §3, GAN Lab's "draw your own data"): the points drawn on the board become the data set,
each spread by a brush; the metrics that count modes count the modes fitted by clustering (a stroke is a mode).
Checked against hand-computed clusters, and through the config, the CLI, the URL and a running run."""

import numpy as np
import pytest
import torch

from core.config import MAX_POINTS, ConfigError, TrainConfig
from core.data import BRUSH, LINK, mixture_for, painted
from core.metrics import mode_statistics
from core.runner import Runner
from dashboard.controls import read_url, url_params

STROKES = ((0.0, 0.0), (0.1, 0.0), (0.2, 0.0), (2.0, 2.0), (2.1, 2.1))


def test_each_stroke_is_one_mode_fitted_by_hand():
    mixture = painted(STROKES)
    assert mixture.n_modes == 5 and (mixture.stds == BRUSH).all()  # the data: every point, spread by the brush
    modes = mixture.modal
    assert modes.n_modes == 2
    # stroke 1: mean (0.1, 0); squared distances 0.01, 0, 0.01 -> per axis 0.01 / 3 / 2; plus the brush
    np.testing.assert_allclose(modes.means, [[0.1, 0.0], [2.05, 2.05]])
    np.testing.assert_allclose(modes.stds, [np.sqrt(0.02 / 3 / 2 + BRUSH**2), np.sqrt(0.005 / 2 + BRUSH**2)])
    np.testing.assert_allclose(modes.weights, [0.6, 0.4])


def test_points_farther_apart_than_the_link_are_separate_modes():
    assert painted(((0, 0), (LINK * 0.99, 0))).modal.n_modes == 1
    assert painted(((0, 0), (LINK * 1.01, 0))).modal.n_modes == 2


def test_sampling_draws_painted_points_plus_the_brush():
    mixture = painted(STROKES)
    x = mixture.sample(10_000, torch.Generator().manual_seed(0)).numpy()
    nearest = np.sqrt(((x[:, None] - np.array(STROKES)[None]) ** 2).sum(-1)).min(1)
    assert nearest.max() < 5 * BRUSH  # a 2-D normal past 5 sigma: p = 4e-6 a draw
    assert abs(np.median(nearest) - 0.0) < 1.2 * BRUSH  # near the points, not between them


def test_the_metrics_count_the_fitted_modes():
    mixture = painted(STROKES)
    on_points = np.array(STROKES * 20)
    stats = mode_statistics(on_points, mixture)
    assert stats.modes_captured == 2 and stats.high_quality == 1.0
    one_stroke = np.array(STROKES[:3] * 30)
    assert mode_statistics(one_stroke, mixture).modes_captured == 1


def test_the_config_bounds_painted_data():
    config = TrainConfig().replace(dataset="painted", points=STROKES)
    assert mixture_for(config).modal.n_modes == 2
    for bad in (dict(points=((0, 0),)), dict(points=((0, 0),) * (MAX_POINTS + 1)), dict(points=((1e3, 0), (0, 0)))):
        with pytest.raises(ConfigError) as error:
            TrainConfig().replace(dataset="painted", **bad)
        assert error.value.field == "points"


def test_a_link_carries_painted_data_and_reads_it_back():
    config = TrainConfig().replace(dataset="painted", points=STROKES)
    params = url_params(config)
    assert params == {"dataset": "painted", "points": "0,0;0.1,0;0.2,0;2,2;2.1,2.1"}
    back, notes = read_url(params)
    assert notes == [] and back.points == config.points and back.dataset == "painted"
    assert "points" not in url_params(config.replace(dataset="ring"))  # unread, so not in the link


def test_painting_keeps_g_and_d(no_thread_leak):
    with Runner(TrainConfig(), threads=1) as runner:
        runner.advance(10, wait=True)
        before = [p.detach().clone() for p in runner._gan.G.parameters()]
        assert runner.update(dataset="painted", points=STROKES)["points"] == "data"
        assert runner.wait_parked(30)
        snap = runner.snapshot()
        assert snap.iteration == 10 and snap.metrics.modes_total == 2 and len(snap.modes) == 2
        assert all(torch.equal(a, b) for a, b in zip(before, runner._gan.G.parameters(), strict=True))
        runner.advance(5, wait=True)
        assert runner.snapshot().iteration == 15


def test_painting_inside_the_first_view_keeps_it():
    """The canvas must not zoom under the brush: painted data inside the ring's view keeps that view."""
    from core.data import ring

    np.testing.assert_array_equal(painted(((0, 0), (0.1, 0), (-1.5, 1.9))).bounds(), ring().bounds())
    assert painted(((0, 0), (4, 4))).bounds()[0, 1] > 4  # painting beyond it widens it
