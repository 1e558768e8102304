"""GAN objectives, one pair of functions each, written on D's raw output (a logit or a critic score).

Every loss here is *minimised*. `real` and `fake` are D's raw outputs on a batch of data and of
generated samples; `eps` is one-sided label smoothing (Salimans et al. 2016): the real target 1
becomes 1 - eps, the fake target stays 0.

Label smoothing and losses without targets: the hinge and Wasserstein critics regress no target, so
"replace the target 1 by 1 - eps" has no meaning for them. Rather than silently ignoring eps, the
config refuses eps > 0 with those losses (`Loss.targets` is False) and says why.

Stable forms only: log D = log sigmoid(l) = -softplus(-l) and log(1 - D) = -softplus(l).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def bce_d(real: Tensor, fake: Tensor, eps: float = 0.0) -> Tensor:
    """D maximises E[log D(x)] + E[log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1).

    As a minimised loss with the real target 1 - eps:
        -E[(1-eps) log D(x) + eps log(1 - D(x))] - E[log(1 - D(G(z)))]
      = E[(1-eps) softplus(-l_r) + eps softplus(l_r)] + E[softplus(l_f)]
    """
    return ((1 - eps) * F.softplus(-real) + eps * F.softplus(real)).mean() + F.softplus(fake).mean()


def minimax_g(fake: Tensor) -> Tensor:
    """G minimises E[log(1 - D(G(z)))] = -E[softplus(l_f)]: the paper's saturating objective.

    d/dl of log(1 - sigmoid(l)) is -sigmoid(l) = -D(G(z)): the gradient vanishes when D confidently
    rejects the samples (D(G(z)) -> 0), which is early in training.
    """
    return -F.softplus(fake).mean()


def nonsaturating_g(fake: Tensor) -> Tensor:
    """G maximises E[log D(G(z))], i.e. minimises E[softplus(-l_f)] (Goodfellow et al. 2014, §3).

    d/dl of -log sigmoid(l) is -(1 - D(G(z))): strongest exactly where minimax_g saturates.
    """
    return F.softplus(-fake).mean()


def lsgan_d(real: Tensor, fake: Tensor, eps: float = 0.0) -> Tensor:
    """Least squares (Mao et al. 2017), a-b coding a=0, b=1-eps: 1/2 E[(D(x) - b)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * ((real - (1 - eps)) ** 2).mean() + 0.5 * (fake**2).mean()


def lsgan_g(fake: Tensor) -> Tensor:
    """Least squares generator, c = 1: 1/2 E[(D(G(z)) - 1)^2]."""
    return 0.5 * ((fake - 1) ** 2).mean()


def hinge_d(real: Tensor, fake: Tensor, eps: float = 0.0) -> Tensor:
    """Hinge (Lim & Ye 2017; Miyato et al. 2018): E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def critic_g(fake: Tensor) -> Tensor:
    """Hinge and Wasserstein generators: -E[D(G(z))]."""
    return -fake.mean()


def wasserstein_d(real: Tensor, fake: Tensor, eps: float = 0.0) -> Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))] (Arjovsky et al. 2017): minimise E[D(G(z))] - E[D(x)]."""
    return fake.mean() - real.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    generator: torch.Generator | None = None,
    t: Tensor | None = None,
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat = t x + (1 - t) G(z),
    t ~ U[0, 1] per sample. Multiply by lambda where it is used.

    real, fake: (..., n, d), the mean taken over n: a batched sweep's (seeds, n, d) gives one penalty per
    seed, with t (seeds, n, 1) drawn from each seed's own generator."""
    if t is None:
        t = torch.rand(*real.shape[:-1], 1, generator=generator, dtype=real.dtype)
    x_hat = (t * real + (1 - t) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.norm(dim=-1) - 1) ** 2).mean(-1)


def clip_weights_(net: nn.Module, bound: float) -> None:
    """WGAN (Arjovsky et al. 2017): every weight of the critic clamped to [-bound, bound] after its step."""
    with torch.no_grad():
        for p in net.parameters():
            p.clamp_(-bound, bound)


