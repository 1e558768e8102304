"""TrainConfig: the one description of a run that the CLI, the runner and the dashboard share.

Each field carries its help text, its range or choices and its effect on a running run:
  "live"          applied between two iterations, nothing is lost;
  "generator"     G gets a new shape (its width, depth or activation): a fresh G is built, D keeps its weights
                  and the run goes on, and says so;
  "discriminator" D gets a new shape (its width, depth or activation, packing, a minibatch layer, spectral
                  norm): a fresh D is built, G keeps its weights and the run goes on, and says so;
  "data"          a new p_data (another data set, a mode added): G and D keep their weights and the run goes on
                  against the new data, and says so (the evaluation history starts again: the modes changed);
  "rebuild"       new networks: the run restarts from iteration 0 and says so (so does a change that gives both
                  players a new shape at once: `effects`).
The CLI's flags and the dashboard's widgets are built from this metadata.

Each player has its own network (g_hidden, g_depth, g_activation; d_hidden, d_depth, d_activation). The names
they shared before, `hidden`, `depth` and `activation` (BOTH_PLAYERS), still set both players wherever a setting
is named (a link, a flag, an explore axis, a saved config): `TrainConfig.replace` is the one place that reads
them (`both_players`), and a player's own setting given beside one wins. A TrainConfig holds only the six.

What one config may cost is bounded here, so that no link and no CLI call can take the machine (`validate`,
`footprint`): at most MAX_COMPONENTS custom components, each inside the square of half-side
COMPONENT_REACH with a std in `std`'s range and a finite weight, the weights summing to a finite positive
number; every phase of a run (p_data on the grid, D's surface, one evaluation, one training iteration) held
to MEMORY_BUDGET bytes by an estimate; and one iteration to STEP_BUDGET multiply-adds.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

from .data import DATASETS, mixture_for
from .losses import LOSSES
from .models import ACTIVATIONS, INITS, LATENTS, NORMS, Layers
from .remedies import MINIBATCH

OPTIMIZERS = ("adam", "sgd")
MAX_RING_MODES = 32  # a ring of more modes than this is a blur on the board

# ---- what one config may cost: a link or a CLI call cannot ask for more (see `footprint`) -----------------
MAX_COMPONENTS = 64  # rows of a custom mixture (the largest built-in data set, the 7 x 7 grid, has 49)
MAX_POINTS = 200  # painted points: each is a component of p_data on the grid (core.data.painted)
ROW_DATASETS = {"custom": "components", "painted": "points"}  # data sets made of rows, and the setting holding them
COMPONENT_REACH = 100.0  # |x| and |y| of a custom component's mean (the ring reaches 20, the grid 30)
MEMORY_BUDGET = 2**30  # bytes: the estimated working set of the costliest phase of one run
STEP_BUDGET = 2**31  # multiply-adds of one iteration's layers, k + g_steps x (1 + unrolled) passes (~1 s, one core)
KERNELS = 5  # the minibatch kernel layer's kernels (core.remedies.MinibatchKernel's default)
KERNEL_PAIR_COST = 3000  # the kernel layer's time per pair of a batch's samples, in multiply-adds (measured)
NORM_COST = 8  # batch norm's multiply-adds per unit and sample, forward and backward (an estimate: ~1-2% of a layer)


def setting(default, help, *, low=None, high=None, choices=None, effect="live", metavar=None, data=False):
    """A TrainConfig field with its help, range or choices, effect on a running run, and whether it describes
    p_data (data=True: what `evaluate` takes as flags, and what the page's data-set layer depends on)."""
    meta = dict(help=help, low=low, high=high, choices=choices, effect=effect, metavar=metavar, data=data)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """One run's settings. Each field's range is its `setting(low=, high=)`; beyond the fields' own ranges
    `validate` bounds what a config may cost, so that one link or one CLI call has a fixed ceiling:

    - a custom mixture has at most MAX_COMPONENTS (64) rows (x, y, std, weight), means within
      COMPONENT_REACH (100) of 0 on each axis, each std in `std`'s range [1e-3, 5], weights finite and >= 0
      with a finite positive sum (weights of 1e308 sum to inf: refused);
    - MEMORY_BUDGET (1 GiB): `footprint` estimates the bytes of each phase of a run, and the costliest may
      not exceed it: p_data on the grid (40 B x modes x grid_size^2), D's surface (grid_size^2 x (8 B x
      d_hidden + 60 B x batch_size with the minibatch kernel)), one evaluation (eval_samples x (72 B x
      (grid_size + 1) + 8 B x (g_hidden + d_hidden) + 32 B x modes, + 80 B x batch_size / pack with the kernel))
      and one training iteration ((1 + unrolled) x (2 with a gradient penalty) x (24 B x batch_size x (pack x
      g_hidden x g_depth + d_hidden x d_depth), + 360 B x batch_size^2 with the kernel)). Upper bounds of this
      machine's measured peaks (grid_size 400 with 64 components: +0.3 GB; eval_samples 100,000 at grid_size
      100: +0.75 GB), measured with G and D of one shape (hidden and depth then stood for both);
    - STEP_BUDGET (2^31 multiply-adds): `step_cost`, (k + g_steps x (1 + unrolled)) x (batch_size x pack x
      (g_hidden^2 x g_depth + d_hidden^2 x d_depth) / 2, + KERNEL_PAIR_COST x batch_size^2 with the minibatch
      kernel): about one second per iteration on one core here, so a pause or a change is applied within
      about a second.

    Every setting alone at either end of its range validates; it is some combinations that are refused, with
    a message that names the cost, the budget and the settings to lower.
    """

    # data
    dataset: str = setting(
        "ring",
        "Target distribution p_data: a ring or a grid of Gaussians, your own components, "
        "or the paper's 1-D line of three Gaussians.",
        choices=tuple(DATASETS),
        effect="data",
        data=True,
    )
    modes: int = setting(
        8,
        "Number of Gaussians in p_data (ring: 2-32; grid: m*m for m 2-7).",
        low=2,
        high=49,
        effect="data",
        data=True,
    )
    radius: float = setting(2.0, "Radius of the ring the modes sit on.", low=0.1, high=20.0, effect="data", data=True)
    spacing: float = setting(
        2.0, "Distance between neighbouring grid modes.", low=0.1, high=10.0, effect="data", data=True
    )
    std: float = setting(
        0.02,
        "Standard deviation of every mode: smaller modes are harder to hit exactly.",
        low=1e-3,
        high=5.0,
        effect="data",
        data=True,
    )
    components: tuple = setting((), "Custom mixture: rows (x, y, std, weight).", effect="data", data=True)
    points: tuple = setting(
        (),
        "Painted data: the points (x, y) drawn on the board, each spread by a brush of 0.05; the metrics count "
        "the modes fitted by clustering (a stroke, a blob: one mode).",
        effect="data",
        data=True,
    )
    # networks: each player its own (hidden, depth and activation set both: BOTH_PLAYERS)
    g_hidden: int = setting(
        128, "Units per hidden layer of G: the generator's capacity.", low=4, high=512, effect="generator"
    )
    g_depth: int = setting(3, "Hidden layers of G.", low=1, high=6, effect="generator")
    g_activation: str = setting(
        "relu",
        "Nonlinearity of G's hidden layers (maxout: each unit is the largest of 5 linear pieces, 5x the weights).",
        choices=tuple(ACTIVATIONS),
        effect="generator",
    )
    g_norm: str = setting(
        "none",
        "Batch normalisation in G (PacGAN's generator): each hidden layer's units are rescaled to mean 0 and "
        "variance 1 over the batch before the nonlinearity. Samples on screen and in the metrics use the running "
        "averages instead, so one sample does not depend on the others.",
        choices=tuple(NORMS),
        effect="generator",
    )
    d_hidden: int = setting(
        128, "Units per hidden layer of D: the discriminator's capacity.", low=4, high=512, effect="discriminator"
    )
    d_depth: int = setting(3, "Hidden layers of D.", low=1, high=6, effect="discriminator")
    d_activation: str = setting(
        "relu",
        "Nonlinearity of D's hidden layers (maxout, PacGAN's D: each unit is the largest of 5 linear pieces).",
        choices=tuple(ACTIVATIONS),
        effect="discriminator",
    )
    latent_dim: int = setting(2, "Dimension of the noise z that G maps to a sample.", low=1, high=256, effect="rebuild")
    latent: str = setting(
        "normal", "Distribution of z: standard normal or uniform on [-1, 1].", choices=tuple(LATENTS), effect="rebuild"
    )
    spectral_norm: bool = setting(
        False, "Spectral normalisation of D's weights (Miyato et al. 2018): keeps D Lipschitz.", effect="discriminator"
    )
    init: str = setting(
        "default",
        "How both players' weights start: PyTorch's default, small Gaussian weights N(0, 0.02^2) (PacGAN), "
        "or orthogonal matrices scaled by 1.4 (the Unrolled GAN code); biases start at 0 in both.",
        choices=tuple(INITS),
        effect="rebuild",
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
    k: int = setting(1, "Discriminator updates per iteration, before G's (Algorithm 1's k).", low=1, high=20)
    g_steps: int = setting(
        1,
        "Generator updates per iteration: Algorithm 1 generalised, k updates of D, then g_steps updates of G "
        "(the paper's is 1).",
        low=1,
        high=10,
    )
    simultaneous: bool = setting(
        False,
        "Update G and D at once from the same batch, both gradients taken at the same weights, then both steps "
        "(the ALI, PacGAN and VEEGAN code), instead of Algorithm 1's D step, then G step against the new D. "
        "Needs k = 1, one G step and no unrolling.",
    )
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
    g_ema: float = setting(
        0.0,
        "Averaged G (Yazici et al. 2019): after each update of G, avg <- beta avg + (1 - beta) G's weights; the "
        "samples shown and every metric come from the average, while D trains against G itself. 0 is off.",
        low=0.0,
        high=0.9999,
        metavar="BETA",
    )
    batch_size: int = setting(256, "Samples of real data and of G per update.", low=16, high=2048)
    train_set: int = setting(
        0,
        "Size of a fixed training set drawn once from p_data (PacGAN trains on 100,000 points); each batch is "
        "drawn from it with replacement. 0: a fresh sample of p_data at every step, an endless supply.",
        low=0,
        high=1_000_000,
        effect="data",
        metavar="N",
    )
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

    @property
    def g_layers(self) -> Layers:
        """G's hidden layers."""
        return Layers(self.g_hidden, self.g_depth, self.g_activation, self.g_norm)

    @property
    def d_layers(self) -> Layers:
        """D's hidden layers."""
        return Layers(self.d_hidden, self.d_depth, self.d_activation)

    def replace(self, **changes) -> TrainConfig:
        """A validated copy with `changes`; picking another data set brings that data set's defaults. A name
        of BOTH_PLAYERS (hidden, depth, activation) sets both players' setting, and a player's own one given
        beside it wins (`both_players`)."""
        unknown = set(changes) - SETTING_NAMES.keys()
        if unknown:
            raise ConfigError(sorted(unknown)[0], "is not a setting")
        changes = {**self.brought_along(changes), **changes}
        return validate(dataclasses.replace(self, **both_players({k: coerce(k, v) for k, v in changes.items()})))

    def brought_along(self, changes: dict) -> dict:
        """What `changes` bring with them that they do not set themselves: another data set its own defaults;
        a loss without targets (hinge, the critics) label smoothing 0, since there is nothing to smooth."""
        along: dict = {}
        if "dataset" in changes and changes["dataset"] in DATASETS and changes["dataset"] != self.dataset:
            along |= DATASETS[changes["dataset"]][1]
        loss = changes.get("loss")
        if loss in LOSSES and not LOSSES[loss].targets and self.label_smoothing > 0:
            along["label_smoothing"] = 0.0
        return {name: value for name, value in along.items() if name not in changes}

    def changed(self, other: TrainConfig) -> dict:
        return {f: getattr(other, f) for f in FIELDS if getattr(other, f) != getattr(self, f)}


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(TrainConfig)}
DATA_FIELDS = tuple(name for name, f in FIELDS.items() if f.metadata["data"])  # what p_data is made of

# The names G and D shared before each player had its own network: in a link, a flag, an explore axis or a
# saved config each still sets both players' setting (`both_players`). Never a field: a config holds the six.
BOTH_PLAYERS: dict[str, tuple[str, str]] = {
    "hidden": ("g_hidden", "d_hidden"),
    "depth": ("g_depth", "d_depth"),
    "activation": ("g_activation", "d_activation"),
}
# Every name `TrainConfig.replace` takes, with the field whose type, range, choices and help it has (for a
# BOTH_PLAYERS name, G's: both players' settings have the same).
SETTING_NAMES: dict[str, dataclasses.Field] = FIELDS | {name: FIELDS[g] for name, (g, _) in BOTH_PLAYERS.items()}
TYPES: dict[str, type] = {k: v for k, v in typing.get_type_hints(TrainConfig).items()}
TYPES |= {name: TYPES[g] for name, (g, _) in BOTH_PLAYERS.items()}  # every name of SETTING_NAMES


def both_players(changes: dict) -> dict:
    """changes with each BOTH_PLAYERS name (hidden, depth, activation) replaced by the two players' settings it
    stands for, unless a player's own is given too: that one wins (hidden=64 and g_hidden=32 give G 32 units
    and D 64). The one place these names are read."""
    out = {name: value for name, value in changes.items() if name not in BOTH_PLAYERS}
    for name, players in BOTH_PLAYERS.items():
        if name in changes:
            out |= {player: changes[name] for player in players if player not in changes}
    return out


class ConfigError(ValueError):
    """A bad value for one setting; `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


SHOWN_CHARS = 80  # a value echoed in a message is cut to this many characters


def shown(value) -> str:
    """repr(value), cut to SHOWN_CHARS characters: a message echoes what it was given, never all of it."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


# Settings a config reads only in some cases, and why: the CLI refuses the others' flags, a link leaves them out.
USED_WHEN = {
    "components": (lambda c: c.dataset == "custom", "is read only with --dataset custom"),
    "points": (lambda c: c.dataset == "painted", "is read only with --dataset painted"),
    "beta1": (lambda c: c.optimizer == "adam", "is Adam's; --optimizer sgd has no moments"),
    "beta2": (lambda c: c.optimizer == "adam", "is Adam's; --optimizer sgd has no moments"),
    "modes": (lambda c: c.dataset in ("ring", "grid"), "is read only with --dataset ring or grid"),
    "radius": (lambda c: c.dataset == "ring", "is read only with --dataset ring"),
    "spacing": (lambda c: c.dataset == "grid", "is read only with --dataset grid"),
    "std": (lambda c: c.dataset in ("ring", "grid"), "is read only with --dataset ring or grid"),
    "clip": (lambda c: LOSSES[c.loss].clip_weights, "is read only by a loss that clips D's weights (--loss wgan)"),
    "gp_lambda": (
        lambda c: LOSSES[c.loss].gradient_penalty,
        "is read only by a loss with a gradient penalty (--loss wgan-gp)",
    ),
    "minibatch_kind": (lambda c: c.minibatch_discrimination, "is read only with --minibatch-discrimination"),
}


def used(name: str, config: TrainConfig) -> bool:
    """Whether `config` reads setting `name` (USED_WHEN)."""
    return name not in USED_WHEN or USED_WHEN[name][0](config)


def in_words(name: str, old, new) -> str:
    """A change as a notice says it: "spectral norm on", "d hidden 64 to 128", "custom components"."""
    label = name.replace("_", " ")
    if name in ("components", "points"):
        return "custom components" if name == "components" else f"{len(new)} painted points"
    if isinstance(new, bool):
        return f"{label} {'on' if new else 'off'}"
    old_text, new_text = (f"{v:g}" if isinstance(v, float) else str(v)[:SHOWN_CHARS] for v in (old, new))
    return f"{label} {old_text} to {new_text}"


def coerce(name: str, value):
    """Convert a value (a string from a URL or a flag, a numpy scalar…) to the setting's type (a BOTH_PLAYERS
    name's: its players')."""
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
        raise ConfigError(name, f"expected {kind.__name__ if kind else 'a value'}, got {shown(value)}") from None


def validate(config: TrainConfig) -> TrainConfig:
    """Return config unchanged or raise ConfigError naming the first bad setting."""
    for name, f in FIELDS.items():
        value, meta = getattr(config, name), f.metadata
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(name, f"must be finite, got {value}")
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ConfigError(name, f"must be one of {', '.join(meta['choices'])}; got {shown(value)}")
        if meta["low"] is not None and not meta["low"] <= value <= meta["high"]:
            raise ConfigError(name, f"must be from {meta['low']:g} to {meta['high']:g}, got {value:g}")
    if config.dataset == "ring" and config.modes > MAX_RING_MODES:
        raise ConfigError("modes", f"a ring holds 2 to {MAX_RING_MODES} modes, got {config.modes}")
    if config.label_smoothing > 0 and not LOSSES[config.loss].targets:
        raise ConfigError("label_smoothing", f"the {config.loss} loss has no targets to smooth; set it to 0")
    _check_simultaneous(config)
    _check_shape(config.components)
    _check_points(config.points)
    try:
        mixture_for(config)
    except ValueError as error:
        field = ROW_DATASETS.get(config.dataset, "modes")
        raise ConfigError(field, str(error)) from None
    _check_components(config.components)
    _check_cost(config)
    return config


# What updating G and D at once (`simultaneous`) cannot combine with: (setting, whether config is fine, why not).
# The rest combines: each player's gradient penalty, weight clipping, historical average and feature matching
# is taken at the same weights as its adversarial loss (core.training.GAN.simultaneous_step).
SIMULTANEOUS_NEEDS: tuple[tuple[str, Callable[[TrainConfig], bool], str], ...] = (
    ("k", lambda c: c.k == 1, "takes one D step an iteration: set k to 1"),
    ("g_steps", lambda c: c.g_steps == 1, "takes one G step an iteration: set g steps to 1"),
    (
        "unrolled",
        lambda c: c.unrolled == 0,
        "takes G's gradient against D as it is, and unrolling looks at D's next steps: set unrolled to 0",
    ),
)


def _check_simultaneous(config: TrainConfig) -> None:
    for name, fine, why in SIMULTANEOUS_NEEDS if config.simultaneous else ():
        if not fine(config):
            raise ConfigError(
                "simultaneous", f"updating G and D at once {why} (got {getattr(config, name)}), or switch it off"
            )


def _check_shape(components: tuple) -> None:
    """At most MAX_COMPONENTS rows of 4 finite numbers whose weights have a finite sum, checked before
    anything is built from them."""
    if len(components) > MAX_COMPONENTS:
        raise ConfigError("components", f"at most {MAX_COMPONENTS} components, got {len(components)}")
    for i, row in enumerate(components, 1):
        if len(row) != 4:
            raise ConfigError("components", f"row {i} has {len(row)} numbers; each needs 4: x, y, std, weight")
        if not all(math.isfinite(v) for v in row):
            raise ConfigError("components", f"row {i}: every number must be finite, got {shown(row)}")
    total = sum(row[3] for row in components)  # floats: 1e308 + 1e308 is inf, no exception
    if not math.isfinite(total):
        raise ConfigError("components", f"the weights must have a finite positive sum, got {total:g}")


def _check_points(points: tuple) -> None:
    """At most MAX_POINTS painted points, each two finite numbers within ±COMPONENT_REACH."""
    if len(points) > MAX_POINTS:
        raise ConfigError("points", f"at most {MAX_POINTS} painted points, got {len(points)}")
    for i, row in enumerate(points, 1):
        if len(row) != 2:
            raise ConfigError("points", f"point {i} has {len(row)} numbers; each needs 2: x, y")
        if not all(math.isfinite(v) and abs(v) <= COMPONENT_REACH for v in row):
            raise ConfigError("points", f"point {i}: x and y must be finite and within ±{COMPONENT_REACH:g}")


def _check_components(components: tuple) -> None:
    """A custom mixture's rows, whatever the data set (they travel with the config and into links)."""
    low, high = FIELDS["std"].metadata["low"], FIELDS["std"].metadata["high"]
    for i, row in enumerate(components, 1):
        x, y, std, weight = row
        if max(abs(x), abs(y)) > COMPONENT_REACH:
            raise ConfigError("components", f"row {i}: x and y must be within ±{COMPONENT_REACH:g}")
        if not low <= std <= high:
            raise ConfigError("components", f"row {i}: std must be from {low:g} to {high:g}, got {std:g}")
        if weight < 0:
            raise ConfigError("components", f"row {i}: a weight cannot be negative, got {weight:g}")
    if components and not sum(row[3] for row in components) > 0:
        raise ConfigError("components", "the weights must have a finite positive sum, got 0")


def _units(config: TrainConfig) -> tuple[int, int, int]:
    """(G's, D's) outputs of each hidden Linear layer (width x maxout's pieces), and 1 if G has batch norm else 0."""
    g_pieces, d_pieces = ACTIVATIONS[config.g_activation].pieces, ACTIVATIONS[config.d_activation].pieces
    return config.g_hidden * g_pieces, config.d_hidden * d_pieces, int(NORMS[config.g_norm] is not None)


TRAIN_SET_BYTES = 8.0  # a training-set point: two float32 coordinates


def footprint(config: TrainConfig) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Estimated bytes of each phase of a run, with the settings that drive it (TrainConfig's docstring):
    upper bounds of the peaks measured on this machine above a default run's, not exact counts. A layer with
    maxout holds pieces x width outputs, batch norm one more tensor of G's units per layer; a finite training set
    (`train_set`, 8 B a point) is held through every phase, so it is counted in each and on its own line
    (without one, the phases are the four they always were)."""
    c = config
    kernel = c.minibatch_discrimination and c.minibatch_kind == "kernel"
    modes_field = ROW_DATASETS.get(c.dataset, "modes")
    modes = len(getattr(c, modes_field)) if c.dataset in ROW_DATASETS else c.modes
    cells = c.grid_size**2
    unroll = (1 + c.unrolled) * (2 if LOSSES[c.loss].gradient_penalty else 1)
    batch = ("batch_size",) if kernel else ()  # the kernel compares each point with a batch of G's samples
    g_units, d_units, norm = _units(c)
    held = TRAIN_SET_BYTES * c.train_set
    # a training batch: G's batch_size x pack samples through its layers, D's batch_size inputs through its own
    layers = c.pack * g_units * c.g_depth * (1 + norm) + d_units * c.d_depth
    return {
        "p_data on the grid": (40.0 * modes * cells + held, ("grid_size", modes_field)),
        "D's surface": (
            cells * (8.0 * d_units + 60.0 * c.batch_size * kernel) + held,
            ("grid_size", "d_hidden", *batch),
        ),
        "one evaluation": (
            c.eval_samples
            * (
                72.0 * (c.grid_size + 1)
                + 8.0 * (g_units * (1 + norm) + d_units)
                + 32.0 * modes
                + 80.0 * c.batch_size / c.pack * kernel
            )
            + held,
            ("eval_samples", "grid_size", "g_hidden", "d_hidden", *batch),
        ),
        "one training iteration": (
            unroll * (24.0 * c.batch_size * layers + 360.0 * c.batch_size**2 * kernel) + held,
            ("batch_size", "g_hidden", "g_depth", "d_hidden", "d_depth", "unrolled", "pack"),
        ),
        **({"the training set": (held, ("train_set",))} if c.train_set else {}),
    }


def step_cost(config: TrainConfig) -> int:
    """Multiply-adds of one iteration, roughly: per pass batch_size x pack x the mean of the two players'
    hidden x units x depth (their layers: every pass runs through both, and with G and D of one shape, as it was
    measured, the mean is that shape's; a layer's units are hidden x maxout's 5 pieces, so maxout costs 5x,
    and G's batch norm adds NORM_COST per unit), plus KERNEL_PAIR_COST x batch_size^2 with the minibatch kernel
    (its pairwise distances, memory-bound: measured as that many multiply-adds' time); k D steps + g_steps G
    steps, each G step with the `unrolled` D steps its loss looks through. Updates at once (`simultaneous`) are
    counted as the two passes of k = g_steps = 1, an upper bound (they share G's forward pass). This machine
    does about 2 billion a second on one core."""
    c = config
    kernel = c.minibatch_discrimination and c.minibatch_kind == "kernel"
    g_units, d_units, norm = _units(c)
    g_layer = c.g_hidden * g_units + NORM_COST * g_units * norm
    layers = (g_layer * c.g_depth + c.d_hidden * d_units * c.d_depth) / 2
    per_pass = round(c.batch_size * c.pack * layers) + KERNEL_PAIR_COST * c.batch_size**2 * kernel
    return per_pass * (c.k + c.g_steps * (1 + c.unrolled))


def _culprit(config: TrainConfig, names: tuple[str, ...]) -> str:
    """Of the settings behind a cost, the one furthest above its default (the first on a tie)."""
    default = TrainConfig()

    def ratio(name: str) -> float:
        if name in ("components", "points"):
            return len(getattr(config, name)) / default.modes
        return getattr(config, name) / max(getattr(default, name), 1)

    return max(names, key=ratio)


def _gb(size: float) -> str:
    return f"{size / 2**30:.2g} GB"


def _check_cost(config: TrainConfig) -> None:
    for phase, (size, names) in footprint(config).items():
        if size > MEMORY_BUDGET:
            raise ConfigError(
                _culprit(config, names),
                f"{phase} would need about {_gb(size)} and one run may use at most {_gb(MEMORY_BUDGET)}; "
                f"lower {', '.join(names[:-1])} or {names[-1]}",
            )
    cost = step_cost(config)
    if cost > STEP_BUDGET:
        names = ("batch_size", "g_hidden", "g_depth", "d_hidden", "d_depth", "k", "g_steps", "unrolled", "pack")
        raise ConfigError(
            _culprit(config, names),
            f"one iteration would take about {cost / 1e9:.2g} billion multiply-adds and one may take at most "
            f"{STEP_BUDGET / 1e9:.2g} billion (about a second); "
            f"lower {', '.join(names[:-1])} or {names[-1]}",
        )


PLAYER_EFFECTS = ("generator", "discriminator")  # a fresh G, D goes on; a fresh D, G goes on


def effects(changes: dict) -> dict[str, str]:
    """How each changed setting takes effect on a run: "live" (from the next iteration), "generator" (a fresh
    G, D and the run go on), "discriminator" (a fresh D, G and the run go on), "data" (a new p_data, G, D and
    the run go on) or "rebuild" (new networks: back to iteration 0). A player's new shape is a rebuild too
    when both players get one at once (hidden, which sets both; g_depth with pack) or when the change rebuilds
    anyway: nothing of the run is left to go on."""
    found = {name: FIELDS[name].metadata["effect"] for name in changes}
    if "rebuild" in found.values() or set(PLAYER_EFFECTS) <= set(found.values()):
        found = {name: "rebuild" if effect in PLAYER_EFFECTS else effect for name, effect in found.items()}
    return found


def fields_with(effect: str, changes: dict) -> list[str]:
    """The changed settings that take effect as `effect` ("rebuild", "generator", "discriminator", "data")."""
    return [name for name, found in effects(changes).items() if found == effect]


def rebuild_fields(changes: dict) -> list[str]:
    """The changed settings that need new networks."""
    return fields_with("rebuild", changes)


def data_fields(changes: dict) -> list[str]:
    """The changed settings that make a new p_data (G and D go on against it)."""
    return fields_with("data", changes)


def generator_fields(changes: dict) -> list[str]:
    """The changed settings that give G a new shape (a fresh G; D and the run go on)."""
    return fields_with("generator", changes)


def discriminator_fields(changes: dict) -> list[str]:
    """The changed settings that give D a new shape (a fresh D; G and the run go on)."""
    return fields_with("discriminator", changes)
