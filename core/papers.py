"""The papers' 2-D tables as data: each protocol as TrainConfig settings, its source cited beside each value, and
the published numbers, so that `python -m core reproduce TABLE` runs the paper's rows and prints ours beside
theirs (core.reproduce).

The sources are the authors' released code, read at the commits below (the paper texts themselves could not
be read; where a value is our reading of the code, the comment says so):

- PacGAN (Lin, Khetan, Fanti, Oh, NeurIPS 2018), Table 1: fjxmlzn/PacGAN @ 190853e5,
  synthetic_data_experiments/ (Theano/Blocks, built on ALI's experiments/gan_mixture.py). The table is the image
  results/Table1.png shipped with the code: mean ± standard error over 10 trials. Its ALI row is left out: it is
  another model (an encoder beside G), not a setting of ours.
- VEEGAN (Srivastava, Valkov, Russell, Gutmann, Sutton, NeurIPS 2017), Table 1: akashgit/VEEGAN @ 77ec74ef,
  tab.png (the numbers, no error bars: the mean of five runs, index.md) and index.md's "Synthetic Dataset"
  (the metrics). VEEGAN never released the code of its baselines, so their networks are unknown. The rows
  here are GAN and Unrolled GAN with the only GAN-side networks released for this benchmark, those of the
  Unrolled GAN reference notebook that VEEGAN cites for its five unrolling steps (poolio/unrolled_gan @
  67e2c7a0, "Unrolled GAN demo.ipynb"): z 256-D normal, G and D two tanh layers of 128, orthogonal init gain
  1.4, batch 512, lr 1e-3 (G) and 1e-4 (D), beta1 0.5, 25,000 iterations, the saturating minimax loss for G,
  5 unrolling steps (0 for GAN), G and D updated at once (one sess.run). That is our reading, not VEEGAN's
  stated setup. Two deviations, printed with the table: the Unrolled row updates D, then G (TrainConfig's
  simultaneous update does not unroll), and z has at most TrainConfig's latent_dim maximum of dimensions.
  VEEGAN's ALI and VEEGAN rows are other models and are left out.

Both data sets are PacGAN's (and VEEGAN's): a ring of 8 modes at angles 2 pi k / 8 from (1, 0), radius 1, std
0.01 (core.data.ring puts its first mode at (1, 0) too), and a 5 x 5 grid at {-4, -2, 0, 2, 4}^2, std 0.05
(core.data.grid centres it on 0). VEEGAN's ring std is not in its released code: 0.01, as the Unrolled
notebook's and PacGAN's, is inferred. Both papers evaluate 2,500 samples: high quality within 3 std of the
nearest mode, a mode captured with at least one high-quality sample (core.metrics.MODE_RULES "pacgan"; PacGAN
uses a strict < 3 std and VEEGAN <= 3 std, as we do: the same but on a set of measure zero), and PacGAN's
reverse KL is KL(q || p) over the high-quality samples' shares q of the modes against uniform p
(core.metrics.mode_statistics; PacGAN's code logs log K minus the entropy of q, the same number).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import FIELDS, TrainConfig

# ---- what is counted ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A column of a table: `label`, and how a run's number becomes the paper's unit (`scale`, shown with
    `digits` decimals)."""

    label: str
    scale: float = 1.0
    digits: int = 1
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    "modes": Metric("modes"),  # modes captured under the table's mode rule
    "high_quality": Metric("high quality %", scale=100.0),  # a run's share, the papers' percentage
    "reverse_kl": Metric("reverse KL", digits=2, higher_is_better=False),
}

# ---- the data sets ------------------------------------------------------------------------------------------
DATASETS: dict[str, dict] = {
    # PacGAN 2DRing_GAN&PacGAN/config.py l.6-7: means (cos 2 pi k/8, sin 2 pi k/8), variance 0.01^2 I
    "ring": dict(dataset="ring", modes=8, radius=1.0, std=0.01),
    # PacGAN 2DGrid_GAN&PacGAN/config.py l.5-7: means {-4, -2, 0, 2, 4}^2, variance 0.05^2 I; VEEGAN notebook cell 6
    "grid": dict(dataset="grid", modes=25, spacing=2.0, std=0.05),
}


