"""Named lecture scenarios: a full config plus what to watch. Every claim made here is checked by a
fixed-seed test in tests/test_presets.py."""

from __future__ import annotations

from dataclasses import dataclass

from .config import TrainConfig


@dataclass(frozen=True)
class Preset:
    config: TrainConfig
    watch: str


_RING = TrainConfig()

GRID25_TEXT = (
    "A 5 x 5 grid of Gaussians, PacGAN's benchmark: 25 modes in a square is much harder than 8 on a ring. "
    "The plain GAN of ring8 drops most of the grid: with seed 0 it holds 7 of the 25 modes after 6,000 "
    "iterations, with more than half of its samples of high quality. Watch the mode heatmap: a few bright "
    "columns and many dark ones. This is the baseline that remedies for mode collapse must beat."
)

PRESETS: dict[str, Preset] = {
    "ring8": Preset(
        _RING,
        (
            "Eight tight Gaussians on a circle, non-saturating loss, k = 1. Watch G's samples spread from the "
            "centre, find the modes one by one and settle on all eight (seed 0, within 6,000 iterations), while "
            "D(x) on data and on samples drifts to 1/2 and D's surface flattens: the equilibrium "
            "D* = p_data / (p_data + p_g) = 1/2. Other seeds may drop a mode or two: that is mode dropping."
        ),
    ),
    "grid25": Preset(_RING.replace(dataset="grid"), GRID25_TEXT),
    "minimax-saturates": Preset(
        _RING.replace(loss="minimax", k=5, lr_d=2e-3, steps=1000),
        (
            "The paper's own objective, G minimising log(1 - D(G(z))), against a fast discriminator (k = 5). "
            "Within ten iterations D rejects G's samples with confidence, D(G(z)) sits near 0 where "
            "log(1 - D) is flat, and G's gradient is under a tenth of what the non-saturating loss would give "
            "on the same weights: the samples stay in the centre. Switch the loss to non-saturating and they "
            "move at once. This is why the paper recommends maximising log D(G(z)) instead."
        ),
    ),
    "mode-collapse": Preset(
        _RING.replace(latent_dim=8, lr_g=1e-3, lr_d=1e-3, steps=4000),
        (
            "The same GAN with 8-dimensional noise and faster learning rates (seed 0): from iteration 1,000 G "
            "maps almost all of z onto two of the eight modes and stays there. Watch the mode heatmap: two "
            "bright stripes; modes captured stuck at 2 while the high-quality share climbs above 0.8. Quality "
            "without diversity: each sample looks right, the distribution is wrong (reverse KL near log 4)."
        ),
    ),
    "label-smoothing": Preset(
        _RING.replace(label_smoothing=0.2),
        (
            "One-sided label smoothing, eps = 0.2: D's target on real data is 0.8, never 1. The optimal "
            "discriminator becomes D* = (1 - eps) p_data / (p_data + p_g), so where p_g = p_data it is "
            "(1 - eps)/2 = 0.4, not 1/2: watch mean D(x) on data settle near 0.4 (near 1/2 in ring8, the same run "
            "without smoothing) and never reach 0.8."
        ),
    ),
    "strong-discriminator": Preset(
        _RING.replace(k=5),
        (
            "k = 5 discriminator updates per generator update (Algorithm 1's k). D stays near its optimum for "
            "the current G, so D(x) and D(G(z)) stay far apart (a gap well above that of k = 1), and G, chasing "
            "a sharp D, lands on a few modes (seed 0: one or two of eight). The theory's 'D optimal at every "
            "step' is not by itself a recipe for better training."
        ),
    ),
    "wgan-gp": Preset(
        _RING.replace(loss="wgan-gp", k=5, lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9, steps=4000),
        (
            "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017), k = 5. D is a critic: its output "
            "is a score, not a probability, so the surface shows a slope rather than a 1/2 plateau. Watch the "
            "samples glide down the critic's slope and reach all eight modes with nearly equal mass (reverse "
            "KL under 0.1 by iteration 4,000), while the high-quality share climbs slowly."
        ),
    ),
}


