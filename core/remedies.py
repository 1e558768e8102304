"""Remedies for mode collapse and instability, as pure PyTorch pieces the training step plugs in.

  feature matching         Salimans et al. 2016, §3.1   G matches E f(x) with E f(G(z))
  minibatch discrimination Salimans et al. 2016, §3.2   a layer in D compares each sample with its batch
  historical averaging     Salimans et al. 2016, §3.3   lambda ||theta - mean of past theta||^2 on each player
  unrolled GAN             Metz et al. 2017             G's loss against D unrolled K steps ahead
  packing                  Lin et al. 2018 (PacGAN)      D judges m samples at once
  averaged G               Yazıcı et al. 2019            samples from a moving average of G's weights
                                                        (core.training: torch's AveragedModel)

`REMEDIES` names them (and the remedies already in the config: spectral norm, TTUR, label smoothing,
k D-steps) for the page, the CLI's help and the presets; each entry says which settings switch it on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor, nn
from torch.func import functional_call

if TYPE_CHECKING:  # config.py imports this module
    from .config import TrainConfig


# ---- minibatch discrimination -------------------------------------------------------------------------
class MinibatchKernel(nn.Module):
    """Minibatch discrimination, the paper's projected L1 kernel (Salimans et al. 2016, §3.2):

        M_i = f(x_i) T  in R^{B x C},   c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1),
        o(x_i)_b = sum_j c_b(x_i, x_j)   (j over the batch, x_i itself included),

    and D's next layer sees [f(x_i), o(x_i)]. A batch of identical samples gives o = batch size in every
    kernel, a batch of well separated samples o ~ 1: a collapsed generator is easy to spot.
    """

    def __init__(self, in_features: int, kernels: int = 5, kernel_dim: int = 3):
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)
        self.out_features = in_features + kernels

    def project(self, h: Tensor) -> Tensor:
        """M = f(x) T, one C-vector per kernel: (..., n, A) -> (..., B, n, C)."""
        return (h @ self.T).unflatten(-1, (self.kernels, self.kernel_dim)).transpose(-3, -2)

    def forward(self, h: Tensor, reference: Tensor | None = None) -> Tensor:
        """h (..., n, A) -> (..., n, A + B); o is summed over `reference`'s rows if given, else over h's."""
        m = self.project(h)  # (..., B, n, C)
        r = m if reference is None else self.project(reference)
        if torch.is_grad_enabled():  # differentiable to any order (unrolling differentiates a gradient), and
            # one coordinate at a time is 2.7x faster here than broadcasting all C at once (measured)
            # (kernel_dim >= 1 terms: a Tensor, not the empty sum's 0)
            distance = cast(Tensor, sum((m[..., c, None] - r[..., None, :, c]).abs() for c in range(self.kernel_dim)))
        else:  # (..., B, n, n_ref) L1 per kernel; cdist has no second derivative, so only here (the views)
            distance = torch.cdist(m, r, p=1)
        o = torch.exp(-distance).sum(-1).transpose(-1, -2)  # (..., n, B)
        return torch.cat([h, o], -1)


class MinibatchStddev(nn.Module):
    """The cheaper variant (Karras et al. 2018, §3): one extra feature, the standard deviation of each
    feature over the batch averaged over features, s = mean_a sqrt(var_j f(x_j)_a + 1e-8), appended to
    every sample. Identical samples give s = 1e-4; the 1e-8 (theirs too) keeps the gradient finite there,
    where d sqrt(v)/dv is infinite (a dead ReLU unit is 0 on the whole batch)."""

    def __init__(self, in_features: int):
        super().__init__()
        self.out_features = in_features + 1

    def forward(self, h: Tensor, reference: Tensor | None = None) -> Tensor:
        source = h if reference is None else reference
        s = (source.var(-2, unbiased=False) + 1e-8).sqrt().mean(-1, keepdim=True)  # (..., 1)
        return torch.cat([h, s.unsqueeze(-2).expand(*h.shape[:-1], 1)], -1)


MINIBATCH: dict[str, Callable[[int], MinibatchKernel | MinibatchStddev]] = {
    "kernel": MinibatchKernel,
    "stddev": MinibatchStddev,
}
MINIBATCH_LABELS = {"kernel": "L1 kernel", "stddev": "std-dev feature"}  # as the page names them


# ---- feature matching and historical averaging --------------------------------------------------------
def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Salimans et al. 2016, eq. (3.1): ||E_x f(x) - E_z f(G(z))||_2^2 over D's last hidden features."""
    return (real_features.mean(0) - fake_features.mean(0)).pow(2).sum()


