"""The evaluation metrics of the literature, made exact in 2-D where the true density is known.

- FID (Heusel et al. 2017) on the samples themselves, against the mixture's exact mean and covariance;
- the Inception Score's analog, with the mixture's own posterior over modes as the classifier, and the
  score of p_data itself beside it;
- precision and recall of generative models (Kynkaanniemi et al. 2019) and their F1, with density and
  coverage (Naeem et al. 2020), all on k-nearest-neighbour balls around exact samples of p_data;
- together with core.metrics' mode statistics and JSD in one `sample_report`, on at most EVAL_MAX_SAMPLES
  rows (a seeded subsample above it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import logsumexp
from scipy.stats import entropy

from .data import Mixture
from .grid import data_mass, discrete_jsd, grid_edges, sample_mass
from .metrics import MODE_RULES, mode_statistics, mode_width

EVAL_MAX_SAMPLES = 100_000  # rows scored: above it, a seeded subsample of this many (a few seconds, < 1 GB)
JSD_CHUNK = 10_000  # samples per kernel density estimate on the grid: grid_masses holds ~5 KB per sample and bin


def jsd(samples: np.ndarray, mixture: Mixture, bins: int = 100) -> float:
    """core.grid.jsd (the same cells, kernel and off-square cell) with p_g's kernel density estimate summed
    over chunks of JSD_CHUNK samples: all at once, 100,000 samples held 0.8 GB."""
    x = np.asarray(samples, dtype=np.float64)
    edges = grid_edges(mixture, bins)
    p, q = data_mass(mixture, edges).ravel(), np.zeros(bins**mixture.dim)
    for start in range(0, len(x), JSD_CHUNK):
        chunk = x[start : start + JSD_CHUNK]
        q += sample_mass(chunk, edges).ravel() * (len(chunk) / len(x))
    return discrete_jsd(np.append(p, max(0.0, 1 - p.sum())), np.append(q, max(0.0, 1 - q.sum())))


def mixture_moments(mixture: Mixture) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and covariance: mu = sum w_k mu_k, Sigma = sum w_k (s_k^2 I + mu_k mu_k^T) - mu mu^T."""
    w, m, s = mixture.weights, mixture.means, mixture.stds
    mean = w @ m
    cov = np.einsum("k,ki,kj->ij", w, m, m) + np.eye(mixture.dim) * (w @ s**2) - np.outer(mean, mean)
    return mean, cov


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Tr (S1 S2)^(1/2) is the sum of the square roots of the eigenvalues of S1 S2, which are those of the
    symmetric positive semi-definite S1^(1/2) S2 S1^(1/2): taken that way (eigh, rounding's tiny negative
    eigenvalues clipped at 0), it is real and finite where a general matrix square root needs guards and
    can fail: two samples 2e9 apart gave it an imaginary part of 8 (issue 14's fuzzing)."""
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    s1, s2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    w, v = np.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^(1/2)
    inner = root @ s2 @ root
    trace_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_covmean)


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
    post = mode_posterior(samples, mixture.modal)
    marginal = post.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(post > 0, post * (np.log(post) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


class _Points:
    """A point set as its distinct points with their multiplicities, and a KD-tree of the distinct ones: a
    collapsed generator's 100,000 copies of one point would make a KD-tree leaf no split can divide, and
    every query through it would read them all."""

    def __init__(self, points: np.ndarray):
        # + 0.0 turns -0.0 into 0.0: distinct rows are then distinct points
        unique, inverse, counts = np.unique(points + 0.0, axis=0, return_inverse=True, return_counts=True)
        self.unique, self.inverse, self.counts = unique, inverse.reshape(-1), counts
        self.tree = cKDTree(self.unique)

    def knn_radii(self, k: int) -> np.ndarray:
        """Per distinct point, the distance to its k-th nearest neighbour among the others of the multiset
        (one copy of itself excluded, its other copies at distance 0): the same number as a query for the
        k + 1 nearest of the full set, since each distinct neighbour stands for at least one point."""
        distances, index = self.tree.query(self.unique, k=[*range(1, k + 2)])  # a list keeps the 2-D shape
        others = self.counts[np.minimum(index, len(self.unique) - 1)] - (index == np.arange(len(index))[:, None])
        others[index == len(self.unique)] = 0  # fewer than k + 1 distinct points: missing neighbours
        reached = np.cumsum(others, axis=1) >= k
        return np.where(reached.any(1), distances[np.arange(len(index)), reached.argmax(1)], np.inf)


def data_inception_score(mixture: Mixture) -> float:
    """The Inception Score of p_data itself, exp(H(w)) for mode weights w (when the modes do not overlap,
    p(y|x) is one-hot and p(y) = w). Not a maximum: K equally used modes score K >= exp(H(w))."""
    return float(np.exp(entropy(mixture.modal.weights)))


def _ball_members(
    centres: np.ndarray, radii: np.ndarray, points: cKDTree, chunk: int = 4096
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The pairs (i, j) with points[j] in the closed ball B(centres[i], radii[i]), a chunk of centres at a
    time, as two index arrays.

    The KD-tree finds the candidates within a hair more than each radius (its own rounding never drops a
    point on an edge), and each is kept by the very test of the dense definition, sqrt(dx^2 + dy^2) <= r,
    so the pairs are exactly those of a full distance matrix. No n x m matrix is formed: the work is the
    number of pairs, at most a few k per point for k-nearest-neighbour balls (a point lies in at most
    ~6k of the k-NN balls of a set in the plane), not N x M."""
    for start in range(0, len(centres), chunk):
        stop = min(start + chunk, len(centres))
        found = points.query_ball_point(centres[start:stop], radii[start:stop] * (1 + 1e-9), return_sorted=False)
        counts = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
        j = np.fromiter(itertools.chain.from_iterable(found), dtype=np.intp, count=int(counts.sum()))
        i = np.repeat(np.arange(start, stop), counts)
        inside = np.sqrt(((centres[i] - points.data[j]) ** 2).sum(1)) <= radii[i]
        yield i[inside], j[inside]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict:
    """Precision, recall and F1 (Kynkaanniemi et al. 2019), density and coverage (Naeem et al. 2020) of
    M fakes Y_j against N reals X_i, any N and M. B(x, r) is the closed ball, NND_k(x) the distance from x
    to its k-th nearest neighbour in its own set (prdc, the authors' code, uses open balls: the same
    numbers unless a point lies exactly on a ball's edge). Neighbour queries on KD-trees of the distinct
    points: time and memory grow with N + M, not N x M (`_ball_members`, `_Points`)."""
    reals, fakes = _Points(np.asarray(real, dtype=np.float64)), _Points(np.asarray(fake, dtype=np.float64))
    real_radii, fake_radii = reals.knn_radii(k), fakes.knn_radii(k)
    in_real_ball = np.zeros(len(fakes.unique), dtype=np.bool_)
    pairs = 0  # of (X_i, Y_j) with Y_j in B(X_i, NND_k(X_i)), copies counted
    for i, j in _ball_members(reals.unique, real_radii, fakes.tree):
        in_real_ball[j] = True
        pairs += int(reals.counts[i] @ fakes.counts[j])
    in_fake_ball = np.zeros(len(reals.unique), dtype=np.bool_)
    for _, i in _ball_members(fakes.unique, fake_radii, reals.tree):
        in_fake_ball[i] = True
    # precision = (1/M) sum_j 1[Y_j in the union over i of B(X_i, NND_k(X_i))]
    precision = float(in_real_ball[fakes.inverse].mean())
    # recall = (1/N) sum_i 1[X_i in the union over j of B(Y_j, NND_k(Y_j))]
    recall = float(in_fake_ball[reals.inverse].mean())
    # coverage = (1/N) sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))], i.e. X_i's nearest fake is within its radius
    covered = fakes.tree.query(reals.unique, k=1)[0] <= real_radii
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return dict(
        precision=precision,
        recall=recall,
        f1=f1,
        density=pairs / (k * len(fakes.inverse)),  # density = (1/kM) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]
        coverage=float(covered[reals.inverse].mean()),
    )


def sample_report(
    samples: np.ndarray,
    mixture: Mixture,
    *,
    k: int = 3,
    seed: int = 0,
    grid: int = 100,
    rule: str = "minimax",
    max_samples: int | None = None,
) -> dict:
    """Every metric of a sample set against the mixture. Above `max_samples` rows (EVAL_MAX_SAMPLES unless
    given) every metric is taken on a seeded subsample of that many (`n` the rows given, `n_used` the rows
    scored). The real set for precision and recall is as many exact samples of p_data as are scored
    (seeded: the same file gives the same numbers). modes_captured counts by `rule`
    (core.metrics.MODE_RULES), named in mode_rule with its mode_minimum."""
    x = np.asarray(samples, dtype=np.float64)
    n, max_samples = len(x), max_samples or EVAL_MAX_SAMPLES
    if n > max_samples:
        x = x[np.sort(np.random.default_rng(seed).choice(n, max_samples, replace=False))]
    real = mixture.sample(len(x), torch.Generator().manual_seed(seed)).numpy().astype(np.float64)
    stats = mode_statistics(x, mixture, rule=rule)
    return dict(
        n=n,
        n_used=len(x),
        fid=fid(x, mixture),
        inception_score=inception_score(x, mixture),
        inception_score_data=data_inception_score(mixture),
        **precision_recall(real, x, k),
        modes_captured=stats.modes_captured,
        modes_total=mixture.modal.n_modes,
        mode_rule=rule,
        mode_minimum=MODE_RULES[rule].minimum(len(x)),
        high_quality=stats.high_quality,
        reverse_kl=stats.reverse_kl,
        jsd=jsd(x, mixture, grid),
        mode_width=mode_width(x, mixture),
    )