# ---- remedies: the mode-collapse scenario with one remedy on, shorter so that three seeds fit in a test.
# Each claim compares seeds 0, 1, 2 with and without the remedy over the same 2,000 iterations; "modes
# held" is modes captured averaged over the evaluations of the second half (every 250 iterations from
# 1,000), which a single last evaluation would make a coin toss. tests/test_remedy_presets.py checks them.
REMEDY_STEPS = 2000
COLLAPSE = PRESETS["mode-collapse"].config.replace(steps=REMEDY_STEPS, eval_every=250)

FM_TEXT = (
    "Feature matching (Salimans et al. 2016), W = 1: G stops trying to fool D and matches the mean of D's "
    "last hidden features on data instead. Over seeds 0-2 and 2,000 iterations of the mode-collapse "
    "scenario, G holds 4.4 modes on average over the second half against 2.7 without the remedy, and ends "
    "with reverse KL 0.42 against 1.13; the high-quality share is 0.60 against 0.51. Watch the mode "
    "heatmap: more stripes, and they stay. Lower W mixes the adversarial loss back in."
)
MBD_TEXT = (
    "Minibatch discrimination (Salimans et al. 2016), the paper's L1 kernel: D sees how alike the samples "
    "of its batch are. In this 2-D setting it does not bring the modes back: over seeds 0-2 and 2,000 "
    "iterations G holds 0.8 modes on average over the second half against 2.7 without it, and the high-"
    "quality share falls to 0.12 against 0.51. What it shows instead is D winning: G's first samples sit "
    "together, the kernel tells their batch from a batch of data at once, and at the end D(x) - D(G(z)) "
    "is 0.95 against 0.41. Try the cheaper std-dev feature from the Remedies section."
)
HA_TEXT = (
    "Historical averaging (Salimans et al. 2016), lambda = 0.01: each player's loss gains the squared "
    "distance of its weights from the mean of its past weights. It does not capture more modes here: over "
    "seeds 0-2 and 2,000 iterations G holds 1.5 modes on average over the second half against 2.7 without "
    "it, with a high-quality share of 0.15 against 0.51. What holds is what it is for, damping "
    "oscillation: the mode shares change four times less between evaluations (0.028 against 0.124). Watch "
    "the heatmap: steady stripes, slow to form. At lambda = 0.1 G barely leaves its starting weights."
)
UNROLLED_TEXT = (
    "Unrolled GAN (Metz et al. 2017), K = 3: G's loss is taken against D after three more updates on the "
    "same batch, differentiated through them, so G anticipates D's answer; D's own weights never see the "
    "unrolling. Over seeds 0-2 and 2,000 iterations G holds 4.2 modes on average over the second half "
    "against 2.7 without it and visits 6.7 of the 8 modes against 4.3. It does not settle: the mode "
    "shares hop more (0.17 against 0.12 between evaluations) and fewer samples are of high quality (0.31 "
    "against 0.51). Each iteration costs about six plain ones."
)
PACK_TEXT = (
    "PacGAN (Lin et al. 2018), m = 2: D judges pairs, real with real and generated with generated, so a "
    "pair from a collapsed G (two samples of one mode) looks unlike a pair of data. Over seeds 0-2 and "
    "2,000 iterations G holds 3.5 modes on average over the second half against 2.7 without it, visits "
    "6.3 of the 8 against 4.3, hops half as much (0.063 against 0.124) and ends with reverse KL 0.68 "
    "against 1.13; fewer of its samples are of high quality yet (0.32 against 0.51). D's surface shows D "
    "on a point packed with G's current samples."
)

REMEDY_PRESETS: dict[str, Preset] = {
    "remedy-feature-matching": Preset(COLLAPSE.replace(feature_matching=1.0), FM_TEXT),
    "remedy-minibatch-discrimination": Preset(COLLAPSE.replace(minibatch_discrimination=True), MBD_TEXT),
    "remedy-historical-averaging": Preset(COLLAPSE.replace(historical_averaging=0.01), HA_TEXT),
    "remedy-unrolled": Preset(COLLAPSE.replace(unrolled=3), UNROLLED_TEXT),
    "remedy-packing": Preset(COLLAPSE.replace(pack=2), PACK_TEXT),
}
PRESETS.update(REMEDY_PRESETS)
