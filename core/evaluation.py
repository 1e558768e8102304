"""The evaluation metrics of the literature, made exact in 2-D where the true density is known.

- FID (Heusel et al. 2017) on the samples themselves, against the mixture's exact mean and covariance;
- the Inception Score's analog, with the mixture's own posterior over modes as the classifier, and the
  score of p_data itself beside it;
- precision and recall of generative models (Kynkaanniemi et al. 2019) and their F1, with density and
  coverage (Naeem et al. 2020), all on k-nearest-neighbour balls around exact samples of p_data;
- together with core.metrics' mode statistics and JSD in one `evaluate`.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.special import logsumexp
from scipy.stats import entropy

from .data import Mixture
from .grid import jsd
from .metrics import MODE_RULES, mode_statistics, mode_width


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
    """exp(E_x KL(p(y|x) || p(y))), p(y) = E_x p(y|x) (Salimans et al. 2016).

    It is exp(I(x; y)) = exp(H(p(y)) - E_x H(p(y|x))) <= exp(H(p(y))) <= K, the number of modes: K is
    reached when every sample is confidently one mode and the modes are used equally, whatever the
    mixture's weights. So with unequal weights a generator can score above p_data itself
    (`data_inception_score`)."""
    post = mode_posterior(samples, mixture)
    marginal = post.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(post > 0, post * (np.log(post) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


def _knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest neighbour in the same set (itself excluded)."""
    distances, _ = cKDTree(points).query(points, k=k + 1)
    return distances[:, k]


def data_inception_score(mixture: Mixture) -> float:
    """The Inception Score of p_data itself, exp(H(w)) for mode weights w (when the modes do not overlap,
    p(y|x) is one-hot and p(y) = w). Not a maximum: K equally used modes score K >= exp(H(w))."""
    return float(np.exp(entropy(mixture.weights)))


def _ball_counts(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each query, in how many balls B(centre, radius) it lies (chunked: chunk x m distances at once)."""
    out = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        block = cdist(queries[start : start + chunk], centres)
        out[start : start + chunk] = (block <= radii[None]).sum(1)
    return out


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict:
    """Precision, recall and F1 (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020) of
    M fakes Y_j against N reals X_i, any N and M. B(x, r) is the closed ball, NND_k(x) the distance from x
    to its k-th nearest neighbour in its own set (prdc, the authors' code, uses open balls: the same
    numbers unless a point lies exactly on a ball's edge)."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    in_real = _ball_counts(fake, real, real_radii)  # per fake: how many real balls B(X_i, NND_k(X_i)) hold it
    # precision = (1/M) sum_j 1[Y_j in the union over i of B(X_i, NND_k(X_i))]
    precision = float((in_real > 0).mean())
    # recall = (1/N) sum_i 1[X_i in the union over j of B(Y_j, NND_k(Y_j))]
    recall = float((_ball_counts(real, fake, fake_radii) > 0).mean())
    # coverage = (1/N) sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))], i.e. X_i's nearest fake is within its radius
    nearest_fake = cKDTree(fake).query(real, k=1)[0]
    covered = nearest_fake <= real_radii
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return dict(
        precision=precision,
        recall=recall,
        f1=f1,
        density=float(in_real.sum() / (k * len(fake))),  # density = (1/kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]
        coverage=float(covered.mean()),
    )


def evaluate(
    samples: np.ndarray, mixture: Mixture, *, k: int = 3, seed: int = 0, grid: int = 100, rule: str = "minimax"
) -> dict:
    """Every metric of a sample set against the mixture. The real set for precision and recall is as
    many exact samples of p_data as there are samples (seeded: the same file gives the same numbers).
    modes_captured counts by `rule` (core.metrics.MODE_RULES), named in mode_rule with its mode_minimum."""
    x = np.asarray(samples, dtype=np.float64)
    real = mixture.sample(len(x), torch.Generator().manual_seed(seed)).numpy().astype(np.float64)
    stats = mode_statistics(x, mixture, rule=rule)
    return dict(
        n=len(x),
        fid=fid(x, mixture),
        inception_score=inception_score(x, mixture),
        inception_score_data=data_inception_score(mixture),
        **precision_recall(real, x, k),
        modes_captured=stats.modes_captured,
        modes_total=mixture.n_modes,
        mode_rule=rule,
        mode_minimum=MODE_RULES[rule].minimum(len(x)),
        high_quality=stats.high_quality,
        reverse_kl=stats.reverse_kl,
        jsd=jsd(x, mixture, grid),
        mode_width=mode_width(x, mixture),
    )