# ---- a table ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where a value comes from: a file of a repository at a commit, and the lines (or cells) read."""

    repo: str
    commit: str
    path: str
    lines: str

    def __str__(self) -> str:
        return f"{self.repo}@{self.commit[:8]} {self.path} {self.lines}"


@dataclass(frozen=True)
class Table:
    """A paper's table: its protocol as TrainConfig settings shared by every row, each row's own settings, the
    data sets it was run on and the published numbers, row -> data set -> metric -> (mean, standard error or
    None when the paper gives none)."""

    title: str
    paper: str
    sources: tuple[Source, ...]
    protocol: dict
    rows: dict[str, dict]
    published: dict[str, dict[str, dict[str, tuple[float, float | None]]]]
    trials: int  # the paper's runs per row
    metrics: tuple[str, ...]
    mode_rule: str = "pacgan"  # core.metrics.MODE_RULES
    datasets: tuple[str, ...] = ("ring", "grid")
    reading: str = ""  # where the protocol is our reading of the sources rather than the paper's own
    deviations: tuple[str, ...] = field(default=())  # what our protocol cannot do as the paper did
    per_dataset: dict[str, dict[str, dict]] = field(default_factory=dict)  # row -> data set -> its own settings
    theirs: str = "paper"  # what the published column is, in a heading
    reproduces: bool = True  # False: the rows are our own settings beside the paper's numbers, not its protocol
    search: tuple[str, ...] = ()  # for our own settings: the commands that found them

    @property
    def iterations(self) -> int:
        return self.protocol["steps"]

    def config(self, row: str, dataset: str, seed: int, iterations: int | None = None) -> TrainConfig:
        """The run of one row on one data set from one seed (ConfigError if TrainConfig refuses it)."""
        steps = self.iterations if iterations is None else iterations
        own = self.per_dataset.get(row, {}).get(dataset, {})
        changes = self.protocol | DATASETS[dataset] | self.rows[row] | own | dict(seed=seed, steps=steps)
        return TrainConfig().replace(**changes)


PACGAN_REPO, PACGAN_COMMIT = "fjxmlzn/PacGAN", "190853e56d6e7843c0d991dc64658cfb3311135e"
_PACGAN = "synthetic_data_experiments/"