@dataclass(frozen=True)
class Loss:
    d: Callable[[Tensor, Tensor, float], Tensor]  # (real, fake, eps) -> D's loss
    g: Callable[[Tensor], Tensor]  # fake -> G's loss
    probability: bool  # D's output is the logit of a probability (sigmoid(output) = D(x))
    targets: bool  # the D loss has a real target that label smoothing can move
    clip_weights: bool = False  # WGAN: clip D's weights to [-clip, clip] after each D step
    gradient_penalty: bool = False  # WGAN-GP: add lambda * gradient_penalty to D's loss
    # what D's loss pulls its output (the probability for the log-loss family, else the score) towards on
    # data and on samples: the targets, or the hinge's margins; None: a critic, which has neither
    aims: tuple[float, float] | None = (1.0, 0.0)
    # the objectives as the page shows them (core/objective.py composes them with the remedies):
    # `*_sense` is the \max / \min with its subscript, `*_body` what is maximised or minimised, at eps = 0;
    # `d_smoothed` is D's body with label smoothing eps (losses with targets only)
    d_sense: str = r"\max_D"
    d_body: str = ""
    d_smoothed: str = ""
    g_sense: str = r"\min_G"
    g_body: str = ""
    note: str = ""

    def output(self, raw: Tensor) -> Tensor:
        """What D says about x: the probability D(x) = sigmoid(logit) for the log-loss family, else the raw score."""
        return torch.sigmoid(raw) if self.probability else raw

    @property
    def d_latex(self) -> str:
        """D's objective in general form (with eps where the loss has targets)."""
        return rf"{self.d_sense}\; {self.d_smoothed or self.d_body}"

    @property
    def g_latex(self) -> str:
        return rf"{self.g_sense}\; {self.g_body}"


def decision_level(loss_name: str, eps: float = 0.0) -> float | None:
    """The level of D's output where it cannot tell data from samples: its optimum where p_g = p_data, on
    the scale the page draws (the probability D(x) for the log-loss family, the raw score otherwise).
    None for a critic (wgan, wgan-gp): its score has no such level, only slopes.

    With targets t_r on data and t_f on samples (one-sided smoothing: t_r = 1 - eps, t_f = 0), D's loss at
    one point x weighs the data term by p_data(x) and the sample term by p_g(x):
      log loss      -p_data [t_r log D + (1 - t_r) log(1 - D)] - p_g [t_f log D + (1 - t_f) log(1 - D)]:
                    d/dD = 0 gives D* = (t_r p_data + t_f p_g) / (p_data + p_g) = (1 - eps) p_data / (p_data + p_g)
      least squares p_data (D - b)^2 / 2 + p_g (D - a)^2 / 2 with a = t_f = 0, b = t_r = 1 - eps:
                    D* = (b p_data + a p_g) / (p_data + p_g), the same (Mao et al. 2017, a-b coding)
    so where p_g = p_data, D* = (t_r + t_f) / 2 = (1 - eps) / 2: 1/2 without smoothing.
      hinge         p_data max(0, 1 - D) + p_g max(0, 1 + D) is linear on [-1, 1] with slope p_g - p_data:
                    D* = +1 where p_data > p_g, -1 where p_data < p_g (flat where they are equal); the level
                    between the two sides is the margins' midpoint, 0.
    One formula for all three: the midpoint of `Loss.aims` once eps has moved the real target.
    """
    loss = LOSSES[loss_name]
    if eps and not loss.targets:
        raise ValueError(f"the {loss_name} loss has no targets to smooth")
    if loss.aims is None:
        return None
    real, fake = loss.aims
    return (real - eps + fake) / 2


def decision_label(loss_name: str, eps: float = 0.0) -> str | None:
    """decision_level as the page labels it, formula first: '1/2', '(1 − ε)/2 = 0.40', '0'; None for a critic."""
    level = decision_level(loss_name, eps)
    if level is None:
        return None
    if eps > 0:
        return f"(1 − ε)/2 = {_decimals(level)}"
    return "1/2" if level == 0.5 else f"{level:g}"


