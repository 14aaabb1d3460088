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


class InformationAt:
    """information(theta, a, b, c) of one fixed set of items at one scalar theta, with its
    theta-free parts computed once: with L = expit(a (theta - b)), P = c + (1 - c) L and
    I = a^2 (1 - c) L^2 (1 - L) / P (information()'s values to rounding, in 9 array passes
    instead of 16). The CAT step evaluates every item at the estimate; per pool, this is
    built once. Safe across threads: every call allocates its own arrays."""

    __slots__ = ("_a", "_ab", "_c", "_omc", "_a2w")

    def __init__(self, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
        a, b, c = (np.asarray(x, dtype=float) for x in (a, b, c))
        self._a, self._ab, self._c, self._omc = a, a * b, c, 1.0 - c
        self._a2w = a * a * (1.0 - c)

    def __call__(self, theta: float) -> np.ndarray:
        """(N,) information at the scalar theta."""
        lo = np.multiply(self._a, float(theta))
        lo -= self._ab
        expit(lo, out=lo)  # L
        den = np.multiply(self._omc, lo)
        den += self._c  # P
        out = np.multiply(lo, lo)
        out *= self._a2w
        np.subtract(1.0, lo, out=lo)
        out *= lo
        out /= den
        return out


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