class HistoricalAverage:
    """Salimans et al. 2016, §3.3: the penalty ||theta - (1/t) sum_{i=1}^t theta[i]||^2, with the mean of
    the past parameters kept as a running mean (one tensor per parameter, updated in place)."""

    def __init__(self):
        self.mean: list[Tensor] | None = None
        self.count = 0

    def penalty(self, params: list[Tensor]) -> Tensor:
        if self.mean is None:
            return params[0].new_zeros(())  # nothing in the past yet
        # params is never empty: a Tensor, not the empty sum's 0
        return cast(Tensor, sum((p - m).pow(2).sum() for p, m in zip(params, self.mean, strict=True)))

    @torch.no_grad()
    def update(self, params: list[Tensor]) -> None:
        """Add the current parameters to the mean: mean_t = mean_{t-1} + (theta_t - mean_{t-1}) / t."""
        self.count += 1
        if self.mean is None:
            self.mean = [p.detach().clone() for p in params]
        else:
            torch._foreach_lerp_(self.mean, [p.detach() for p in params], 1.0 / self.count)

    def state(self) -> tuple:
        return None if self.mean is None else [m.clone() for m in self.mean], self.count

    def load_state(self, state: tuple) -> None:
        mean, self.count = state
        self.mean = None if mean is None else [m.clone() for m in mean]


# ---- unrolled GAN -------------------------------------------------------------------------------------
def unrolled_parameters(
    D: nn.Module,
    d_loss: Callable[[Callable], Tensor],
    steps: int,
    optimizer,
    lr: float,
    clip: float | None = None,
    second_order: bool = True,
) -> dict[str, Tensor]:
    """Metz et al. 2017, eq. (5)-(6): theta_D^0 = theta_D, theta_D^{k+1} = theta_D^k + eta dV/dtheta_D^k
    (D's own update rule: its Adam moments or plain SGD), K steps, keeping the graph so that
    d theta_D^K / d theta_G reaches G's gradient. D's real parameters are only read.

    d_loss(call) is D's minimised loss with call(x, **kw) = D(x) under the parameters being unrolled.
    second_order=False drops the graph through each update (the cheap first-order variant; the
    benchmark uses it to show what the second-order term costs): G then sees D_K but not how D_K
    depends on G through the updates.
    """
    params, moments = {}, {}
    for name, param in D.named_parameters():
        params[name] = param.detach().requires_grad_(True)
        state = optimizer.state.get(param, {})
        moments[name] = (state.get("exp_avg"), state.get("exp_avg_sq"), float(state.get("step", 0)))
    adam = isinstance(optimizer, torch.optim.Adam)
    if adam:
        (b1, b2), eps = optimizer.param_groups[0]["betas"], optimizer.param_groups[0]["eps"]
    for _ in range(steps):
        loss = d_loss(lambda x, params=params, **kw: functional_call(D, params, (x,), kw))
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=second_order)
        new = {}
        for (name, p), g in zip(params.items(), grads, strict=True):
            if adam:  # the step Adam would take, written out so that it can be differentiated
                m, v, t = moments[name]
                m = (1 - b1) * g if m is None else b1 * m + (1 - b1) * g
                v = (1 - b2) * g * g if v is None else b2 * v + (1 - b2) * g * g
                t += 1
                moments[name] = (m, v, t)
                # clamp: d sqrt(v)/dv is infinite at v = 0 (a weight that never had a gradient), 0 * inf = NaN
                p = p - lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).clamp_min(1e-30).sqrt() + eps)
            else:
                p = p - lr * g
            new[name] = p if clip is None else p.clamp(-clip, clip)
        params = new
    return params


