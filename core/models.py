"""The two players, each with its own hidden layers (`Layers`): an MLP for G, the Discriminator (an MLP body with
packing and an optional minibatch layer before its head), the latent distributions z is drawn from, `frozen`,
D as G's step sees it, and `inference`, G as every view and evaluation sees it (batch norm's running statistics).

The papers' 2-D experiments need three more pieces, each a registry: ACTIVATIONS' maxout (a hidden layer of
width w is Linear(n, 5 w) and the max over 5 pieces), NORMS' batch norm after G's hidden Linear layers, and
INITS, the weight initialisation of both players' Linear layers."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor, nn

from .remedies import MINIBATCH


class Maxout(nn.Module):
    """The max over `pieces` linear pieces (Goodfellow et al. 2013): (..., w * pieces) -> (..., w), unit i the max of
    inputs i * pieces ... i * pieces + pieces - 1, as Blocks' Maxout brick reshapes its input to (..., w, pieces)
    and takes the max over the last axis (behind PacGAN's and ALI's D: `LinearMaxout(output_dim=200,
    num_pieces=5)`, PacGAN synthetic_data_experiments/.../pacgan_task.py l.61-90)."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (-1, self.pieces)).amax(-1)


@dataclass(frozen=True)
class Activation:
    """A hidden layer's nonlinearity: `make()` builds it; `pieces` is how many outputs of the layer's Linear it
    reduces to one unit (1 for a pointwise one, 5 for maxout), so a layer of width w has a Linear of w * pieces."""

    make: Callable[[], nn.Module]
    pieces: int = 1

    def __call__(self) -> nn.Module:
        return self.make()


MAXOUT_PIECES = 5  # PacGAN's and ALI's D: LinearMaxout(..., num_pieces=5) (pacgan_task.py l.61-90)

ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(nn.ReLU),
    "leakyrelu": Activation(lambda: nn.LeakyReLU(0.2)),
    "tanh": Activation(nn.Tanh),
    "maxout": Activation(lambda: Maxout(MAXOUT_PIECES), MAXOUT_PIECES),
}


class BatchNorm(nn.BatchNorm1d):
    """Batch normalisation of each unit over the batch (Ioffe & Szegedy 2015), with PacGAN's constants: Blocks'
    BatchNormalization has epsilon 1e-4, and PacGAN updates the running statistics as p = 0.05 m + 0.95 p
    (pacgan_task.py l.149), PyTorch's momentum 0.05. It normalises the last dimension whatever the leading ones
    (G on the mesh of z is (rows, 21, d)). In training mode a batch is normalised by its own statistics; in
    eval mode (`inference`) by the running ones, so one sample's output does not depend on the others."""

    def __init__(self, width: int):
        super().__init__(width, eps=1e-4, momentum=0.05)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)


# A player's normalisation after each hidden Linear layer (before its activation), or None. With one, the Linear
# has no bias (the norm's shift takes its place): PacGAN's G is `MLP(..., use_bias=False)` with
# `Sequence([BatchNormalization(400).apply, Rectifier().apply])` per hidden layer and a biased output layer
# (pacgan_task.py l.43-59, l.92-95).
NORMS: dict[str, Callable[[int], nn.Module] | None] = {
    "none": None,
    "batch": BatchNorm,
}


def _zero_bias(module: nn.Linear) -> None:
    if module.bias is not None:
        nn.init.zeros_(module.bias)


