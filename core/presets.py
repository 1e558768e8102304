"""Named lecture scenarios: a full config plus what to watch. Every claim made here is checked over fixed
seeds by tests/test_presets.py and tests/test_remedy_presets.py.

A claim is about a preset's seeds, not one run: the same seed rounds differently on another CPU and a GAN
amplifies the last bits, so one seed's run is neither typical nor portable. The figures are this machine's
(one torch thread, as the dashboard trains); the tests check each claim's direction with a margin."""

from __future__ import annotations

from dataclasses import dataclass

from .config import TrainConfig
from .papers import BEST, BEST_STEPS
from .papers import DATASETS as PAPER_DATASETS


@dataclass(frozen=True)
class Preset:
    config: TrainConfig
    watch: str


_RING = TrainConfig()

GRID25_TEXT = (
    "A 5 x 5 grid of Gaussians, PacGAN's benchmark: 25 modes in a square is much harder than 8 on a ring. "
    "The plain GAN of ring8 drops most of the grid: over seeds 0-3 here it holds 7 to 11 of the 25 modes "
    "after 6,000 iterations (9.25 on average), with more than half of its samples of high quality in every "
    "seed. Watch the mode heatmap (one row per mode): a few bright rows and many dark ones. Then try the "
    "sidebar's remedies on it."
)

PRESETS: dict[str, Preset] = {
    "ring8": Preset(
        _RING,
        (
            "Eight tight Gaussians on a circle, non-saturating loss, k = 1. Watch G's samples leave the "
            "centre (by iteration 50 half of them are more than 1.4 from it; the ring's radius is 2) and "
            "gather on the modes, gaining and losing some as they go (the mode heatmap). How many it keeps "
            "depends on the seed: over seeds 0-3 here G holds 4.75 of the eight on average after 6,000 "
            "iterations (7 in the best seed, 2 in the worst), with most of its samples on the modes it holds; "
            "the modes it misses are mode dropping. At p_g = p_data the optimal discriminator is "
            "D* = p_data / (p_data + p_g) = 1/2 everywhere. G does not get there: mean D(x) on data stays "
            "above the dashed 1/2 line, nearer it in the seed that holds seven modes (0.58 over the second "
            "half) than in the one that holds two (0.70)."
        ),
    ),
    "grid25": Preset(_RING.replace(dataset="grid"), GRID25_TEXT),
    "minimax-saturates": Preset(
        _RING.replace(loss="minimax", k=5, lr_d=2e-3, steps=1000),
        (
            "The paper's own objective, G minimising log(1 - D(G(z))), against a fast discriminator (k = 5, "
            "lr_d = 2e-3). By iteration 10 D rejects G's samples: D(G(z)) is under 0.01 over seeds 0-3 here, "
            "where log(1 - D) is flat, and G's gradient is under a tenth of what the non-saturating loss would "
            "give on the same weights. The samples still move, in one streak: by iteration 30 they are out at "
            "the ring on one side, some past the edge of the view, and few land on a mode (8% of high quality "
            "after 500 iterations, against 55% with the non-saturating loss). Switch the loss to "
            "non-saturating around iteration 100: G's gradient norm jumps from about 1 to about 100, and "
            "within 50 iterations the samples are back in view and on a mode, but one mode only, for the 500 "
            "iterations after. The paper's fix mends G's gradient; against this fast D it does not bring the "
            "other modes."
        ),
    ),
    "mode-collapse": Preset(
        _RING.replace(latent_dim=8, lr_g=1e-3, lr_d=1e-3, steps=4000),
        (
            "The same GAN with 8-dimensional noise and faster learning rates: G maps most of z onto a few of "
            "the eight modes. Over seeds 0-3 here it ends 4,000 iterations holding 2 to 4 modes (median 3) "
            "while three quarters of its samples are of high quality (median 0.75). Watch the mode heatmap: a "
            "few bright stripes and dark rows. Quality without diversity: each sample looks right, the "
            "distribution is wrong (reverse KL 1.17 median; 0 for the right proportions, log 8 = 2.08 on a "
            "single mode)."
        ),
    ),
    "label-smoothing": Preset(
        _RING.replace(label_smoothing=0.2),
        (
            "One-sided label smoothing, eps = 0.2: D's target on real data is 0.8, never 1. The optimal "
            "discriminator becomes D* = (1 - eps) p_data / (p_data + p_g), so where p_g = p_data it is "
            "(1 - eps)/2 = 0.4, not 1/2. Over seeds 0-3 here, mean D(x) on data sits 0.09 lower over the second "
            "half than in ring8 (the same runs without smoothing), at 0.44 in the seed that comes closest to "
            "p_data (all eight modes), and never reaches 0.8."
        ),
    ),
    "strong-discriminator": Preset(
        _RING.replace(k=5),
        (
            "k = 5 discriminator updates per generator update (Algorithm 1's k): D takes five steps towards its "
            "optimum for the current G for each step of G, so D(x) and D(G(z)) stay far apart (over seeds 0-3 "
            "here, a gap of 0.47 over the second half of 2,000 iterations against 0.31 with k = 1). G, chasing "
            "a sharp D, holds a few modes at 2,000 iterations (2 to 4 of eight), no more than with k = 1 (3.25 "
            "on average either way). The theory's 'D optimal at every step' is not by itself a recipe for "
            "better training."
        ),
    ),
    "wgan-gp": Preset(
        _RING.replace(loss="wgan-gp", k=5, lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9, steps=4000),
        (
            "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017), k = 5. D is a critic: its output "
            "is a score, not a probability, so the surface shows a slope rather than a 1/2 plateau. Watch the "
            "samples climb it (G maximises D(G(z)), so its arrows point to higher scores): over seeds 0-3 "
            "here, three of four reach all eight modes with nearly equal mass by iteration 4,000 (reverse KL "
            "0.04 to 0.06; the fourth has found none yet), while the high-quality share rises slowly (0.42 at "
            "4,000)."
        ),
    ),
}


