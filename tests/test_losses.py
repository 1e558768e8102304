"""Each loss against values computed by hand from probabilities, and against autograd where a gradient
is the claim."""

import math

import pytest
import torch
import torch.nn.functional as F

from core.losses import LOSSES, gradient_penalty

L3 = math.log(3.0)  # sigmoid(ln 3) = 0.75, sigmoid(-ln 3) = 0.25
REAL = torch.tensor([0.0, L3])  # D(x) = 0.5, 0.75
FAKE = torch.tensor([0.0, -L3])  # D(G(z)) = 0.5, 0.25


def mean(*xs):
    return sum(xs) / len(xs)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_log_loss_d_matches_the_paper_with_smoothed_targets(name, eps):
    # -E[(1-eps) log D(x) + eps log(1-D(x))] - E[log(1 - D(G(z)))]
    real_term = mean(*[-((1 - eps) * math.log(p) + eps * math.log(1 - p)) for p in (0.5, 0.75)])
    fake_term = mean(-math.log(1 - 0.5), -math.log(1 - 0.25))
    assert LOSSES[name].d(REAL, FAKE, eps).item() == pytest.approx(real_term + fake_term, abs=1e-6)


def test_label_smoothing_moves_d_loss_by_eps_times_the_logit_gap():
    # d/d eps of the real term is E[softplus(l) - softplus(-l)] = E[l]: linear in eps with slope mean(l_r)
    base, smoothed = LOSSES["minimax"].d(REAL, FAKE, 0.0), LOSSES["minimax"].d(REAL, FAKE, 0.2)
    assert (smoothed - base).item() == pytest.approx(0.2 * REAL.mean().item(), abs=1e-6)


def test_bce_agrees_with_torch_binary_cross_entropy():
    real, fake = torch.randn(64, generator=torch.Generator().manual_seed(0)), torch.randn(64)
    eps = 0.15
    reference = F.binary_cross_entropy(torch.sigmoid(real), torch.full_like(real, 1 - eps)) + F.binary_cross_entropy(
        torch.sigmoid(fake), torch.zeros_like(fake)
    )
    assert LOSSES["nonsaturating"].d(real, fake, eps).item() == pytest.approx(reference.item(), rel=1e-5)


def test_generator_losses_by_hand():
    assert LOSSES["minimax"].g(FAKE).item() == pytest.approx(mean(math.log(0.5), math.log(0.75)), abs=1e-6)
    assert LOSSES["nonsaturating"].g(FAKE).item() == pytest.approx(mean(-math.log(0.5), -math.log(0.25)), abs=1e-6)
    assert LOSSES["lsgan"].g(FAKE).item() == pytest.approx(mean(0.5 * 1.0, 0.5 * (-L3 - 1) ** 2), abs=1e-6)
    for name in ("hinge", "wgan", "wgan-gp"):
        assert LOSSES[name].g(FAKE).item() == pytest.approx(-mean(0.0, -L3), abs=1e-6)


def test_discriminator_losses_by_hand():
    r, f = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.25])
    assert LOSSES["lsgan"].d(r, f, 0.0).item() == pytest.approx(
        0.5 * mean(1.0, 0.25) + 0.5 * mean(4.0, 0.0625), abs=1e-6
    )
    assert LOSSES["lsgan"].d(r, f, 0.2).item() == pytest.approx(
        0.5 * mean(1.2**2, 0.3**2) + 0.5 * mean(4.0, 0.0625), abs=1e-6
    )
    assert LOSSES["hinge"].d(r, f, 0.0).item() == pytest.approx(mean(0.0, 0.5) + mean(0.0, 1.25), abs=1e-6)
    assert LOSSES["wgan"].d(r, f, 0.0).item() == pytest.approx(mean(-2.0, 0.25) - mean(2.0, 0.5), abs=1e-6)


def test_minimax_saturates_and_nonsaturating_does_not():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l): at D(G(z)) = sigmoid(-6) ~ 0.0025 the paper's G barely learns
    logit = torch.tensor([-6.0], requires_grad=True)
    (g_minimax,) = torch.autograd.grad(LOSSES["minimax"].g(logit), logit)
    (g_ns,) = torch.autograd.grad(LOSSES["nonsaturating"].g(logit), logit)
    d = torch.sigmoid(torch.tensor(-6.0)).item()
    assert g_minimax.item() == pytest.approx(-d, rel=1e-5)
    assert g_ns.item() == pytest.approx(-(1 - d), rel=1e-5)
    assert abs(g_minimax.item()) < 0.01 * abs(g_ns.item())


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_stay_finite_on_extreme_logits(name):
    big = torch.tensor([-200.0, 200.0])
    loss = LOSSES[name]
    assert torch.isfinite(loss.d(big, -big, 0.0)) and torch.isfinite(loss.g(big))


def test_gradient_penalty_of_a_linear_critic_is_exact():
    w = torch.tensor([3.0, 4.0])  # ||grad_x (w . x)|| = 5 everywhere, penalty (5 - 1)^2 = 16
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    assert gradient_penalty(lambda x: x @ w, real, fake).item() == pytest.approx(16.0, abs=1e-5)


def test_only_losses_with_targets_accept_smoothing():
    assert {name for name, loss in LOSSES.items() if loss.targets} == {"minimax", "nonsaturating", "lsgan"}
