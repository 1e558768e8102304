"""Each loss against values computed by hand from probabilities, and against autograd where a gradient
is the claim."""

import math

import pytest
import torch
import torch.nn.functional as F

from core.losses import LOSSES, decision_label, decision_level, gradient_penalty

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


# ---- the decision level: where D cannot tell data from samples ---------------------------------------------
def test_decision_level_and_its_label_by_hand():
    # D* = (1 - eps) p_data / (p_data + p_g), at p_g = p_data: (1 - eps) / 2; least squares a = 0, b = 1 - eps:
    # D* = (b p_data + a p_g) / (p_data + p_g), the same; hinge: the margins' midpoint; critics: no level
    assert decision_level("minimax") == decision_level("nonsaturating") == decision_level("lsgan") == 0.5
    assert decision_level("nonsaturating", 0.2) == pytest.approx(0.4)
    assert decision_level("lsgan", 0.2) == pytest.approx(0.4)
    assert decision_level("minimax", 0.05) == pytest.approx(0.475)
    assert decision_level("hinge") == 0.0
    assert decision_level("wgan") is None and decision_level("wgan-gp") is None
    assert decision_label("nonsaturating") == "1/2" and decision_label("lsgan") == "1/2"
    assert decision_label("nonsaturating", 0.2) == "(1 − ε)/2 = 0.40"
    assert decision_label("minimax", 0.05) == "(1 − ε)/2 = 0.475"
    assert decision_label("hinge") == "0" and decision_label("wgan-gp") is None
    with pytest.raises(ValueError):
        decision_level("hinge", 0.1)  # no targets to smooth


def point_loss(loss, eps, r):
    """D's loss at one point x where p_data / (p_data + p_g) = r, as a function of D's raw output t there:
    r l_real(t) + (1 - r) l_fake(t) (up to a constant), from the loss's own d(real, fake, eps)."""
    anchor = torch.zeros(1)
    return lambda t: r * loss.d(t.reshape(1), anchor, eps) + (1 - r) * loss.d(anchor, t.reshape(1), eps)


def argmin_output(loss, eps, r):
    """D's output (the probability for the log-loss family) at the numerical argmin over raw outputs t."""
    t = torch.linspace(-12, 12, 240_001, dtype=torch.float64)
    values = torch.vmap(point_loss(loss, eps, r))(t)
    return loss.output(t[values.argmin()]).item()


@pytest.mark.parametrize(
    "name, eps",
    [("minimax", 0.0), ("nonsaturating", 0.2), ("minimax", 0.35), ("lsgan", 0.0), ("lsgan", 0.2), ("hinge", 0.0)],
)
def test_decision_level_is_where_ds_loss_is_lowest_when_p_g_equals_p_data(name, eps):
    loss, level = LOSSES[name], decision_level(name, eps)
    # on either side of p_g = p_data (r = 1/2 -+ 0.01) D's optimum is D*(r); the level lies halfway: for the
    # log and least-squares losses D*(r) = (1 - eps) r is linear, for the hinge D* jumps from -1 to +1
    below, above = argmin_output(loss, eps, 0.49), argmin_output(loss, eps, 0.51)
    assert (below + above) / 2 == pytest.approx(level, abs=1e-3)
    assert below < level < above
    if name != "hinge":  # smooth losses: the optimum at r = 1/2 itself, where the derivative vanishes
        assert argmin_output(loss, eps, 0.5) == pytest.approx(level, abs=1e-3)
        raw = torch.logit(torch.tensor(level, dtype=torch.float64)) if loss.probability else torch.tensor(level)
        raw = raw.clone().requires_grad_(True)
        (slope,) = torch.autograd.grad(point_loss(loss, eps, 0.5)(raw), raw)
        assert abs(slope.item()) < 1e-6
