"""The averaged G (g_ema, core.training): the recursion against a hand-run one on recorded weights, training
untouched by it, the samples and metrics drawn from it, and its life through live changes and checkpoints."""

import numpy as np
import pytest
import torch

from core.config import ConfigError, TrainConfig
from core.metrics import generator_metrics
from core.snapshot import Probe, Still, frame_copies, picture
from core.sweep import Sweep, run_sweep
from core.training import GAN
from dashboard.payload import model_view, samples_label

SMALL = TrainConfig().replace(
    hidden=16, depth=2, batch_size=32, latent_dim=4, eval_samples=200, samples_shown=100, grid_size=20
)


def weights(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_the_average_is_the_recursion_over_g_s_weights_after_each_update():
    beta = 0.9
    gan = GAN(SMALL.replace(g_ema=beta, k=2, g_steps=2))
    expected = weights(gan.G)  # the average starts at G as it is
    for _ in range(6):
        held = weights(gan.g_average.module)
        gan.d_step()  # D's updates leave the average alone
        assert same(gan.g_average.module.parameters(), held)
        gan.g_step()
        expected = [beta * e + (1 - beta) * w for e, w in zip(expected, weights(gan.G), strict=True)]
    for averaged, hand in zip(gan.g_average.module.parameters(), expected, strict=True):
        torch.testing.assert_close(averaged.detach(), hand, rtol=1e-6, atol=1e-7)
    assert not same(gan.g_average.module.parameters(), gan.G.parameters())


@pytest.mark.parametrize("extra", [{}, dict(simultaneous=True), dict(g_norm="batch", pack=2)])
def test_training_is_the_same_with_and_without_the_average(extra):
    plain, averaged = GAN(SMALL.replace(**extra)), GAN(SMALL.replace(g_ema=0.99, **extra))
    for _ in range(5):
        plain.train_iteration()
        averaged.train_iteration()
    for a, b in ((plain.G, averaged.G), (plain.D, averaged.D)):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert plain.shown_G is plain.G and averaged.shown_G is averaged.g_average.module


def test_samples_and_metrics_come_from_the_average():
    gan = GAN(SMALL.replace(g_ema=0.9))
    for _ in range(20):
        gan.train_iteration()
    probe = Probe(gan)
    with torch.no_grad():
        own, average = gan.G(probe.z_shown), gan.g_average.module(probe.z_shown)
    assert not torch.allclose(own, average)
    assert np.array_equal(picture(gan, probe)["samples"], average.numpy())
    _, samples = generator_metrics(gan, probe.z_eval, probe.real_eval)
    with torch.no_grad():
        assert np.array_equal(samples, gan.g_average.module(probe.z_eval).numpy())
    copies = frame_copies(gan, None)  # the frame thread's copy is of the average, holding its weights
    assert copies[0] is gan.g_average.module
    assert np.array_equal(picture(Still(gan, *copies[2:]), probe)["samples"], average.numpy())


def test_live_changes_start_keep_and_drop_the_average():
    gan = GAN(SMALL)
    for _ in range(3):
        gan.train_iteration()
    assert gan.g_average is None
    gan.set_live(gan.config.replace(g_ema=0.5))  # on: from G as it is now
    assert same(gan.g_average.module.parameters(), gan.G.parameters())
    gan.train_iteration()
    held = weights(gan.g_average.module)
    gan.set_live(gan.config.replace(g_ema=0.8))  # a new beta goes on from the average so far
    assert same(gan.g_average.module.parameters(), held)
    gan.g_step()
    expected = [0.8 * h + 0.2 * w for h, w in zip(held, weights(gan.G), strict=True)]
    for averaged, hand in zip(gan.g_average.module.parameters(), expected, strict=True):
        torch.testing.assert_close(averaged.detach(), hand)
    gan.replace_generator(gan.config.replace(g_hidden=8))  # a new G: the average starts at it
    assert gan.g_average.module[0].out_features == 8
    gan.set_live(gan.config.replace(g_ema=0.0))
    assert gan.g_average is None and gan.shown_G is gan.G


def test_a_checkpoint_brings_the_average_back():
    gan = GAN(SMALL.replace(g_ema=0.9))
    for _ in range(4):
        gan.train_iteration()
    state, held = gan.state(), weights(gan.g_average.module)
    for _ in range(4):
        gan.train_iteration()
    gan.load_state(state)
    assert same(gan.g_average.module.parameters(), held)
    assert int(gan.g_average.n_averaged) == 5  # the copy at the start, then four updates


def test_the_setting_is_validated_and_sweeps_train_it_seed_by_seed():
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ConfigError) as error:
            SMALL.replace(g_ema=bad)
        assert error.value.field == "g_ema"
    with pytest.raises(ConfigError) as error:
        Sweep(SMALL.replace(g_ema=0.9), 2)  # the batched trainer refuses rather than ignore it
    assert error.value.field == "g_ema"
    result = run_sweep(SMALL.replace(g_ema=0.9, seed=3), 2, steps=4, eval_every=4)
    gan = GAN(SMALL.replace(g_ema=0.9, seed=4))
    for _ in range(4):
        gan.train_iteration()
    probe = Probe(gan)
    metrics, _ = generator_metrics(gan, probe.z_eval, probe.real_eval)
    assert result.seeds == [3, 4] and result.curves["jsd"][-1, 1] == metrics.jsd


def test_the_page_says_which_g_it_draws():
    assert samples_label(SMALL) == "G(z), z fixed"
    assert samples_label(SMALL.replace(g_ema=0.999)) == "G(z) from G's averaged weights (β = 0.999), z fixed"
    assert model_view(SMALL.replace(g_ema=0.999))["g_shown"] == ["Averaged G: β = 0.999"]
    assert model_view(SMALL)["g_shown"] == []
