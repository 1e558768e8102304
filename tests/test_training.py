import math

import numpy as np
import pytest
import torch

from core.config import TrainConfig
from core.metrics import generator_metrics
from core.snapshot import Probe
from core.training import GAN, GRAD_BOUND, LOSS_BOUND, WEIGHT_BOUND

SMALL = TrainConfig().replace(hidden=32, depth=2, batch_size=64)


def params(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_k_discriminator_updates_per_generator_update():
    gan = GAN(SMALL.replace(k=3))
    counts = {"d": 0, "g": 0}
    gan.opt_d.register_step_post_hook(lambda *_: counts.__setitem__("d", counts["d"] + 1))
    gan.opt_g.register_step_post_hook(lambda *_: counts.__setitem__("g", counts["g"] + 1))
    for _ in range(4):
        gan.train_iteration()
    assert counts == {"d": 12, "g": 4}
    assert (gan.d_steps, gan.g_steps, gan.iteration) == (12, 4, 4)


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_an_iteration_is_k_d_steps_then_g_steps_g_steps(loss):
    """Algorithm 1 generalised (GAN Lab): one iteration at k = 2, g_steps = 3 is, weight for weight, two
    manual D steps and then three manual G steps on an identically seeded GAN."""
    config = SMALL.replace(loss=loss, k=2, g_steps=3)
    looped, manual = GAN(config), GAN(config)
    looped.advance("iteration")
    for unit in ("d", "d", "g", "g", "g"):
        manual.advance(unit)
    assert same(params(looped.G), params(manual.G)) and same(params(looped.D), params(manual.D))
    assert torch.equal(looped.rng.get_state(), manual.rng.get_state())
    assert looped.last == manual.last
    assert (looped.iteration, looped.d_steps, looped.g_steps) == (1, 2, 3) and manual.g_steps == 3
    looped.train_iteration()
    assert (looped.iteration, looped.d_steps, looped.g_steps) == (2, 4, 6)  # the counters: k and g_steps a time


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_generator_step_leaves_d_bit_identical(spectral_norm, loss):
    gan = GAN(SMALL.replace(spectral_norm=spectral_norm, loss=loss))
    gan.train_iteration()
    d_before, g_before = params(gan.D), params(gan.G)
    gan.g_step()
    assert same(params(gan.D), d_before)  # weights and spectral norm's vectors
    assert not same(params(gan.G), g_before)


def test_discriminator_step_leaves_g_bit_identical():
    gan = GAN(SMALL)
    g_before, d_before = params(gan.G), params(gan.D)
    gan.d_step()
    assert same(params(gan.G), g_before) and not same(params(gan.D), d_before)


def run(config, iterations=30):
    gan = GAN(config)
    for _ in range(iterations):
        gan.train_iteration()
    probe = Probe(gan)
    metrics, samples = generator_metrics(gan, probe.z_eval, probe.real_eval)
    return gan, metrics, samples


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan", "wgan-gp"])
def test_same_seed_same_numbers(loss):
    config = SMALL.replace(loss=loss, spectral_norm=True)
    (a, ma, sa), (b, mb, sb) = run(config), run(config)
    assert np.array_equal(sa, sb)
    assert a.last == b.last and (ma.d_real, ma.jsd) == (mb.d_real, mb.jsd)
    _, mc, _ = run(config.replace(seed=1))
    assert mc.d_real != ma.d_real


def test_evaluating_does_not_change_the_run():
    config = SMALL.replace(spectral_norm=True)
    quiet = GAN(config)
    watched = GAN(config)
    probe = Probe(watched)
    for _ in range(20):
        quiet.train_iteration()
        watched.train_iteration()
        generator_metrics(watched, probe.z_eval, probe.real_eval)
    assert same(params(quiet.G), params(watched.G)) and same(params(quiet.D), params(watched.D))


def test_wgan_clips_discriminator_weights():
    gan = GAN(SMALL.replace(loss="wgan", clip=0.05))
    gan.d_step()
    assert max(p.abs().max().item() for p in gan.D.parameters()) <= torch.tensor(0.05).item()  # float32 0.05


def test_live_settings_reach_the_optimizers():
    gan = GAN(SMALL)
    gan.set_live(gan.config.replace(lr_d=3e-3, lr_g=2e-4, beta1=0.1))
    assert gan.opt_d.param_groups[0]["lr"] == 3e-3 and gan.opt_g.param_groups[0]["lr"] == 2e-4
    assert gan.opt_d.param_groups[0]["betas"] == (0.1, 0.999)
    gan.set_live(gan.config.replace(optimizer="sgd"))
    assert isinstance(gan.opt_d, torch.optim.SGD) and gan.opt_d.param_groups[0]["lr"] == 3e-3
    before = params(gan.D)
    gan.d_step()  # the step now taken is plain SGD at the new rate: w <- w - 3e-3 * grad (grads are kept)
    for name, p in gan.D.named_parameters():
        torch.testing.assert_close(p.detach(), before[name] - 3e-3 * p.grad, rtol=0, atol=1e-7)


def test_generator_grad_norm_changes_nothing():
    gan = GAN(SMALL)
    before = params(gan.G)
    z = gan.latent(64, torch.Generator().manual_seed(0))
    assert gan.generator_grad_norm("minimax", z) > 0
    assert same(params(gan.G), before) and all(p.grad is None for p in gan.G.parameters())


def test_state_round_trip_restores_the_run():
    gan = GAN(SMALL)
    gan.train_iteration()
    saved = gan.state()
    gan.train_iteration()
    after_one = params(gan.G)
    gan.load_state(saved)
    gan.train_iteration()
    assert same(params(gan.G), after_one) and gan.iteration == 2


def test_divergence_includes_values_past_the_bounds_not_only_nan():
    gan = GAN(SMALL)
    assert gan.finite(weights=True) is None  # nothing stepped yet: the NaN placeholders do not count
    gan.train_iteration()
    assert gan.finite(weights=True) is None
    for name, bound in (("loss_d", LOSS_BOUND), ("loss_g", LOSS_BOUND), ("grad_norm_g", GRAD_BOUND)):
        saved = gan.last[name]
        gan.last[name] = -0.5 * bound
        assert gan.finite() is None
        gan.last[name] = -2 * bound
        assert gan.finite() == f"|{name}| = {2 * bound:.3g} > {bound:g}"
        gan.last[name] = math.inf
        assert gan.finite() == f"{name} = inf"
        gan.last[name] = saved
    weight = next(gan.D.parameters())
    with torch.no_grad():
        weight[0, 0] = 2 * WEIGHT_BOUND
    assert gan.finite() is None  # weights only when asked: ~0.1 ms, checked where a frame is published
    assert "D's weight" in gan.finite(weights=True) and f"> {WEIGHT_BOUND:g}" in gan.finite(weights=True)
    with torch.no_grad():
        weight[0, 0] = math.nan
    assert gan.finite(weights=True) == "D's weight " + next(n for n, _ in gan.D.named_parameters()) + " holds NaN/Inf"