# ---- remedies: the mode-collapse scenario with one remedy on, shorter so that three seeds fit in a test.
# Each claim compares seeds 0, 1, 2 with and without the remedy over the same 2,000 iterations; "modes
# held" is modes captured averaged over the evaluations of the second half (every 250 iterations from
# 1,000), which a single last evaluation would make a coin toss; "mode shares shift" is how much the shares
# of the modes among G's high-quality samples change between two of those evaluations (total variation: the
# least fraction of those samples that must change mode), so that fewer samples on modes do not pass for
# less hopping. tests/test_remedy_presets.py checks them.
REMEDY_STEPS = 2000
COLLAPSE = PRESETS["mode-collapse"].config.replace(steps=REMEDY_STEPS, eval_every=250)

FM_TEXT = (
    "Feature matching (Salimans et al. 2016), W = 1: G stops trying to fool D and matches the mean of D's "
    "last hidden features on data instead. Over seeds 0-2 and 2,000 iterations of the mode-collapse "
    "scenario (measured here), G holds 3.1 modes on average over the second half against 2.4 without the "
    "remedy, and its mode shares shift less between evaluations (0.40 against 0.55). It is no cure: "
    "G does not end closer to the right proportions (reverse KL 0.97 against 0.85) and fewer of its samples "
    "are of high quality (0.32 against 0.43). Lower W mixes the adversarial loss back in."
)
MBD_TEXT = (
    "Minibatch discrimination (Salimans et al. 2016), the paper's L1 kernel: D sees how alike the samples "
    "of its batch are. In this 2-D setting it does not bring the modes back: over seeds 0-2 and 2,000 "
    "iterations (measured here) G holds 1.5 modes on average over the second half against 2.4 without it. "
    "What it shows instead is D winning: G's first samples sit together, the kernel tells their batch from "
    "a batch of data at once (D(x) - D(G(z)) is over 0.9 by iteration 50), and at the end it is 0.83 "
    "against 0.42 (with seed 0, G never reaches a mode). Try the cheaper std-dev feature from the Remedies "
    "section."
)
HA_TEXT = (
    "Historical averaging (Salimans et al. 2016), lambda = 0.01: each player's loss gains the squared "
    "distance of its weights from the mean of its past weights. It does not capture more modes here: over "
    "seeds 0-2 and 2,000 iterations (measured here) G holds 1.4 modes on average over the second half "
    "against 2.4 without it, with a high-quality share of 0.08 against 0.43. What it is for, damping "
    "oscillation, shows only a little: its mode shares shift by 0.42 between evaluations against 0.55. "
    "Watch the heatmap: mostly dark, as few samples reach a mode. At lambda = 0.1 G finds almost nothing: "
    "at most 2% of its samples are of high quality after 2,000 iterations."
)
UNROLLED_TEXT = (
    "Unrolled GAN (Metz et al. 2017), K = 3: G's loss is taken against D after three more updates on the "
    "same batch, differentiated through them, so G anticipates D's answer; D's own weights never see the "
    "unrolling. Over seeds 0-2 and 2,000 iterations (measured here) G holds 3.8 modes on average over the "
    "second half against 2.4 without it, with more samples of high quality (0.61 against 0.43). It does not "
    "settle: its mode shares shift about as much between evaluations (0.49 against 0.55), and over the run "
    "it visits no more of the 8 modes (5.0 against 5.3). Each iteration costs about six plain ones."
)
PACK_TEXT = (
    "PacGAN (Lin et al. 2018), m = 2: D judges pairs, real with real and generated with generated, so a "
    "pair from a collapsed G (two samples of one mode) looks unlike a pair of data. Over seeds 0-2 and "
    "2,000 iterations (measured here) G holds 2.8 modes on average over the second half against 2.4 without "
    "it, its mode shares shift half as much (0.26 against 0.55) and it ends with reverse KL 0.70 against "
    "0.85; but few of its samples are of high quality yet (0.12 against 0.43): G spreads between the "
    "modes. D's surface shows D on a point packed with G's current samples."
)