PACGAN_TABLE1 = Table(
    title="PacGAN Table 1: mode collapse on the 2-D ring and grid",
    paper="Lin, Khetan, Fanti, Oh. PacGAN: the power of two samples in generative adversarial networks. "
    "NeurIPS 2018, Table 1",
    sources=(
        Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "results/Table1.png", "(the published numbers)"),
        Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "2DRing_GAN&PacGAN/config.py", "l.1-47"),
        Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "2DRing_GAN&PacGAN/pacgan_task.py", "l.43-203"),
        Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "PacGAN/pacgan/bricks.py", "l.46-72"),
        Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "PacGAN/pacgan/datasets.py", "l.68-77"),
        Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "PacGAN/pacgan/extensions.py", "l.48-175"),
        Source("IshmaelBelghazi/ALI", "5f2de51a03f893036aef06602ac97c4a173c0710", "ali/algorithms.py", "l.28-43"),
    ),
    protocol=dict(
        # G: decoder = MLP([2, 400, 400, 400, 400, 2], BatchNormalization + Rectifier x 4, no bias but the
        # last layer's) (pacgan_task.py l.43-59, l.92-95)
        g_hidden=400,
        g_depth=4,
        g_activation="relu",
        g_norm="batch",
        # D: 3 x LinearMaxout(200 units, 5 pieces) -> Linear 1, no BN, no dropout (pacgan_task.py l.61-90)
        d_hidden=200,
        d_depth=3,
        d_activation="maxout",
        # z ~ N(0, I_2): num_zmode=1, num_zdim=2, z_mode_r=0, z_mode_std=1 (config.py l.33-36)
        latent="normal",
        latent_dim=2,
        # weights IsotropicGaussian(0.02), biases 0 (config.py l.21-22, pacgan_task.py l.92)
        init="normal",
        # D: softplus(-D(x)) + softplus(D(G(z))); G: softplus(-D(G(z))), the non-saturating loss (bricks.py l.69-72)
        loss="nonsaturating",
        # Adam(learning_rate=1e-4, beta1=0.8) for both (config.py l.23-24, pacgan_task.py l.157); Blocks' default
        # beta2 0.999 (blocks/algorithms/__init__.py l.861-863)
        optimizer="adam",
        lr_g=1e-4,
        lr_d=1e-4,
        beta1=0.8,
        beta2=0.999,
        # both gradients on one batch, applied in one step (ALI ali/algorithms.py l.28-43): simultaneous, k = 1
        k=1,
        g_steps=1,
        simultaneous=True,
        # batch_size 100 packs (config.py l.25) from a fixed set of num_sample 100,000 points (config.py l.30,
        # pacgan/datasets.py l.68-77)
        batch_size=100,
        train_set=100_000,
        # num_epoch 400 x 1,000 batches an epoch (config.py l.15, streams.py l.31)
        steps=400_000,
        # GraphLogger(num_samples=2500) (pacgan_task.py l.190, extensions.py l.48-102)
        eval_samples=2500,
    ),
    # num_packing [1, 2, 3, 4] (config.py l.46): packing widens only D's input, to 2m (pacgan_task.py l.61-90)
    rows={
        "GAN": dict(pack=1),
        "PacGAN2": dict(pack=2),
        "PacGAN3": dict(pack=3),
        "PacGAN4": dict(pack=4),
    },
    # results/Table1.png: modes, high-quality samples (%), reverse KL; mean ± standard error over 10 trials
    published={
        "GAN": {
            "ring": dict(modes=(6.3, 0.5), high_quality=(98.2, 0.2), reverse_kl=(0.45, 0.09)),
            "grid": dict(modes=(17.3, 0.8), high_quality=(94.8, 0.7), reverse_kl=(0.70, 0.07)),
        },
        "PacGAN2": {
            "ring": dict(modes=(7.9, 0.1), high_quality=(95.6, 2.0), reverse_kl=(0.07, 0.03)),
            "grid": dict(modes=(23.8, 0.7), high_quality=(91.3, 0.8), reverse_kl=(0.13, 0.04)),
        },
        "PacGAN3": {
            "ring": dict(modes=(7.8, 0.1), high_quality=(97.7, 0.3), reverse_kl=(0.10, 0.02)),
            "grid": dict(modes=(24.6, 0.4), high_quality=(94.2, 0.4), reverse_kl=(0.06, 0.02)),
        },
        "PacGAN4": {
            "ring": dict(modes=(7.8, 0.1), high_quality=(95.9, 1.4), reverse_kl=(0.07, 0.02)),
            "grid": dict(modes=(24.8, 0.2), high_quality=(93.6, 0.6), reverse_kl=(0.04, 0.01)),
        },
    },
    trials=10,  # "run": range(0, 10) (config.py l.47); "averaged over 10 trials" (the table's caption)
    metrics=("modes", "high_quality", "reverse_kl"),
)

VEEGAN_REPO, VEEGAN_COMMIT = "akashgit/VEEGAN", "77ec74ef3931430dfb707f64cffcca05bc9f539a"
UNROLLED_REPO, UNROLLED_COMMIT = "poolio/unrolled_gan", "67e2c7a02c18630db6cb0d27baed236d51c45a4b"
_NOTEBOOK = "Unrolled GAN demo.ipynb"
UNROLLED_Z_DIM = 256  # z_dim=256 (cell 11)
LATENT_DIM_MAX = int(FIELDS["latent_dim"].metadata["high"])
_Z_DEVIATION: tuple[str, ...] = ()
if LATENT_DIM_MAX < UNROLLED_Z_DIM:
    _Z_DEVIATION = (f"z is {LATENT_DIM_MAX}-D (TrainConfig's most), not {UNROLLED_Z_DIM}-D",)