def _decimals(v: float) -> str:
    """At least two decimals, three when the third is needed: 0.40, 0.475."""
    return f"{v:.2f}" if abs(round(v, 2) - v) < 1e-9 else f"{v:.3f}"


_D_LOG = r"\mathbb{E}_{x}\,[\log D(x)] + \mathbb{E}_{z}\,[\log(1 - D(G(z)))]"
_D_LOG_SMOOTHED = (
    r"\mathbb{E}_{x}\,[(1-\varepsilon)\log D(x) + \varepsilon \log(1-D(x))]"
    r" + \mathbb{E}_{z}\,[\log(1 - D(G(z)))]"
)
_G_CRITIC = r"-\mathbb{E}_{z}\,[D(G(z))]"
_D_CRITIC = r"\mathbb{E}_{x}\,[D(x)] - \mathbb{E}_{z}\,[D(G(z))]"

LOSSES: dict[str, Loss] = {
    "minimax": Loss(
        bce_d,
        minimax_g,
        probability=True,
        targets=True,
        d_body=_D_LOG,
        d_smoothed=_D_LOG_SMOOTHED,
        g_body=r"\mathbb{E}_{z}\,[\log(1 - D(G(z)))]",
        note="The paper's objective. Its gradient, -D(G(z)), vanishes while D rejects G's samples: "
        "early in training G barely learns.",
    ),
    "nonsaturating": Loss(
        bce_d,
        nonsaturating_g,
        probability=True,
        targets=True,
        d_body=_D_LOG,
        d_smoothed=_D_LOG_SMOOTHED,
        g_sense=r"\max_G",
        g_body=r"\mathbb{E}_{z}\,[\log D(G(z))]",
        note="The paper's practical fix: same fixed point, but the gradient, 1 - D(G(z)), is "
        "strongest exactly when D rejects G's samples.",
    ),
    "lsgan": Loss(
        lsgan_d,
        lsgan_g,
        probability=False,
        targets=True,
        d_sense=r"\min_D",
        d_body=r"\tfrac12\mathbb{E}_{x}\,[(D(x) - 1)^2] + \tfrac12\mathbb{E}_{z}\,[D(G(z))^2]",
        d_smoothed=r"\tfrac12\mathbb{E}_{x}\,[(D(x) - (1-\varepsilon))^2] + \tfrac12\mathbb{E}_{z}\,[D(G(z))^2]",
        g_body=r"\tfrac12\mathbb{E}_{z}\,[(D(G(z)) - 1)^2]",
        note="Least squares (Mao et al. 2017): D regresses 1 on data and 0 on samples; samples far "
        "on the right side of the boundary are still pulled in.",
    ),
    "hinge": Loss(
        hinge_d,
        critic_g,
        probability=False,
        targets=False,
        aims=(1.0, -1.0),
        d_sense=r"\min_D",
        d_body=r"\mathbb{E}_{x}\,[\max(0, 1 - D(x))] + \mathbb{E}_{z}\,[\max(0, 1 + D(G(z)))]",
        g_body=_G_CRITIC,
        note="Hinge: D only pushes scores past a margin of 1; its output is a score, 0 on the boundary.",
    ),
    "wgan": Loss(
        wasserstein_d,
        critic_g,
        probability=False,
        targets=False,
        clip_weights=True,
        aims=None,
        d_sense=r"\max_{D:\,|w|\le c}",
        d_body=_D_CRITIC,
        g_body=_G_CRITIC,
        note="Wasserstein critic (Arjovsky et al. 2017), kept Lipschitz by clipping its weights to "
        "[-c, c]; its score has no fixed level, only slopes.",
    ),
    "wgan-gp": Loss(
        wasserstein_d,
        critic_g,
        probability=False,
        targets=False,
        gradient_penalty=True,
        aims=None,
        d_body=_D_CRITIC + r" - \lambda_{\mathrm{GP}}\,\mathbb{E}_{\hat x}\,[(\lVert\nabla D(\hat x)\rVert - 1)^2]",
        g_body=_G_CRITIC,
        note="Wasserstein critic kept 1-Lipschitz by a gradient penalty (Gulrajani et al. 2017).",
    ),
}
