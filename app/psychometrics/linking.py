"""Putting new estimates on the operational scale, and how far anchors would move.

- stocking_lord: the linear transformation theta_old = A theta_new + B that makes the test
  characteristic curve of the common items under their new estimates match the one under their
  operational values (Stocking and Lord, 1983), over a N(0, 1) grid of abilities on the
  operational scale. Items then become a / A, A b + B, c on the operational scale.
- displacement: after a fixed-parameter calibration (anchors held), the estimates each anchor
  would get if it alone were freed on that fixed scale (one M-step from the final posterior);
  the difference from its held value is its displacement (large values: the item drifted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from app.psychometrics import calibration

Arr = np.ndarray


@dataclass(frozen=True)
class Linking:
    """theta_old = A theta_new + B; loss: the criterion at the optimum."""

    A: float
    B: float
    loss: float

    def apply(self, a: Arr, b: Arr, c: Arr) -> tuple[Arr, Arr, Arr]:
        """New-scale parameters (N,) expressed on the operational scale."""
        return a / self.A, self.A * b + self.B, c


def _tcc(theta: Arr, a: Arr, b: Arr, c: Arr) -> Arr:
    return (c + (1 - c) * expit(a * (theta[:, None] - b))).sum(axis=1)


def stocking_lord(old: tuple[Arr, Arr, Arr], new: tuple[Arr, Arr, Arr]) -> Linking:
    """A, B minimising sum_q w_q (TCC_old(theta_q) - TCC_new*(theta_q))^2 over the common
    items (old, new: their (a, b, c), each (K,)); starts from mean/sigma."""
    a0, b0, c0 = (np.asarray(x, float) for x in old)
    a1, b1, c1 = (np.asarray(x, float) for x in new)
    if len(a0) < 2:
        raise ValueError("linking needs at least two common items")
    theta = np.linspace(-4.0, 4.0, 41)
    weight = np.exp(-0.5 * theta**2)
    weight /= weight.sum()
    target = _tcc(theta, a0, b0, c0)

    def loss(x: Arr) -> float:
        big_a, big_b = x
        if big_a <= 0.05:
            return 1e12
        diff = target - _tcc(theta, a1 / big_a, big_a * b1 + big_b, c1)
        return float((weight * diff**2).sum())

    sd1 = float(np.std(b1))
    start_a = float(np.std(b0) / sd1) if sd1 > 1e-6 else 1.0
    start = np.array([start_a, float(np.mean(b0) - start_a * np.mean(b1))])
    res = minimize(loss, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10})
    return Linking(float(res.x[0]), float(res.x[1]), float(res.fun))


def displacement(
    responses: Arr, result: calibration.CalibrationResult, n_quad: int = 61
) -> tuple[Arr, Arr]:
    """(a_free - a, b_free - b) per item (N,), NaN for items that were not anchored: each
    anchor's estimate with everything else (items, latent distribution) held at the result."""
    mask, u = calibration.indicators(np.asarray(responses, dtype=float))
    points = np.linspace(-6.0, 6.0, n_quad)
    log_w = calibration._normal_log_weights(points, result.pop_mean, result.pop_sd)
    a, b, c = result.a.copy(), result.b.copy(), result.c.copy()
    _, n, r, _, _ = calibration._estep(mask, u, a, b, c, points, log_w)
    held = np.asarray(result.anchored, bool) & (mask.sum(0) > 0)
    da = np.full(len(a), np.nan)
    db = np.full(len(a), np.nan)
    if held.any():
        prior = calibration.Priors(log_a_mean=result.log_a_prior[0], log_a_sd=result.log_a_prior[1])
        three_pl = result.model == "3pl"
        fa, fb, _ = calibration._mstep(
            a[held], b[held], c[held], n[held], r[held], points, prior, three_pl
        )
        da[held], db[held] = fa - a[held], fb - b[held]
    return da, db