VEEGAN_TABLE1 = Table(
    title="VEEGAN Table 1: mode collapse on the 2-D ring and grid",
    paper="Srivastava, Valkov, Russell, Gutmann, Sutton. VEEGAN: reducing mode collapse in GANs using implicit "
    "variational learning. NeurIPS 2017, Table 1",
    sources=(
        Source(VEEGAN_REPO, VEEGAN_COMMIT, "tab.png", "(the published numbers)"),
        Source(VEEGAN_REPO, VEEGAN_COMMIT, "index.md", "Synthetic Dataset (2,500 samples, 3 std, five runs)"),
        Source(UNROLLED_REPO, UNROLLED_COMMIT, _NOTEBOOK, "cells 9, 11, 13, 16 (the networks and training)"),
    ),
    protocol=dict(
        # generator(): slim.stack(fully_connected, [128] * 2, tanh) -> linear 2 (notebook cell 9)
        g_hidden=128,
        g_depth=2,
        g_activation="tanh",
        g_norm="none",
        # discriminator(): the same stack, tanh, -> linear 1 logit (cell 9)
        d_hidden=128,
        d_depth=2,
        d_activation="tanh",
        # noise = Normal(0, 1) of z_dim=256 (cells 11, 13), or as many dimensions as TrainConfig allows
        latent="normal",
        latent_dim=min(UNROLLED_Z_DIM, LATENT_DIM_MAX),
        # weights_initializer=tf.orthogonal_initializer(gain=1.4) for every layer (cell 13)
        init="orthogonal",
        # D: sigmoid cross-entropy; G: g_train_opt.minimize(-unrolled_loss), the saturating minimax loss (cell 13)
        loss="minimax",
        # gen_learning_rate=1e-3, disc_learning_rate=1e-4, beta1=0.5, TF/Keras default beta2 0.999 (cell 11)
        optimizer="adam",
        lr_g=1e-3,
        lr_d=1e-4,
        beta1=0.5,
        beta2=0.999,
        # sess.run([..., g_train_op, d_train_op]) each iteration: simultaneous, k = 1 (cell 16)
        k=1,
        g_steps=1,
        simultaneous=True,
        # batch_size=512, fresh samples every step (sample_mog, cells 7, 11)
        batch_size=512,
        train_set=0,
        # max_iter=25000 (cell 11)
        steps=25_000,
        # "We generate 2500 samples from each trained model" (VEEGAN index.md)
        eval_samples=2500,
    ),
    # unrolling_steps=5 (cell 11), "as suggested in the authors' reference implementation" (VEEGAN index.md)
    # TrainConfig's simultaneous update does not unroll: the Unrolled row takes D's step, then G's
    rows={"GAN": dict(unrolled=0), "Unrolled GAN": dict(unrolled=5, simultaneous=False)},
    # tab.png: modes and % high-quality samples, no error bars
    published={
        "GAN": {
            "ring": dict(modes=(1.0, None), high_quality=(99.3, None)),
            "grid": dict(modes=(3.3, None), high_quality=(0.5, None)),
        },
        "Unrolled GAN": {
            "ring": dict(modes=(7.6, None), high_quality=(35.6, None)),
            "grid": dict(modes=(23.6, None), high_quality=(16.0, None)),
        },
    },
    trials=5,  # "average the numbers over five runs" (index.md)
    metrics=("modes", "high_quality"),
    reading="VEEGAN released no baseline code: G and D are the Unrolled GAN reference notebook's (our reading)",
    deviations=(
        "Unrolled GAN: D's step, then G's against the new D (the notebook runs both in one sess.run)",
        *_Z_DEVIATION,
    ),
)