REMEDY_PRESETS: dict[str, Preset] = {
    "remedy-feature-matching": Preset(COLLAPSE.replace(feature_matching=1.0), FM_TEXT),
    "remedy-minibatch-discrimination": Preset(COLLAPSE.replace(minibatch_discrimination=True), MBD_TEXT),
    "remedy-historical-averaging": Preset(COLLAPSE.replace(historical_averaging=0.01), HA_TEXT),
    "remedy-unrolled": Preset(COLLAPSE.replace(unrolled=3), UNROLLED_TEXT),
    "remedy-packing": Preset(COLLAPSE.replace(pack=2), PACK_TEXT),
}
PRESETS.update(REMEDY_PRESETS)

# Our best against PacGAN's (issue 19): the settings a search on seeds 100-101 found (core.papers.BEST), on
# PacGAN's data sets; `python -m core reproduce minimax-best` judges them on seeds 0-9 against PacGAN Table 1.
PACGAN_RING_TEXT = (
    "PacGAN's ring (8 modes on radius 1, std 0.01: ring8 at half the size) with the settings that did "
    "best on it in a search over the loss, packing, learning rates and G's average (seeds 100-101; the Papers "
    "page lists the commands): the hinge loss, packing 2 (D judges pairs of samples), lr_d 2e-4, and the samples "
    "drawn from G's weights averaged with beta 0.9995, 20,000 iterations. The average trails G by about "
    "2,000 updates: in seed 0 here it holds none of the eight modes up to iteration 7,000 (a blurred ring between "
    "them) while G itself holds seven by iteration 2,000 (set the average's beta to 0 to see G), and all eight "
    "from 9,000. Over seeds 0-9 here the averaged G ends with all "
    "eight modes in every seed and reverse KL 0.002 (PacGAN's best after 400,000 iterations: 7.9 modes, 0.07), "
    "and 98.1% of its samples are of high quality: PacGAN's best is 98.2% (its plain GAN, which holds 6.3 of the "
    "eight modes), and 97.7% the best of its rows that hold more than seven. Watch the mode heatmap: every row "
    "lit, in nearly equal shares."
)
PACGAN_GRID_TEXT = (
    "PacGAN's 5 x 5 grid with the settings that did best on it in the same search: the hinge loss, packing 2 "
    "and the samples drawn from G's weights averaged with beta 0.999, 20,000 iterations. The average trails "
    "G by about 1,000 updates: in seed 0 here it holds 7 of the 25 modes at iteration 6,000 where G holds 18, and "
    "at least as many as G at every thousand from 8,000 to 12,000. Over seeds 0-9 here the averaged G "
    "ends with at least one high-quality sample on all 25 modes in every seed (PacGAN's best: 24.8, PacGAN4), "
    "95.4% of its samples of high quality (PacGAN's best: 94.8%, its plain GAN) and reverse KL 0.015 (PacGAN4: "
    "0.04), under 0.01 in nine seeds and 0.10 in the tenth. Watch the mode heatmap fill all 25 rows."
)


def _pacgan(dataset: str) -> TrainConfig:
    return TrainConfig().replace(**PAPER_DATASETS[dataset], **BEST[dataset], steps=BEST_STEPS)


PACGAN_PRESETS: dict[str, Preset] = {
    "pacgan-ring": Preset(_pacgan("ring"), PACGAN_RING_TEXT),
    "pacgan-grid": Preset(_pacgan("grid"), PACGAN_GRID_TEXT),
}
PRESETS.update(PACGAN_PRESETS)

# The lecture's order (README's walkthrough, then the remedies): the page's Previous / Next scene buttons step
# through it, and tests/test_presets.py checks README lists the scenes in this order.
SCENES: tuple[str, ...] = (
    "ring8",
    "minimax-saturates",
    "mode-collapse",
    "strong-discriminator",
    "label-smoothing",
    "wgan-gp",
    "grid25",
    *REMEDY_PRESETS,
    *PACGAN_PRESETS,
)
assert sorted(SCENES) == sorted(PRESETS), "every preset is a scene of the lecture, once"