# ---- the registry the page, the CLI's help and the presets read ---------------------------------------
@dataclass(frozen=True)
class Remedy:
    title: str
    paper: str
    settings: tuple[str, ...]  # the TrainConfig fields that switch it on and tune it
    active: Callable[[TrainConfig], bool]  # config -> on?
    value: Callable[[TrainConfig], str]  # config -> its setting, as the page shows it
    what: str  # one sentence: what it changes


REMEDIES: dict[str, Remedy] = {
    "feature-matching": Remedy(
        "Feature matching",
        "Salimans et al. 2016",
        ("feature_matching",),
        lambda c: c.feature_matching > 0,
        lambda c: f"W = {c.feature_matching:g}",
        "G matches the mean of D's last hidden features on real and generated batches.",
    ),
    "minibatch-discrimination": Remedy(
        "Minibatch discrimination",
        "Salimans et al. 2016",
        ("minibatch_discrimination", "minibatch_kind"),
        lambda c: c.minibatch_discrimination,
        lambda c: MINIBATCH_LABELS[c.minibatch_kind],
        "D sees how alike the samples of a batch are.",
    ),
    "historical-averaging": Remedy(
        "Historical averaging",
        "Salimans et al. 2016",
        ("historical_averaging",),
        lambda c: c.historical_averaging > 0,
        lambda c: f"λ = {c.historical_averaging:g}",
        "Each player is pulled towards the mean of its past weights.",
    ),
    "unrolled": Remedy(
        "Unrolled GAN",
        "Metz et al. 2017",
        ("unrolled",),
        lambda c: c.unrolled > 0,
        lambda c: f"K = {c.unrolled}",
        "G's loss is taken against D after K more updates, differentiated through them.",
    ),
    "packing": Remedy(
        "Packing (PacGAN)",
        "Lin et al. 2018",
        ("pack",),
        lambda c: c.pack > 1,
        lambda c: f"m = {c.pack}",
        "D judges m samples at once: a pack from a collapsed G looks alike.",
    ),
    "spectral-norm": Remedy(
        "Spectral normalisation",
        "Miyato et al. 2018",
        ("spectral_norm",),
        lambda c: c.spectral_norm,
        lambda c: "on",
        "Each of D's weights is divided by its largest singular value: D stays Lipschitz.",
    ),
    "ttur": Remedy(
        "Two time-scale rates (TTUR)",
        "Heusel et al. 2017",
        ("lr_d", "lr_g"),
        lambda c: c.lr_d != c.lr_g,
        lambda c: f"lr D {c.lr_d:g}, G {c.lr_g:g}",
        "D and G learn at different rates.",
    ),
    "label-smoothing": Remedy(
        "One-sided label smoothing",
        "Salimans et al. 2016",
        ("label_smoothing",),
        lambda c: c.label_smoothing > 0,
        lambda c: f"ε = {c.label_smoothing:g}",
        "D's target on real data is 1 - eps.",
    ),
    "g-average": Remedy(
        "Averaged G",
        "Yazıcı et al. 2019",
        ("g_ema",),
        lambda c: c.g_ema > 0,
        lambda c: f"β = {c.g_ema:g}",
        "The samples come from a moving average of G's weights; D trains against G itself.",
    ),
    "k-steps": Remedy(
        "k D-steps per G-step",
        "Goodfellow et al. 2014",
        ("k",),
        lambda c: c.k > 1,
        lambda c: f"k = {c.k}" + (f", then {c.g_steps} G steps" if c.g_steps > 1 else ""),
        "D is trained closer to its optimum before G's steps.",
    ),
}
