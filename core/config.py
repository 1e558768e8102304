"""TrainConfig: the one description of a run that the CLI, the runner and the dashboard share.

Each field carries its help text, its range or choices and its effect on a running run:
  "live"          applied between two iterations, nothing is lost;
  "discriminator" D gets a new shape (packing, a minibatch layer, spectral norm): a fresh D is built, G
                  keeps its weights and the run goes on, and says so;
  "rebuild"       new data set or new networks: the run restarts from iteration 0 and says so.
The CLI's flags and the dashboard's widgets are built from this metadata.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field

from .data import DATASETS, mixture_for
from .losses import LOSSES
from .models import ACTIVATIONS, LATENTS
from .remedies import MINIBATCH

OPTIMIZERS = ("adam", "sgd")


def setting(default, help, *, low=None, high=None, choices=None, effect="live", metavar=None):
    return field(
        default=default, metadata=dict(help=help, low=low, high=high, choices=choices, effect=effect, metavar=metavar)
    )


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = setting(
        "ring",
        "Target distribution p_data: a ring or a grid of Gaussians, your own components, "
        "or the paper's 1-D line of three Gaussians.",
        choices=tuple(DATASETS),
        effect="rebuild",
    )
    modes: int = setting(
        8, "Number of Gaussians in p_data (ring: 2-32; grid: m*m for m 2-7).", low=2, high=49, effect="rebuild"
    )
    radius: float = setting(2.0, "Radius of the ring the modes sit on.", low=0.1, high=20.0, effect="rebuild")
    spacing: float = setting(2.0, "Distance between neighbouring grid modes.", low=0.1, high=10.0, effect="rebuild")
    std: float = setting(
        0.02,
        "Standard deviation of every mode: smaller modes are harder to hit exactly.",
        low=1e-3,
        high=5.0,
        effect="rebuild",
    )
    components: tuple = setting((), "Custom mixture: rows (x, y, std, weight).", effect="rebuild")
    # networks
    hidden: int = setting(
        128, "Units per hidden layer of G and D: capacity of both players.", low=4, high=512, effect="rebuild"
    )
    depth: int = setting(3, "Hidden layers of G and D.", low=1, high=6, effect="rebuild")
    activation: str = setting("relu", "Nonlinearity of both MLPs.", choices=tuple(ACTIVATIONS), effect="rebuild")
    latent_dim: int = setting(2, "Dimension of the noise z that G maps to a sample.", low=1, high=64, effect="rebuild")
    latent: str = setting(
        "normal", "Distribution of z: standard normal or uniform on [-1, 1].", choices=tuple(LATENTS), effect="rebuild"
    )
    spectral_norm: bool = setting(
        False, "Spectral normalisation of D's weights (Miyato et al. 2018): keeps D Lipschitz.", effect="discriminator"
    )
    seed: int = setting(
        0,
        "Seed of initial weights and of every random draw: same seed, same numbers.",
        low=0,
        high=2**31 - 1,
        effect="rebuild",
    )
    # the game
    loss: str = setting(
        "nonsaturating", "Objective of the two players (minimax is the paper's saturating one).", choices=tuple(LOSSES)
    )
    k: int = setting(1, "Discriminator updates per generator update (Algorithm 1's k).", low=1, high=20)
    label_smoothing: float = setting(
        0.0,
        "One-sided label smoothing: D's target on real data is 1 - eps, so D cannot become over-confident.",
        low=0.0,
        high=0.5,
    )
    clip: float = setting(0.01, "WGAN: D's weights are clipped to [-clip, clip] after each update.", low=1e-4, high=1.0)
    gp_lambda: float = setting(
        10.0, "WGAN-GP: weight of the gradient penalty that keeps D 1-Lipschitz.", low=0.0, high=1000.0
    )
    # remedies (core/remedies.py)
    feature_matching: float = setting(
        0.0,
        "Feature matching (Salimans et al. 2016): G's loss becomes (1 - W) x its "
        "adversarial loss + W x ||E f(x) - E f(G(z))||^2 over D's last hidden "
        "features; W = 1 is pure feature matching, 0 is off.",
        low=0.0,
        high=1.0,
        metavar="W",
    )
    minibatch_discrimination: bool = setting(
        False,
        "Minibatch discrimination (Salimans et al. 2016): a layer lets D "
        "compare each sample with the rest of its batch, so a collapsed "
        "batch is easy to spot.",
        effect="discriminator",
    )
    minibatch_kind: str = setting(
        "kernel",
        "Minibatch layer: the paper's projected L1 kernel, or the cheaper "
        "minibatch standard deviation (Karras et al. 2018).",
        choices=tuple(MINIBATCH),
        effect="discriminator",
    )
    historical_averaging: float = setting(
        0.0,
        "Historical averaging (Salimans et al. 2016): each player's loss gains "
        "lambda ||theta - mean of its past theta||^2; 0 is off.",
        low=0.0,
        high=100.0,
        metavar="L",
    )
    unrolled: int = setting(
        0,
        "Unrolled GAN (Metz et al. 2017): G's loss is taken against D unrolled K updates "
        "ahead, differentiated through them; D's own weights are untouched. 0 is off.",
        low=0,
        high=10,
        metavar="K",
    )
    pack: int = setting(
        1,
        "Packing (PacGAN, Lin et al. 2018): D judges m samples at once, real packs against generated packs; 1 is off.",
        low=1,
        high=4,
        effect="discriminator",
        metavar="M",
    )
    # optimisation
    optimizer: str = setting(
        "adam", "Optimizer of both players (a change keeps the weights, restarts the moments).", choices=OPTIMIZERS
    )
    lr_g: float = setting(5e-4, "Generator learning rate.", low=1e-7, high=1e3)
    lr_d: float = setting(
        5e-4, "Discriminator learning rate: faster D is a stronger teacher, and a harsher one.", low=1e-7, high=1e3
    )
    beta1: float = setting(
        0.5, "Adam's first-moment decay (0.5 is the DCGAN choice: less momentum in a game).", low=0.0, high=0.999
    )
    beta2: float = setting(0.999, "Adam's second-moment decay.", low=0.0, high=0.9999)
    batch_size: int = setting(256, "Samples of real data and of G per update.", low=16, high=2048)
    # evaluation and views
    steps: int = setting(6000, "Iterations a headless run trains for.", low=1, high=10**8)
    eval_every: int = setting(500, "Iterations between two evaluations of a headless run.", low=1, high=10**8)
    eval_samples: int = setting(
        2500, "Generated samples behind each metric (the benchmarks use 2,500).", low=100, high=100_000
    )
    samples_shown: int = setting(
        1000, "Generated samples drawn on screen (G of a fixed batch of z).", low=10, high=10_000
    )
    grid_size: int = setting(100, "Resolution of D's surface and of the density grid behind the JSD.", low=10, high=400)
    arrow_grid: int = setting(16, "Arrows per side of the generator-gradient field.", low=2, high=64)

    def replace(self, **changes) -> TrainConfig:
        """A validated copy with `changes`; picking another data set brings that data set's defaults."""
        unknown = set(changes) - FIELDS.keys()
        if unknown:
            raise ConfigError(sorted(unknown)[0], "is not a setting")
        if "dataset" in changes and changes["dataset"] in DATASETS and changes["dataset"] != self.dataset:
            changes = {**DATASETS[changes["dataset"]][1], **changes}
        return validate(dataclasses.replace(self, **{k: coerce(k, v) for k, v in changes.items()}))

    def changed(self, other: TrainConfig) -> dict:
        return {f: getattr(other, f) for f in FIELDS if getattr(other, f) != getattr(self, f)}


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(TrainConfig)}
TYPES: dict[str, type] = {k: v for k, v in typing.get_type_hints(TrainConfig).items()}