# ---- our best against PacGAN's ---------------------------------------------------------------------------
# Found by a search with explore on seeds 100-101 (never the seeds 0-9 it is judged on), PacGAN's data sets,
# ring8's networks and optimiser otherwise, 20,000 iterations a run; README's "Our best against PacGAN's" gives
# the searches' figures. The presets pacgan-ring and pacgan-grid are these settings (core.presets).
BEST_STEPS = 20_000
_RING_FLAGS = "--preset ring8 --dataset ring --modes 8 --radius 1 --std 0.01"
_GRID_FLAGS = "--preset grid25 --dataset grid --modes 25 --spacing 2 --std 0.05"
_SEARCH_RUNS = "--seed 100 --seeds 2 --steps 20000"


def _search(flags: str, axes: str, name: str) -> str:
    return f"python -m core explore {flags} {axes} {_SEARCH_RUNS} --out dashboard/explorations/pacgan-{name}.npz"


BEST_SEARCH = (  # the loss and packing on both data sets, then learning rates, then G's average around the winner
    _search(_RING_FLAGS, "--x pack=1,2,4 --y loss=nonsaturating,hinge,lsgan", "ring-loss-packing"),
    _search(_GRID_FLAGS, "--x pack=1,2,4 --y loss=nonsaturating,hinge,lsgan", "grid-loss-packing"),
    _search(_RING_FLAGS, "--loss hinge --pack 2 --x lr_g=1e-4,2e-4,5e-4 --y lr_d=2e-4,5e-4", "ring-learning-rates"),
    _search(_GRID_FLAGS, "--loss hinge --pack 2 --x lr_g=1e-4,2e-4,5e-4 --y lr_d=2e-4,5e-4", "grid-learning-rates"),
    _search(
        _RING_FLAGS,
        "--loss hinge --pack 2 --lr-d 2e-4 --x g_ema=0,0.99,0.999,0.9995 --y lr_g=2e-4,5e-4",
        "ring-averaging",
    ),
    _search(_GRID_FLAGS, "--loss hinge --pack 2 --x g_ema=0,0.99,0.999,0.9995 --y lr_g=2e-4,5e-4", "grid-averaging"),
)
BEST: dict[str, dict] = {
    "ring": dict(loss="hinge", pack=2, lr_d=2e-4, g_ema=0.9995),
    "grid": dict(loss="hinge", pack=2, g_ema=0.999),
}


def pacgan_best(dataset: str, metric: str) -> tuple[float, float | None]:
    """PacGAN Table 1's best published mean of `metric` on `dataset` over its four rows (GAN, PacGAN2-4), with
    its standard error: stricter than any one row, since no row is best at everything."""
    values = [PACGAN_TABLE1.published[row][dataset][metric] for row in PACGAN_TABLE1.rows]
    pick = max if METRICS[metric].higher_is_better else min
    return pick(values, key=lambda v: v[0])


MINIMAX_BEST = Table(
    title="Our best against PacGAN's: the pacgan-ring and pacgan-grid presets",
    paper=PACGAN_TABLE1.paper + " (the best of its rows for each metric)",
    sources=(Source(PACGAN_REPO, PACGAN_COMMIT, _PACGAN + "results/Table1.png", "(the published numbers)"),),
    protocol=dict(steps=BEST_STEPS, eval_samples=2500),
    rows={"Minimax": {}},
    per_dataset={"Minimax": BEST},
    published={"Minimax": {ds: {m: pacgan_best(ds, m) for m in PACGAN_TABLE1.metrics} for ds in DATASETS}},
    trials=10,
    metrics=PACGAN_TABLE1.metrics,
    theirs="PacGAN's best",
    reproduces=False,
    search=BEST_SEARCH,
    reading="Ours: our own networks and training (presets pacgan-ring and pacgan-grid), 20,000 iterations; the "
    "paper's column: for each metric the best mean of PacGAN's four rows (GAN, PacGAN2, PacGAN3, PacGAN4), "
    "each at 400,000 iterations; evaluated alike (2,500 samples, a mode with at least one high-quality sample).",
)

TABLES: dict[str, Table] = {
    "pacgan-table1": PACGAN_TABLE1,
    "veegan-table1": VEEGAN_TABLE1,
    "minimax-best": MINIMAX_BEST,
}
