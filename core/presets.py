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
    "columns and many dark ones. This is the baseline that remedies for mode collapse must beat.")

PRESETS: dict[str, Preset] = {
    "ring8": Preset(_RING, (
        "Eight tight Gaussians on a circle, non-saturating loss, k = 1. Watch G's samples spread from the "
        "centre, find the modes one by one and settle on all eight (seed 0, within 6,000 iterations), while "
        "D(x) on data and on samples drifts to 1/2 and D's surface flattens: the equilibrium "
        "D* = p_data / (p_data + p_g) = 1/2. Other seeds may drop a mode or two: that is mode dropping.")),
    "grid25": Preset(_RING.replace(dataset="grid"), GRID25_TEXT),
    "minimax-saturates": Preset(_RING.replace(loss="minimax", k=5, lr_d=2e-3, steps=1000), (
        "The paper's own objective, G minimising log(1 - D(G(z))), against a fast discriminator (k = 5). "
        "Within ten iterations D rejects G's samples with confidence, D(G(z)) sits near 0 where "
        "log(1 - D) is flat, and G's gradient is under a tenth of what the non-saturating loss would give "
        "on the same weights: the samples stay in the centre. Switch the loss to non-saturating and they "
        "move at once. This is why the paper recommends maximising log D(G(z)) instead.")),
    "mode-collapse": Preset(_RING.replace(latent_dim=8, lr_g=1e-3, lr_d=1e-3, steps=4000), (
        "The same GAN with 8-dimensional noise and faster learning rates (seed 0): from iteration 1,000 G "
        "maps almost all of z onto two of the eight modes and stays there. Watch the mode heatmap: two "
        "bright stripes; modes captured stuck at 2 while the high-quality share climbs above 0.8. Quality "
        "without diversity: each sample looks right, the distribution is wrong (reverse KL near log 4).")),
    "label-smoothing": Preset(_RING.replace(label_smoothing=0.2), (
        "One-sided label smoothing, eps = 0.2: D's target on real data is 0.8, never 1. The optimal "
        "discriminator becomes D* = (1 - eps) p_data / (p_data + p_g), so where p_g = p_data it is "
        "(1 - eps)/2 = 0.4, not 1/2: watch mean D(x) on data settle near 0.4 (near 1/2 in ring8, the same run "
        "without smoothing) and never reach 0.8.")),
    "strong-discriminator": Preset(_RING.replace(k=5), (
        "k = 5 discriminator updates per generator update (Algorithm 1's k). D stays near its optimum for "
        "the current G, so D(x) and D(G(z)) stay far apart (a gap well above that of k = 1), and G, chasing "
        "a sharp D, lands on a few modes (seed 0: one or two of eight). The theory's 'D optimal at every "
        "step' is not by itself a recipe for better training.")),
    "wgan-gp": Preset(_RING.replace(loss="wgan-gp", k=5, lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9,
                                    steps=4000), (
        "Wasserstein GAN with gradient penalty (Gulrajani et al. 2017), k = 5. D is a critic: its output "
        "is a score, not a probability, so the surface shows a slope rather than a 1/2 plateau. Watch the "
        "samples glide down the critic's slope and reach all eight modes with nearly equal mass (reverse "
        "KL under 0.1 by iteration 4,000), while the high-quality share climbs slowly.")),
}
