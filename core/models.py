"""The two players: MLPs for G and D, and the latent distributions z is drawn from."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

from .remedies import MINIBATCH, Discriminator

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leakyrelu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
}

LATENTS: dict[str, Callable[[int, int, torch.Generator | None], torch.Tensor]] = {
    "normal": lambda n, d, gen: torch.randn(n, d, generator=gen),
    "uniform": lambda n, d, gen: torch.rand(n, d, generator=gen) * 2 - 1,
}


def hidden_layers(n_in: int, width: int, depth: int, activation: str) -> nn.Sequential:
    layers, n = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(n, width), ACTIVATIONS[activation]()]
        n = width
    return nn.Sequential(*layers)


def mlp(n_in: int, n_out: int, width: int, depth: int, activation: str) -> nn.Sequential:
    """depth hidden layers of `width` units, then a linear output layer."""
    return nn.Sequential(*hidden_layers(n_in, width, depth, activation), nn.Linear(width, n_out))


ModuleT = TypeVar("ModuleT", bound=nn.Module)


def with_spectral_norm(net: ModuleT) -> ModuleT:
    """Divide each weight by its largest singular value (Miyato et al. 2018), by PyTorch's own parametrization."""
    for module in net.modules():
        if isinstance(module, nn.Linear):
            nn.utils.parametrizations.spectral_norm(module)
    return net


# nn.Linear's initialisation and spectral norm's first vector use torch's global generator; the lock
# keeps two runners that build models at the same moment from drawing from each other's stream.
_GLOBAL_RNG = threading.Lock()


def discriminator(
    data_dim: int,
    width: int,
    depth: int,
    activation: str,
    spectral_norm: bool,
    pack: int = 1,
    minibatch: str | None = None,
) -> Discriminator:
    """D maps x (or a pack of m samples) to one raw output (logit or score), optionally through a minibatch layer."""
    body = hidden_layers(data_dim * pack, width, depth, activation)
    layer = MINIBATCH[minibatch](width) if minibatch else None
    net = Discriminator(body, nn.Linear(layer.out_features if layer else width, 1), pack, layer)
    return with_spectral_norm(net) if spectral_norm else net


@contextlib.contextmanager
def _seeded(seed: int):
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_players(
    data_dim: int,
    latent_dim: int,
    width: int,
    depth: int,
    activation: str,
    spectral_norm: bool,
    seed: int,
    pack: int = 1,
    minibatch: str | None = None,
) -> tuple[nn.Sequential, Discriminator]:
    """(G, D): G maps z in R^latent_dim to x in R^data_dim; D as `discriminator` builds it."""
    with _seeded(seed):
        generator = mlp(latent_dim, data_dim, width, depth, activation)
        return generator, discriminator(data_dim, width, depth, activation, spectral_norm, pack, minibatch)


def build_discriminator(
    data_dim: int,
    width: int,
    depth: int,
    activation: str,
    spectral_norm: bool,
    seed: int,
    pack: int = 1,
    minibatch: str | None = None,
) -> Discriminator:
    """A fresh D alone (a live change of D's shape keeps G)."""
    with _seeded(seed):
        return discriminator(data_dim, width, depth, activation, spectral_norm, pack, minibatch)
