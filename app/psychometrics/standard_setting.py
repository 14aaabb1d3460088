"""Modified-Angoff standard setting: the panel's cut, its standard error and its impact.

Each panelist j rates each of the n items i with R[j, i] in [0, 100], the percentage of
minimally competent candidates (MCC) who would answer it correctly. Then

    panelist cut      c_j = sum_i R[j, i] / 100            (expected raw score of the MCC)
    recommended cut   C   = mean_j c_j
    standard error    SE  = sd_j(c_j, ddof=1) / sqrt(P)     (P panelists; 0 when P = 1)
    theta cut         theta* solves TCC(theta*) = C, with TCC(theta) = sum_i P_i(theta | a, b, c)

The test characteristic curve rises strictly in theta (a > 0), from sum_i c_i to n, so theta*
is unique; a raw cut outside that open range maps to the end of the search interval (the
result says so). Impact: the share of candidates whose estimate is at or above a theta.
Hofstee's compromise (optional) intersects the line through (k_min, f_max) and (k_max, f_min)
with the observed fail rate F(k) = share of candidates below k, k in percent correct.
Arrays: ratings (P, n) in percent; a, b, c (n,); thetas (M,) in logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from app.psychometrics import irt

THETA_RANGE = (-6.0, 6.0)
SE_STEPS = (-2, -1, 0, 1, 2)


def check_ratings(ratings: np.ndarray) -> np.ndarray:
    """ratings as a float (P, n) array; ValueError if empty, not finite or outside [0, 100]."""
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 2 or r.shape[0] < 1 or r.shape[1] < 1:
        raise ValueError("ratings need at least one panelist and one item, as (P, n)")
    if not np.isfinite(r).all() or (r < 0).any() or (r > 100).any():
        raise ValueError("every rating must be a number from 0 to 100")
    return r


def panelist_cuts(ratings: np.ndarray) -> np.ndarray:
    """c_j = sum_i R[j, i] / 100: each panelist's expected raw score of the MCC, (P,)."""
    return check_ratings(ratings).sum(axis=1) / 100.0


def tcc(theta: np.ndarray | float, a: ArrayLike, b: ArrayLike, c: ArrayLike) -> np.ndarray:
    """Test characteristic curve: the expected raw score sum_i P_i(theta); scalar or (G,)."""
    return irt.probability(theta, np.asarray(a), np.asarray(b), np.asarray(c)).sum(axis=-1)


@dataclass(frozen=True)
class ThetaCut:
    """theta for a raw cut; clipped is -1 / +1 when the raw cut lies below / above the TCC's
    range on THETA_RANGE (theta is then that end), 0 otherwise."""

    raw: float
    theta: float
    clipped: int = 0


def theta_for_raw(
    raw: float, a: ArrayLike, b: ArrayLike, c: ArrayLike,
    bounds: tuple[float, float] = THETA_RANGE,
) -> ThetaCut:  # fmt: skip
    """Invert the TCC: the theta whose expected raw score is raw (Brent's method, 1e-10)."""
    lo, hi = bounds
    low_score, high_score = float(tcc(lo, a, b, c)), float(tcc(hi, a, b, c))
    if raw <= low_score:
        return ThetaCut(raw, lo, -1)
    if raw >= high_score:
        return ThetaCut(raw, hi, 1)
    theta = brentq(lambda t: float(tcc(t, a, b, c)) - raw, lo, hi, xtol=1e-10)
    return ThetaCut(float(raw), float(theta), 0)


def pass_rate(thetas: np.ndarray, theta_cut: float) -> float | None:
    """Share of candidate estimates at or above theta_cut (the engine's pass rule); None if
    there are no candidates."""
    t = np.asarray(thetas, dtype=float)
    return float((t >= theta_cut).mean()) if t.size else None


@dataclass(frozen=True)
class ImpactRow:
    """One row of the impact table: the cut moved by `step` standard errors."""

    step: int
    raw: float
    theta: float
    clipped: int
    pass_rate: float | None


@dataclass(frozen=True)
class AngoffResult:
    """The panel's recommendation (see the module docstring for the formulas)."""

    n_panelists: int
    n_items: int
    panelist_cuts: tuple[float, ...]
    item_means: tuple[float, ...]
    raw_cut: float
    sd: float
    se: float
    theta: ThetaCut
    impact: tuple[ImpactRow, ...]

    @property
    def percent_cut(self) -> float:
        """The raw cut as a percentage of the rated items."""
        return 100.0 * self.raw_cut / self.n_items

    def row(self, step: int) -> ImpactRow:
        return next(r for r in self.impact if r.step == step)


def angoff(
    ratings: Any, a: ArrayLike, b: ArrayLike, c: ArrayLike, thetas: Any = (),
    steps: Sequence[float] = SE_STEPS,
) -> AngoffResult:  # fmt: skip
    """The recommended cut, its SE across panelists, theta through the TCC, and the pass
    rate of thetas (M,) at the cut moved by each step (in SE) of steps."""
    r = check_ratings(ratings)
    a, b, c = (np.asarray(x, dtype=float) for x in (a, b, c))
    if not (a.shape == b.shape == c.shape == (r.shape[1],)):
        raise ValueError("a, b and c need one value per rated item")
    cuts = r.sum(axis=1) / 100.0
    n_panel = len(cuts)
    sd = float(cuts.std(ddof=1)) if n_panel > 1 else 0.0
    se = sd / np.sqrt(n_panel)
    raw = float(cuts.mean())
    rows = []
    for k in steps:
        t = theta_for_raw(raw + k * se, a, b, c)
        rows.append(ImpactRow(int(k), float(t.raw), t.theta, t.clipped, pass_rate(thetas, t.theta)))
    return AngoffResult(
        n_panelists=n_panel,
        n_items=r.shape[1],
        panelist_cuts=tuple(float(x) for x in cuts),
        item_means=tuple(float(x) for x in r.mean(axis=0)),
        raw_cut=raw,
        sd=sd,
        se=float(se),
        theta=theta_for_raw(raw, a, b, c),
        impact=tuple(rows),
    )


@dataclass(frozen=True)
class Hofstee:
    """Hofstee's compromise: the cut k (percent correct) and its fail rate, or None when the
    line misses the observed fail-rate curve inside [k_min, k_max]."""

    k: float | None
    fail_rate: float | None


def hofstee(
    percent_scores: np.ndarray, k_min: float, k_max: float, f_min: float, f_max: float
) -> Hofstee:
    """Where F(k) = share of scores below k meets the line from (k_min, f_max) to (k_max, f_min).

    percent_scores (M,) in percent correct; k in percent; f as fractions in [0, 1]. The line
    falls and F rises in k, so they cross at most once; found on a 0.01-point grid.
    """
    if not (0 <= k_min < k_max <= 100 and 0 <= f_min < f_max <= 1):
        raise ValueError("Hofstee bounds need 0 <= k_min < k_max <= 100, 0 <= f_min < f_max <= 1")
    s = np.sort(np.asarray(percent_scores, dtype=float))
    if not s.size:
        return Hofstee(None, None)
    k = np.linspace(k_min, k_max, int(round((k_max - k_min) * 100)) + 1)
    fail = np.searchsorted(s, k, side="left") / s.size
    line = f_max + (f_min - f_max) * (k - k_min) / (k_max - k_min)
    above = np.flatnonzero(fail >= line)
    if not above.size:
        return Hofstee(None, None)
    i = int(above[0])
    return Hofstee(float(k[i]), float(fail[i]))
