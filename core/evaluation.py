"""The evaluation metrics of the literature, made exact in 2-D where the true density is known.

- FID (Heusel et al. 2017) on the samples themselves, against the mixture's exact mean and covariance;
- the Inception Score's analog, with the mixture's own posterior over modes as the classifier;
- precision and recall of generative models (Kynkaanniemi et al. 2019) and their F1, with density and
  coverage (Naeem et al. 2020), all on k-nearest-neighbour balls around exact samples of p_data;
- together with core.metrics' mode statistics and JSD in one `evaluate`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import linalg
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from .data import Mixture
from .metrics import jsd, mode_statistics


def mixture_moments(mixture: Mixture) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and covariance: mu = sum w_k mu_k, Sigma = sum w_k (s_k^2 I + mu_k mu_k^T) - mu mu^T."""
    w, m, s = mixture.weights, mixture.means, mixture.stds
    mean = w @ m
    cov = np.einsum("k,ki,kj->ij", w, m, m) + np.eye(mixture.dim) * (w @ s**2) - np.outer(mean, mean)
    return mean, cov


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    The usual guard of FID implementations: if S1 S2 is near singular, add eps I to both; a tiny imaginary
    part of the square root (numerical noise) is dropped, a large one is an error."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    s1, s2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"the matrix square root has a large imaginary part: {np.abs(covmean.imag).max():g}")
        covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fid(samples: np.ndarray, mixture: Mixture) -> float:
    """FID between the samples' Gaussian fit and p_data's exact first two moments (no Inception network:
    the data is 2-D)."""
    x = np.asarray(samples, dtype=np.float64)
    mean, cov = mixture_moments(mixture)
    return frechet_distance(x.mean(0), np.atleast_2d(np.cov(x, rowvar=False)), mean, cov)


def mode_posterior(samples: np.ndarray, mixture: Mixture) -> np.ndarray:
    """p(y = k | x) = w_k N(x; mu_k, s_k^2 I) / p(x), computed in log space (modes of std 0.02 underflow)."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1, mixture.dim)
    sq = ((x[:, None, :] - mixture.means[None]) ** 2).sum(-1)
    log_joint = (
        np.log(np.maximum(mixture.weights, 1e-300)) - mixture.dim * np.log(mixture.stds) - 0.5 * sq / mixture.stds**2
    )
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def inception_score(samples: np.ndarray, mixture: Mixture) -> float:
    """exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x): at most the number of equally weighted modes,
    reached when every sample is confidently one mode and the modes are used equally."""
    post = mode_posterior(samples, mixture)
    marginal = post.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(post > 0, post * (np.log(post) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


def _knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    distances, _ = cKDTree(points).query(points, k=k + 1)
    return distances[:, k]


def _ball_counts(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each query, in how many balls B(centre, radius) it lies (chunked: n x m distances at once)."""
    out = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        block = cdist(queries[start : start + chunk], centres)
        out[start : start + chunk] = (block <= radii[None]).sum(1)
    return out


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict:
    """Kynkaanniemi et al. (2019): precision = share of fakes inside the union of real k-NN balls,
    recall = share of reals inside the union of fake k-NN balls; F1 their harmonic mean.
    Naeem et al. (2020): density = (1/kM) sum_fakes #real balls holding it; coverage = share of real
    balls holding at least one fake."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    in_real = _ball_counts(fake, real, real_radii)
    precision = float((in_real > 0).mean())
    recall = float((_ball_counts(real, fake, fake_radii) > 0).mean())
    covered = _ball_counts(real, fake, real_radii) > 0  # a fake within the real point's own ball
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return dict(
        precision=precision,
        recall=recall,
        f1=f1,
        density=float(in_real.sum() / (k * len(fake))),
        coverage=float(covered.mean()),
    )


def evaluate(samples: np.ndarray, mixture: Mixture, *, k: int = 3, seed: int = 0, grid: int = 100) -> dict:
    """Every metric of a sample set against the mixture. The real set for precision and recall is as
    many exact samples of p_data as there are samples (seeded: the same file gives the same numbers)."""
    x = np.asarray(samples, dtype=np.float64)
    real = mixture.sample(len(x), torch.Generator().manual_seed(seed)).numpy().astype(np.float64)
    stats = mode_statistics(x, mixture)
    return dict(
        n=len(x),
        fid=fid(x, mixture),
        inception_score=inception_score(x, mixture),
        inception_score_max=float(math.exp(-(mixture.weights * np.log(mixture.weights)).sum())),
        **precision_recall(real, x, k),
        modes_captured=stats.modes_captured,
        modes_total=mixture.n_modes,
        high_quality=stats.high_quality,
        reverse_kl=stats.reverse_kl,
        jsd=jsd(x, mixture, grid),
    )