def _normal_init(module: nn.Module) -> None:
    """PacGAN's and ALI's `weights_init=IsotropicGaussian(0.02)`, `biases_init=Constant(0)` (config l.21-22)."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        _zero_bias(module)


def _orthogonal_init(module: nn.Module) -> None:
    """The Unrolled GAN notebook's `tf.orthogonal_initializer(gain=1.4)` for every layer (poolio/unrolled_gan,
    `Unrolled GAN demo.ipynb`, cell 13), biases 0 (slim's default)."""
    if isinstance(module, nn.Linear):
        nn.init.orthogonal_(module.weight, gain=1.4)
        _zero_bias(module)


# Weight initialisation of both players' Linear layers: name -> function(module), applied to every module of a
# freshly built player (`nn.Module.apply`) from the run's seed. "default" is PyTorch's own (Kaiming-uniform
# weights, uniform biases): it draws nothing more, so a default run is what it was.
INITS: dict[str, Callable[[nn.Module], None]] = {
    "default": lambda module: None,
    "normal": _normal_init,
    "orthogonal": _orthogonal_init,
}

LATENTS: dict[str, Callable[[int, int, torch.Generator | None], torch.Tensor]] = {
    "normal": lambda n, d, gen: torch.randn(n, d, generator=gen),
    "uniform": lambda n, d, gen: torch.rand(n, d, generator=gen) * 2 - 1,
}


# ---- packing ------------------------------------------------------------------------------------------
def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN (Lin et al. 2018): (..., n, d) -> (..., n // m, m*d), consecutive samples side by side; a
    remainder of n mod m samples is dropped."""
    n = x.shape[-2] - x.shape[-2] % m
    return x[..., :n, :].reshape(*x.shape[:-2], n // m, m * x.shape[-1])


def pack_at(x: Tensor, partners: Tensor, slot: int) -> Tensor:
    """Each row of x packed with the same m - 1 `partners`, x in position `slot` of the pack:
    (n, d), (m - 1, d) -> (n, m*d). What D says of a point x among those samples."""
    n = len(x)
    before, after = partners[:slot].reshape(1, -1).expand(n, -1), partners[slot:].reshape(1, -1).expand(n, -1)
    return torch.cat([before, x, after], -1)


VIEW_PACKS = 4  # a packed D is drawn as the mean over about this many fixed packs (see Discriminator.among)


def view_draws(m: int) -> int:
    """How many packs `among` averages for packs of m: VIEW_PACKS rounded up to a multiple of m, so that x
    sits in every position of the pack equally often (4 for m = 2 or 4, 6 for m = 3; 1 without packing)."""
    return 1 if m == 1 else m * -(-VIEW_PACKS // m)


class Discriminator(nn.Module):
    """D = head(minibatch(body(pack(x)))): an MLP body, an optional minibatch layer, a linear head.

    `groups` splits the input into equal batches judged separately (real and generated halves): packs and
    minibatch features never mix them. `among` judges single points among G's samples: what the views
    and the arrows show.
    """

    def __init__(self, body: nn.Sequential, head: nn.Linear, pack: int = 1, minibatch: nn.Module | None = None):
        super().__init__()
        self.body, self.minibatch, self.head, self.pack = body, minibatch, head, pack

    @property
    def batch_aware(self) -> bool:
        return self.pack > 1 or self.minibatch is not None

    def features(self, x: Tensor, groups: int = 1) -> Tensor:
        """The last hidden layer f(x) (before the minibatch layer): (packs, width)."""
        return self.body(pack(x.unflatten(0, (groups, -1)), self.pack)).flatten(0, 1)

    def forward(self, x: Tensor, groups: int = 1) -> Tensor:
        if not self.batch_aware:
            return self.head(self.body(x))
        h = self.body(pack(x.unflatten(0, (groups, -1)), self.pack))  # (groups, packs, width)
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.head(h).flatten(0, 1)

    def among(self, x: Tensor, context: Tensor | None) -> Tensor:
        """D's raw output on each row of x as one sample among `context` (a training batch of G's current
        samples): (n, d) -> (draws, n), one row per pack drawn; the views average over them.

        Packing: pack j puts x in position j mod m beside the same m - 1 samples of `context` for every
        x (the j-th m - 1 of them), so each of the `view_draws(m)` rows is a smooth function of x, and
        their mean is D on x packed with G's samples, as G's gradient sees it in training (a sample sits
        in every position of its pack, beside other samples of G). (Other partners for each x would draw
        another pack in every grid cell: speckle, not D.)
        A minibatch layer compares each row with `context` itself, the same batch for every x.
        Without either, D(x) itself: (1, n)."""
        if not self.batch_aware:
            return self(x).reshape(1, -1)
        assert context is not None  # a D that compares samples needs the samples
        reference = self.body(pack(context, self.pack)) if self.minibatch is not None else None
        rows = []
        for j in range(view_draws(self.pack)):
            taken = (torch.arange(self.pack - 1) + j * (self.pack - 1)) % len(context)
            h = self.body(pack_at(x, context[taken], j % self.pack))
            if self.minibatch is not None:
                h = self.minibatch(h, reference=reference)
            rows.append(self.head(h).reshape(-1))
        return torch.stack(rows)

    def plain(self) -> nn.Sequential:
        """The same layers as one Sequential (for the batched sweep); only for a D without remedies."""
        assert not self.batch_aware
        return nn.Sequential(*self.body, self.head)


@contextlib.contextmanager
def frozen(net: nn.Module):
    """D during G's step: no gradients for its weights, and eval mode so spectral norm's power iteration
    does not move its buffers. D leaves the G step bit-identical."""
    was_training = net.training
    net.requires_grad_(False)
    net.train(False)
    try:
        yield net
    finally:
        net.requires_grad_(True)
        net.train(was_training)


@contextlib.contextmanager
def inference(net: nn.Module):
    """G as every view and evaluation sees it: eval mode, so batch norm uses its running statistics (PacGAN's
    GraphLogger draws its samples outside the `batch_normalization` context, pacgan/extensions.py l.48-102) and
    a forward pass moves none of them; back in the mode it was in afterwards. Without batch norm G is the same
    function in both modes."""
    was_training = net.training
    net.train(False)
    try:
        yield net
    finally:
        net.train(was_training)


@dataclass(frozen=True)
class Layers:
    """One player's hidden layers: `depth` layers of `width` units, each a Linear, then `norm` (NORMS) if any,
    then `activation` (ACTIVATIONS; maxout's Linear has width x pieces outputs)."""

    width: int
    depth: int
    activation: str
    norm: str = "none"

    def __str__(self) -> str:  # what the page says of a player's shape: "3 × 128 relu", "4 × 400 relu, batch norm"
        return f"{self.depth} × {self.width} {self.activation}" + (f", {self.norm} norm" if self.norm != "none" else "")


def hidden_layers(n_in: int, layers: Layers) -> nn.Sequential:
    """`depth` blocks of Linear(n, width x pieces) [+ the norm] + the activation."""
    activation, norm = ACTIVATIONS[layers.activation], NORMS[layers.norm]
    units = layers.width * activation.pieces  # maxout reduces `pieces` outputs to one unit
    modules: list[nn.Module] = []
    n = n_in
    for _ in range(layers.depth):
        modules.append(nn.Linear(n, units, bias=norm is None))
        if norm is not None:
            modules.append(norm(units))
        modules.append(activation())
        n = layers.width
    return nn.Sequential(*modules)


def mlp(n_in: int, n_out: int, layers: Layers) -> nn.Sequential:
    """`layers`' hidden layers, then a linear output layer."""
    return nn.Sequential(*hidden_layers(n_in, layers), nn.Linear(layers.width, n_out))


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
    layers: Layers,
    spectral_norm: bool,
    pack: int = 1,
    minibatch: str | None = None,
    init: str = "default",
) -> Discriminator:
    """D maps x (or a pack of m samples) to one raw output (logit or score), optionally through a minibatch layer;
    its Linear layers initialised by INITS[init] (before spectral norm wraps them)."""
    body = hidden_layers(data_dim * pack, layers)
    layer = MINIBATCH[minibatch](layers.width) if minibatch else None
    net = Discriminator(body, nn.Linear(layer.out_features if layer else layers.width, 1), pack, layer)
    net.apply(INITS[init])
    return with_spectral_norm(net) if spectral_norm else net


def generator(latent_dim: int, data_dim: int, layers: Layers, init: str = "default") -> nn.Sequential:
    """G: z in R^latent_dim -> x in R^data_dim, its Linear layers initialised by INITS[init]."""
    net = mlp(latent_dim, data_dim, layers)
    net.apply(INITS[init])
    return net


@contextlib.contextmanager
def _seeded(seed: int):
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_players(
    data_dim: int,
    latent_dim: int,
    g: Layers,
    d: Layers,
    spectral_norm: bool,
    seed: int,
    pack: int = 1,
    minibatch: str | None = None,
    init: str = "default",
) -> tuple[nn.Sequential, Discriminator]:
    """(G, D), each with its own hidden layers: G maps z in R^latent_dim to x in R^data_dim; D as
    `discriminator` builds it; both initialised by INITS[init]. G is drawn (and initialised) first from the seed,
    so a fresh G alone (`build_generator`) is this G."""
    with _seeded(seed):
        g_net = generator(latent_dim, data_dim, g, init)
        return g_net, discriminator(data_dim, d, spectral_norm, pack, minibatch, init)


def build_generator(data_dim: int, latent_dim: int, g: Layers, seed: int, init: str = "default") -> nn.Sequential:
    """A fresh G alone (a live change of G's shape keeps D): the G that `build_players` draws from this seed."""
    with _seeded(seed):
        return generator(latent_dim, data_dim, g, init)


def build_discriminator(
    data_dim: int,
    d: Layers,
    spectral_norm: bool,
    seed: int,
    pack: int = 1,
    minibatch: str | None = None,
    init: str = "default",
) -> Discriminator:
    """A fresh D alone (a live change of D's shape keeps G)."""
    with _seeded(seed):
        return discriminator(data_dim, d, spectral_norm, pack, minibatch, init)
