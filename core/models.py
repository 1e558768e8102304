"""The two players: MLPs for G and D, and the latent distributions z is drawn from."""
from __future__ import annotations

import threading
from typing import Callable

import torch
from torch import nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leakyrelu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
}

LATENTS: dict[str, Callable[[int, int, torch.Generator | None], torch.Tensor]] = {
    "normal": lambda n, d, gen: torch.randn(n, d, generator=gen),
    "uniform": lambda n, d, gen: torch.rand(n, d, generator=gen) * 2 - 1,
}


def mlp(n_in: int, n_out: int, width: int, depth: int, activation: str) -> nn.Sequential:
    """depth hidden layers of `width` units, then a linear output layer."""
    layers, n = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(n, width), ACTIVATIONS[activation]()]
        n = width
    return nn.Sequential(*layers, nn.Linear(n, n_out))


def with_spectral_norm(net: nn.Sequential) -> nn.Sequential:
    """Divide each weight by its largest singular value (Miyato et al. 2018), by PyTorch's own parametrization."""
    for module in net:
        if isinstance(module, nn.Linear):
            nn.utils.parametrizations.spectral_norm(module)
    return net


# nn.Linear's initialisation and spectral norm's first vector use torch's global generator; the lock
# keeps two runners that build models at the same moment from drawing from each other's stream.
_GLOBAL_RNG = threading.Lock()


def build_players(data_dim: int, latent_dim: int, width: int, depth: int, activation: str,
                  spectral_norm: bool, seed: int) -> tuple[nn.Sequential, nn.Sequential]:
    """(G, D): G maps z in R^latent_dim to x in R^data_dim, D maps x to one raw output (logit or score)."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = mlp(latent_dim, data_dim, width, depth, activation)
        discriminator = mlp(data_dim, 1, width, depth, activation)
        if spectral_norm:
            with_spectral_norm(discriminator)
    return generator, discriminator
