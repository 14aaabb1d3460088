"""Three-parameter logistic (3PL) model on the logistic metric (no 1.7 scaling constant).

Units: theta, b on the logit (theta) scale; a per logit; c a probability in [0, 1).
Shapes: item parameter arrays are (N,); theta is a scalar or an ability grid (G,).
A scalar theta gives (N,) results, a grid gives (G, N).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

ArrayLike = np.ndarray | float

# Keeps log(P) and log(1 - P) finite for extreme theta.
_EPS = 1e-12


def _outer_theta(theta: ArrayLike) -> np.ndarray:
    """A grid theta (G,) gets a trailing axis to broadcast against (N,) items; a scalar stays."""
    t = np.asarray(theta, dtype=float)
    return t[..., np.newaxis] if t.ndim else t


def probability(theta: ArrayLike, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """P(correct | theta) = c + (1 - c) / (1 + exp(-a (theta - b))).

    theta: scalar or (G,); a, b, c: (N,). Returns (N,) for a scalar theta, else (G, N).
    """
    t = _outer_theta(theta)
    return c + (1.0 - c) * expit(a * (t - b))


def information(theta: ArrayLike, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Fisher information I(theta) = a^2 (P - c)^2 (1 - P) / ((1 - c)^2 P), always >= 0.

    theta: scalar or (G,); a, b, c: (N,). Returns (N,) or (G, N), in 1 / theta-units^2.
    """
    p = probability(theta, a, b, c)
    return a * a * (p - c) ** 2 * (1.0 - p) / ((1.0 - c) ** 2 * p)


def test_information(theta: ArrayLike, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Test information: the sum of item information over the N items; scalar or (G,)."""
    return information(theta, a, b, c).sum(axis=-1)


test_information.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def log_likelihood(
    theta: ArrayLike, a: np.ndarray, b: np.ndarray, c: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """log L(theta) = sum_i u_i log P_i + (1 - u_i) log(1 - P_i).

    u: (N,) responses in {0, 1}. Returns a scalar for scalar theta, else (G,).
    """
    p = np.clip(probability(theta, a, b, c), _EPS, 1.0 - _EPS)
    u = np.asarray(u, dtype=float)
    return (u * np.log(p) + (1.0 - u) * np.log1p(-p)).sum(axis=-1)


def item_log_likelihood(
    grid: np.ndarray, a: float, b: float, c: float, correct: bool
) -> np.ndarray:
    """log P(u | theta) of one item on a grid (G,): log P if correct, log(1 - P) otherwise."""
    p = c + (1.0 - c) * expit(a * (grid - b))
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p) if correct else np.log1p(-p)