class ConfigError(ValueError):
    """A bad value for one setting; `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def coerce(name: str, value):
    """Convert a value (a string from a URL or a flag, a numpy scalar…) to the setting's type."""
    kind = TYPES.get(name)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes", "on")
            return bool(value)
        if kind is int:
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            return float(value)
        if kind is tuple:
            return tuple(tuple(float(x) for x in row) for row in value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"expected {kind.__name__ if kind else 'a value'}, got {value!r}") from None


def validate(config: TrainConfig) -> TrainConfig:
    """Return config unchanged or raise ConfigError naming the first bad setting."""
    for name, f in FIELDS.items():
        value, meta = getattr(config, name), f.metadata
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(name, f"must be finite, got {value}")
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ConfigError(name, f"must be one of {', '.join(meta['choices'])}; got {value!r}")
        if meta["low"] is not None and not meta["low"] <= value <= meta["high"]:
            raise ConfigError(name, f"must be from {meta['low']:g} to {meta['high']:g}, got {value:g}")
    if config.dataset == "ring" and config.modes > 32:
        raise ConfigError("modes", f"a ring holds 2 to 32 modes, got {config.modes}")
    if config.label_smoothing > 0 and not LOSSES[config.loss].targets:
        raise ConfigError("label_smoothing", f"the {config.loss} loss has no targets to smooth; set it to 0")
    try:
        mixture_for(config)
    except ValueError as error:
        raise ConfigError("components" if config.dataset == "custom" else "modes", str(error)) from None
    return config


def rebuild_fields(changes: dict) -> list[str]:
    """The changed settings that need a new data set or new networks."""
    return [name for name in changes if FIELDS[name].metadata["effect"] == "rebuild"]


def discriminator_fields(changes: dict) -> list[str]:
    """The changed settings that give D a new shape (a fresh D; G and the run go on)."""
    return [name for name in changes if FIELDS[name].metadata["effect"] == "discriminator"]
