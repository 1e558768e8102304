"""The mathematics of Goodfellow et al. (2014) as pure functions on densities given on a regular grid.

Conventions: a density is an array of values on the cells of a regular grid and `cell` is one cell's
size (an area in 2-D, a length in 1-D), so integrals are sums times `cell`. 0 log 0 = 0; where both
densities vanish the optimal discriminator is taken as 1/2 (it is not determined there).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from .data import Mixture
from .grid import cell_size, data_mass, sample_mass

LOG4 = math.log(4.0)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """Proposition 1: D*(x) = p_data(x) / (p_data(x) + p_g(x)); 1/2 where both vanish."""
    p_data, p_g = np.asarray(p_data, dtype=np.float64), np.asarray(p_g, dtype=np.float64)
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


_TINY = np.finfo(np.float64).tiny


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y with 0 log(anything) = 0 (a zero density contributes nothing, even where y = 0).

    log y is floored at log(smallest positive double) = -708: where a density's far tail underflows,
    D* = p / (p + q) can round to 0 while p is a denormal > 0, and p log 0 would be -inf instead of ~0."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.zeros_like(x)
    held = x > 0
    out[held] = x[held] * np.log(np.maximum(y[held], _TINY))
    return out


def value_function(d: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, cell: float) -> float:
    """Eq. (1): V(D, G) = integral of p_data log D + p_g log(1 - D)."""
    d = np.asarray(d, dtype=np.float64)
    return float((_xlogy(p_data, d) + _xlogy(p_g, 1 - d)).sum() * cell)


def kl_divergence(p: np.ndarray, q: np.ndarray, cell: float) -> float:
    """KL(p || q) = integral of p log(p / q), in nats; infinite where p > 0 = q (0 log(0 / q) = 0).

    p log p - p log q with scipy's xlogy (x log 0 = -inf for x > 0): no floor on log q, unlike _xlogy, and
    no p / q to overflow where q is tiny. A subnormal p (below 2.2e-308: a tail that underflowed) counts as
    0: its term is below 1e-304 for any q > 0, and JSD's m = (p + q) / 2 rounds to 0 where p is the
    smallest subnormal and q = 0, which must not make the JSD infinite."""
    p = np.asarray(p, dtype=np.float64)
    p = np.where(p >= _TINY, p, 0.0)
    return float((special.xlogy(p, p) - special.xlogy(p, q)).sum() * cell)


def js_divergence(p: np.ndarray, q: np.ndarray, cell: float) -> float:
    """JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, in nats (at most log 2).
    Theorem 1: V(D*, G) = -log 4 + 2 JSD(p_data, p_g)."""
    m = (np.asarray(p, dtype=np.float64) + np.asarray(q, dtype=np.float64)) / 2
    return 0.5 * kl_divergence(p, m, cell) + 0.5 * kl_divergence(q, m, cell)


# |d objective / d logit| of G at D(G(z)) = d, for a logit l with d = sigmoid(l)
GENERATOR_GRADIENTS = {
    "minimax": lambda d: d,  # d/dl log(1 - sigmoid(l)) = -sigmoid(l): vanishes as D(G(z)) -> 0
    "nonsaturating": lambda d: 1 - d,  # d/dl -log sigmoid(l) = -(1 - sigmoid(l)): strongest as D(G(z)) -> 0
}


def generator_gradient(d, loss: str) -> np.ndarray:
    """Magnitude of the generator objective's gradient with respect to D's logit at D(G(z)) = d."""
    return GENERATOR_GRADIENTS[loss](np.asarray(d, dtype=np.float64))


# the two games: the gradient (dL/dx, dL/dy) of L(x, y); x minimises, y maximises
GAMES = {
    "x2-y2": lambda x, y: (2 * x, -2 * y),  # L = x^2 - y^2: a saddle, unique Nash equilibrium at (0, 0)
    "xy": lambda x, y: (y, x),  # L = x y: the bilinear game, equilibrium (0, 0), no strict saddle
}


def saddle_path(game: str, start, lr: float, steps: int, update: str = "simultaneous") -> np.ndarray:
    """Gradient descent for x and ascent for y on `game`, as (steps + 1, 2) points.

    simultaneous: both players move from the same point. alternating: x moves, then y answers the new x.
    On L = x y, simultaneous steps grow the distance to the equilibrium by sqrt(1 + lr^2) per step (an
    outward spiral); alternating steps preserve a quadratic form (a closed orbit): GAN training can
    oscillate instead of converging.
    """
    gradient = GAMES[game]
    if update not in ("simultaneous", "alternating"):
        raise ValueError("update must be 'simultaneous' or 'alternating'")
    path = np.empty((steps + 1, 2))
    path[0] = start
    x, y = float(start[0]), float(start[1])
    for t in range(1, steps + 1):
        if update == "simultaneous":
            gx, gy = gradient(x, y)
            x, y = x - lr * gx, y + lr * gy
        else:
            x = x - lr * gradient(x, y)[0]
            y = y + lr * gradient(x, y)[1]
        path[t] = x, y
    return path


def pure_nash_equilibria(payoff_1, payoff_2) -> list[tuple[int, int]]:
    """Cells (i, j) of a bimatrix game where row i is a best response to column j for player 1 and
    column j a best response to row i for player 2."""
    a, b = np.asarray(payoff_1, dtype=np.float64), np.asarray(payoff_2, dtype=np.float64)
    best_rows = a >= a.max(axis=0, keepdims=True)
    best_cols = b >= b.max(axis=1, keepdims=True)
    return [(int(i), int(j)) for i, j in zip(*np.nonzero(best_rows & best_cols), strict=True)]


def gaussian(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The 1-D normal density N(mean, std^2) at x."""
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def fit_gaussian(x: np.ndarray, p: np.ndarray, divergence: str) -> tuple[float, float]:
    """(mean, std) of the single Gaussian q closest to the 1-D density p on the regular grid x.

    "kl": KL(p || q) is minimised by matching p's mean and variance (mean-seeking: q covers every mode);
    "reverse_kl": KL(q || p) (mode-seeking: q sits on one mode); "js": JSD(p, q). The last two are
    minimised numerically from several starts."""
    x, p = np.asarray(x, dtype=np.float64), np.asarray(p, dtype=np.float64)
    cell = float(x[1] - x[0])
    p = p / (p.sum() * cell)
    mean = float((x * p).sum() * cell)
    std = math.sqrt(float(((x - mean) ** 2 * p).sum() * cell))
    if divergence == "kl":
        return mean, std
    floor = 1e-300  # q is tiny but never 0 on the grid: keeps log q finite
    objectives = {
        "reverse_kl": lambda q: kl_divergence(q, np.maximum(p, floor), cell),
        "js": lambda q: js_divergence(p, q, cell),
    }
    objective = objectives[divergence]
    fits = (
        optimize.minimize(
            lambda v: objective(gaussian(x, v[0], math.exp(v[1]))),
            x0=[start, math.log(std / 3)],
            method="Nelder-Mead",
            options=dict(xatol=1e-5, fatol=1e-9, maxiter=2000),
        )
        for start in np.linspace(x[0], x[-1], 9)[1:-1]
    )
    best = min(fits, key=lambda fit: fit.fun)
    return float(best.x[0]), float(math.exp(best.x[1]))


