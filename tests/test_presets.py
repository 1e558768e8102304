"""Every claim a preset's text makes, checked with its fixed seed (the seed in the preset's config)."""

import functools
import statistics

import pytest
import torch

from core.config import TrainConfig
from core.metrics import evaluate
from core.presets import PRESETS
from core.snapshot import Probe
from core.training import GAN


@functools.lru_cache(maxsize=4)
def trajectory(config: TrainConfig, steps: int, every: int):
    """Train `steps` iterations; every `every` return (iteration, metrics, G's last gradient norm).
    Cached: two claims about the same run train it once."""
    gan = GAN(config)
    probe = Probe(gan)
    out = []
    for i in range(1, steps + 1):
        gan.train_iteration()
        if i % every == 0:
            out.append((i, evaluate(gan, probe.z_eval, probe.real_eval)[0], gan.last["grad_norm_g"]))
    return gan, out


def test_every_preset_is_a_valid_config_with_a_text():
    assert {
        "ring8",
        "grid25",
        "minimax-saturates",
        "mode-collapse",
        "label-smoothing",
        "strong-discriminator",
        "wgan-gp",
    } <= PRESETS.keys()
    for preset in PRESETS.values():
        assert preset.config == preset.config.replace() and len(preset.watch) > 80


def test_ring8_reaches_all_modes_within_its_steps():
    config = PRESETS["ring8"].config
    _, out = trajectory(config, config.steps, 250)
    final = out[-1][1]
    assert final.modes_captured == 8 and final.high_quality >= 0.8, [(i, m.modes_captured) for i, m, _ in out]
    assert final.jsd < 0.1


def test_grid25_drops_most_modes():
    config = PRESETS["grid25"].config
    assert (config.modes, config.spacing, config.std) == (25, 2.0, 0.05)
    _, out = trajectory(config, config.steps, 1000)
    final = out[-1][1]
    assert final.modes_total == 25 and 1 <= final.modes_captured < 13 and final.high_quality > 0.5


def test_minimax_saturates_against_a_confident_discriminator():
    config = PRESETS["minimax-saturates"].config
    gan, _ = trajectory(config, 10, 10)
    z = gan.latent(1024, torch.Generator().manual_seed(5))
    # same weights, same z: the paper's loss gives G under a tenth of the non-saturating gradient
    assert gan.generator_grad_norm("minimax", z) < 0.1 * gan.generator_grad_norm("nonsaturating", z)
    _, stalled = trajectory(config, 500, 50)
    _, moving = trajectory(config.replace(loss="nonsaturating"), 500, 50)
    assert statistics.median(g for *_, g in stalled) < 0.1 * statistics.median(g for *_, g in moving)
    assert stalled[-1][1].jsd > 0.68 and stalled[-1][1].modes_captured == 0  # the samples never left the centre


def test_mode_collapse_stays_on_few_modes_with_high_quality():
    config = PRESETS["mode-collapse"].config
    _, out = trajectory(config, config.steps, 500)
    assert all(m.modes_captured <= 3 for i, m, _ in out if i >= 1000), [m.modes_captured for _, m, _ in out]
    assert out[-1][1].high_quality >= 0.8 and out[-1][1].reverse_kl > 1.0


def test_label_smoothing_moves_the_equilibrium_to_one_minus_eps_over_two():
    config = PRESETS["label-smoothing"].config
    assert config.replace(label_smoothing=0) == PRESETS["ring8"].config  # the same run but for eps
    _, smoothed = trajectory(config, config.steps, 250)
    _, plain = trajectory(PRESETS["ring8"].config, config.steps, 250)
    late = lambda out: statistics.mean(m.d_real for i, m, _ in out if i >= 3000)
    # D* = (1 - eps) p_data / (p_data + p_g): 0.4 where p_g = p_data with eps = 0.2, instead of 1/2
    assert late(smoothed) == pytest.approx((1 - config.label_smoothing) / 2, abs=0.05)
    assert late(plain) == pytest.approx(0.5, abs=0.05)
    assert late(plain) - late(smoothed) > 0.05
    assert max(m.d_real for _, m, _ in smoothed) < 1 - config.label_smoothing


def test_strong_discriminator_keeps_d_real_and_d_fake_apart():
    config = PRESETS["strong-discriminator"].config
    _, strong = trajectory(config, 2000, 250)
    _, usual = trajectory(config.replace(k=1), 2000, 250)
    gap = lambda out: statistics.mean(m.d_real - m.d_fake for i, m, _ in out if i >= 1000)
    assert gap(strong) > gap(usual) + 0.15
    assert strong[-1][1].modes_captured < 8


def test_wgan_gp_finds_every_mode_with_balanced_mass():
    config = PRESETS["wgan-gp"].config
    _, out = trajectory(config, config.steps, 1000)
    final = out[-1][1]
    assert final.modes_captured == 8 and final.reverse_kl < 0.1 and not final.d_is_probability
