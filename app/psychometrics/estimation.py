"""Ability estimation: EAP on a fixed quadrature grid (with incremental updates), MAP and MLE.

Units: theta on the logit scale; standard errors in the same units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from app.psychometrics import irt

GRID_POINTS = 81
GRID_BOUNDS = (-6.0, 6.0)


@dataclass(frozen=True, eq=False)
class Grid:
    """A fixed quadrature grid with the log of a normal prior on it.

    points: (G,) equally spaced theta values; log_prior: (G,) unnormalised log N(mean, sd^2).
    """

    points: np.ndarray
    log_prior: np.ndarray
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    _key: tuple[Any, ...] = field(default=(), repr=False)


_GRID_CACHE: dict[tuple[Any, ...], Grid] = {}


def make_grid(
    n_points: int = GRID_POINTS,
    bounds: tuple[float, float] = GRID_BOUNDS,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
) -> Grid:
    """Return the (cached, read-only) grid of n_points on bounds with a N(mean, sd^2) log-prior."""
    key = (int(n_points), float(bounds[0]), float(bounds[1]), float(prior_mean), float(prior_sd))
    grid = _GRID_CACHE.get(key)
    if grid is None:
        points = np.linspace(bounds[0], bounds[1], int(n_points))
        log_prior = -0.5 * ((points - prior_mean) / prior_sd) ** 2
        points.setflags(write=False)
        log_prior.setflags(write=False)
        grid = Grid(points, log_prior, float(prior_mean), float(prior_sd), key)
        _GRID_CACHE[key] = grid
    return grid


@dataclass(frozen=True)
class Estimate:
    """An ability estimate: theta and its standard error (logits); method names the estimator."""

    theta: float
    se: float
    method: str


def normalise(log_post: np.ndarray) -> np.ndarray:
    """Shift a log-posterior (G,) so its maximum is 0 (same distribution, no overflow)."""
    return log_post - log_post.max()


def update(
    log_post: np.ndarray, grid: Grid, a: float, b: float, c: float, correct: bool
) -> np.ndarray:
    """Incremental step: log_post(theta) + log P(u | theta) of one item; (G,) -> (G,).

    Costs O(G) whatever the number of earlier responses, since they live in log_post.
    """
    return normalise(log_post + irt.item_log_likelihood(grid.points, a, b, c, correct))


def log_posterior(
    grid: Grid, a: np.ndarray, b: np.ndarray, c: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Full log-posterior on the grid: log prior + log L over all N responses; (G,)."""
    if len(u) == 0:
        return normalise(np.array(grid.log_prior))
    return normalise(grid.log_prior + irt.log_likelihood(grid.points, a, b, c, u))


def eap_from_log_posterior(log_post: np.ndarray, grid: Grid) -> Estimate:
    """EAP = sum_g theta_g w_g with w = exp(log_post) / sum; SE = posterior SD."""
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    theta = float(w @ grid.points)
    var = float(w @ (grid.points - theta) ** 2)
    return Estimate(theta, var**0.5, "eap")


def eap(grid: Grid, a: np.ndarray, b: np.ndarray, c: np.ndarray, u: np.ndarray) -> Estimate:
    """EAP estimate and posterior SD from N responses u (N,) to items a, b, c (N,)."""
    return eap_from_log_posterior(log_posterior(grid, a, b, c, u), grid)


def _se_from_information(info: float) -> float:
    return float(1.0 / np.sqrt(info)) if info > 0 else float("inf")


def _maximise(
    objective: Callable[[Any], Any], bounds: tuple[float, float], n_scan: int = 241
) -> float:
    """Maximise a 1-D function: a grid scan (guards against 3PL multimodality), then Brent."""
    scan = np.linspace(bounds[0], bounds[1], n_scan)
    values = np.asarray(objective(scan))  # objectives are vectorised over theta
    k = int(np.argmax(values))
    lo, hi = scan[max(k - 1, 0)], scan[min(k + 1, n_scan - 1)]
    res = minimize_scalar(
        lambda t: -float(objective(t)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-9}
    )
    return float(res.x)


def map_estimate(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    u: np.ndarray,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    bounds: tuple[float, float] = GRID_BOUNDS,
) -> Estimate:
    """MAP: argmax of log L(theta) - (theta - mean)^2 / (2 sd^2) on bounds.

    SE = 1 / sqrt(test information at the mode + 1 / sd^2).
    """

    def objective(t: Any) -> Any:  # vectorised over theta (see _maximise)
        return irt.log_likelihood(t, a, b, c, u) - 0.5 * ((t - prior_mean) / prior_sd) ** 2

    theta = _maximise(objective, bounds)
    info = float(irt.test_information(theta, a, b, c)) + prior_sd**-2
    return Estimate(theta, _se_from_information(info), "map")


def mle_estimate(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    u: np.ndarray,
    bounds: tuple[float, float] = GRID_BOUNDS,
    grid: Grid | None = None,
) -> Estimate:
    """MLE: argmax log L(theta) on bounds; SE = 1 / sqrt(test information at the estimate).

    Defined fallback: the MLE does not exist for an empty, all-correct or all-wrong pattern;
    the function then returns the EAP on ``grid`` (default grid, N(0, 1) prior) with its
    posterior SD, and method "eap-fallback".
    """
    u = np.asarray(u, dtype=float)
    if len(u) == 0 or u.min() == u.max():
        est = eap(grid or make_grid(), a, b, c, u)
        return Estimate(est.theta, est.se, "eap-fallback")
    theta = _maximise(lambda t: irt.log_likelihood(t, a, b, c, u), bounds)
    return Estimate(theta, _se_from_information(float(irt.test_information(theta, a, b, c))), "mle")