def value_report(surface: np.ndarray, samples: np.ndarray, mixture: Mixture, edges: np.ndarray) -> dict:
    """Theorem 1 on the live run's grid: V(D, G) with the learned D, V(D*, G) and JSD(p_data, p_g).

    surface: D(x) on the grid's cells ([y, x], a probability). p_g is known through G's samples, so it is
    a kernel density estimate, and p_data is seen through the same kernel (core.grid: compare like with
    like). Both are restricted to the view's square and renormalised there, so that on this pair
    V(D*, G) = -log 4 + 2 JSD holds to rounding and V(D, G) <= V(D*, G) for every D: exact samples of p_data
    give JSD ~ 0, V(D*, G) ~ -log 4 and D* ~ 1/2 wherever p_data has mass."""
    cell = cell_size(edges)
    p, q = data_mass(mixture, edges), sample_mass(samples, edges)
    p, q = p / (p.sum() * cell), q / (q.sum() * cell)
    d_star = optimal_discriminator(p, q)
    d = np.clip(np.asarray(surface, dtype=np.float64), 0, 1)
    return dict(
        value_d=value_function(d, p, q, cell),
        value_d_star=value_function(d_star, p, q, cell),
        jsd=js_divergence(p, q, cell),
        # E_p_data[D*] and E_p_g[D*]: what the best D would say on average about data and about samples
        # (the board's mean D(x) and D(G(z)) for the learned D); both are 1/2 when p_g = p_data
        d_star_real=float((p * d_star).sum() * cell),
        d_star_fake=float((q * d_star).sum() * cell),
        d_star=d_star,
        p_g=q,
        p_data=p,
    )
