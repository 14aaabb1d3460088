"""Scoring: pass/fail, the reported scale (a track's Scale), per-domain diagnostics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from app.psychometrics import estimation, irt

SCALE_MIN, SCALE_MAX = 200, 800


@dataclass(frozen=True)
class Scale:
    """A track's reported scale: a linear map of theta fixed by two anchors, apart from the cut.

    anchors: ((theta_1, score_1), (theta_2, score_2)), theta in logits, theta_1 < theta_2,
    score_1 < score_2. score(theta) = score_1 + (theta - theta_1) * slope with slope
    (score_2 - score_1) / (theta_2 - theta_1) scaled points per logit; reported scores are
    rounded and clipped to [low, high]. version names this definition: a result keeps the
    version it was reported on, and the anchors of a version never change (a new
    definition is a new version). The cut moves on this scale; the scale never moves with it.
    """

    version: str
    anchors: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 500.0), (1.0, 600.0))
    low: int = SCALE_MIN
    high: int = SCALE_MAX

    def __post_init__(self) -> None:
        (t1, s1), (t2, s2) = self.anchors
        pairs = ((float(t1), float(s1)), (float(t2), float(s2)))
        object.__setattr__(self, "anchors", pairs)
        if not self.version:
            raise ValueError("a scale needs a version")
        if not (t1 < t2 and s1 < s2):
            raise ValueError("scale anchors need theta_1 < theta_2 and score_1 < score_2")
        if not self.low < self.high:
            raise ValueError("a scale needs low < high")

    @property
    def slope(self) -> float:
        """Scaled points per logit."""
        (t1, s1), (t2, s2) = self.anchors
        return (s2 - s1) / (t2 - t1)

    def raw(self, theta: float) -> float:
        """The unrounded, unclipped scaled value of theta (logits)."""
        (t1, s1), _ = self.anchors
        return s1 + (theta - t1) * self.slope

    def cut_score(self, cut_theta: float) -> int:
        """The passing score: round(raw(cut)); raises ValueError outside (low, high]."""
        score = int(round(self.raw(cut_theta)))
        if not self.low < score <= self.high:
            raise ValueError(
                f"the cut (theta {cut_theta:g}) is {score} on scale {self.version}, "
                f"outside its range {self.low + 1}-{self.high}"
            )
        return score

    def to_dict(self) -> dict[str, Any]:
        """JSON types only: version, anchors as [[theta, score], ...], low, high."""
        return {
            "version": self.version,
            "anchors": [list(p) for p in self.anchors],
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scale:
        """Inverse of to_dict."""
        (t1, s1), (t2, s2) = data["anchors"]
        return cls(
            version=str(data["version"]),
            anchors=((float(t1), float(s1)), (float(t2), float(s2))),
            low=int(data.get("low", SCALE_MIN)),
            high=int(data.get("high", SCALE_MAX)),
        )

    @classmethod
    def legacy(cls, cut_theta: float) -> Scale:
        """The scale of results reported before scales had versions: 500 + 100 (theta - cut)."""
        return cls(f"legacy-cut-{cut_theta:g}", ((cut_theta, 500.0), (cut_theta + 1.0, 600.0)))


DEFAULT_SCALE = Scale("default")


def passed(theta: float, cut_theta: float) -> bool:
    """Pass when the final estimate is at or above the cut: theta_hat >= cut_theta."""
    return bool(theta >= cut_theta)


def scaled_score(theta: float, cut_theta: float, scale: Scale = DEFAULT_SCALE) -> int:
    """Reported score: round(scale.raw(theta)) clipped to [scale.low, scale.high].

    The passing score is scale.cut_score(cut_theta); a failing estimate (theta < cut) is
    capped one point below it, so the passing score and above always means a pass (and,
    round being monotone, every pass reports at least the passing score).
    """
    cut = scale.cut_score(cut_theta)
    score = min(max(round(scale.raw(theta)), scale.low), scale.high)
    if theta < cut_theta:
        score = min(score, cut - 1)
    return int(score)


DIAGNOSTIC_LEVEL = 0.90  # the domain interval: 5th to 95th percentile of its posterior
RELATIVE_ALPHA = 0.05  # one-sided tail of the predictive check against the other domains
DOMAIN_SPREAD = 1.0  # tau: the SD (logits) assumed for a domain's departure from the overall level


@dataclass(frozen=True)
class DomainDiagnostic:
    """One domain's feedback, honest about how little a few items say (docs/EXAMS.md).

    theta, se: the domain-only EAP and posterior SD (logits), prior N(0, 1) of the attempt.
    low, high: the DIAGNOSTIC_LEVEL credible interval of that posterior (percentiles).
    label, against the cut: "above" when low > cut, "below" when high < cut, else "unclear"
    (the interval contains the cut: too few items to tell); "none" without scored items.
    n_correct against expected (and its predictive interval expected_low..expected_high):
    the number correct predicted for this domain's items from the candidate's answers in
    the other domains. relative: "weaker" or "stronger" when the observed count lies in a
    tail of that prediction of at most RELATIVE_ALPHA, else "in_line"; "none" without items.
    """

    domain: str
    n_items: int
    theta: float
    se: float
    label: str
    n_correct: int = 0
    low: float = 0.0
    high: float = 0.0
    expected: float = 0.0
    expected_low: int = 0
    expected_high: int = 0
    relative: str = "none"


def posterior_quantiles(
    log_post: np.ndarray, points: np.ndarray, probs: tuple[float, ...]
) -> tuple[float, ...]:
    """Quantiles of a posterior on a grid (linear interpolation of its CDF); logits."""
    w = np.exp(log_post - log_post.max())
    cdf = np.cumsum(w) / w.sum()
    return tuple(float(np.interp(p, cdf, points)) for p in probs)


def domain_prior(rest_log_post: np.ndarray, points: np.ndarray, spread: float) -> np.ndarray:
    """log prior of a domain's ability theta_d = theta + delta, delta ~ N(0, spread^2), theta
    distributed as the posterior from the rest of the attempt: the grid convolution
    log sum_h w_h exp(-(theta_g - theta_h)^2 / (2 spread^2)); (G,) -> (G,), logits."""
    w = np.exp(rest_log_post - rest_log_post.max())
    kernel = np.exp(-0.5 * ((points[:, None] - points[None, :]) / spread) ** 2)
    return np.log(np.maximum(kernel @ (w / w.sum()), 1e-300))


def number_correct_distribution(p: np.ndarray) -> np.ndarray:
    """Lord-Wingersky recursion: P(k correct | theta_g) for k = 0..N.

    p: (G, N) probabilities of a correct answer at each grid point. Returns (G, N + 1).
    """
    dist = np.ones((p.shape[0], 1))
    for j in range(p.shape[1]):
        pj = p[:, j : j + 1]
        dist = np.hstack([dist * (1.0 - pj), np.zeros((p.shape[0], 1))]) + np.hstack(
            [np.zeros((p.shape[0], 1)), dist * pj]
        )
    return dist


def relative_standing(
    rest_log_post: np.ndarray, p: np.ndarray, observed: int, alpha: float = RELATIVE_ALPHA
) -> tuple[float, int, int, str]:
    """Posterior predictive check of one domain's number correct against the other domains.

    rest_log_post: (G,) log posterior from every response outside the domain; p: (G, N_d)
    P(correct) of the domain's items on the grid. predictive(k) = sum_g w_g P(k | theta_g).
    Returns (expected count, predictive interval low, high at 1 - 2 alpha, label): "weaker"
    when P(K <= observed) <= alpha, "stronger" when P(K >= observed) <= alpha, else "in_line".
    """
    w = np.exp(rest_log_post - rest_log_post.max())
    w /= w.sum()
    predictive = w @ number_correct_distribution(p)
    cdf = np.cumsum(predictive)
    expected = float(predictive @ np.arange(predictive.size))
    low = int(np.searchsorted(cdf, alpha - 1e-12))
    high = int(np.searchsorted(cdf, 1.0 - alpha - 1e-12))
    if cdf[observed] <= alpha:
        label = "weaker"
    elif 1.0 - (cdf[observed - 1] if observed else 0.0) <= alpha:
        label = "stronger"
    else:
        label = "in_line"
    return expected, low, min(high, predictive.size - 1), label


def domain_diagnostic(
    domain: str,
    grid: estimation.Grid,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    u: np.ndarray,
    cut_theta: float,
    log_post: np.ndarray | None = None,
    spread: float = DOMAIN_SPREAD,
) -> DomainDiagnostic:
    """One domain's diagnostic from its scored responses u (N_d,) to items a, b, c (N_d,).

    log_post: (G,) the whole attempt's log posterior (all domains); without it the relative
    check is skipped ("none"). The domain-only posterior is grid prior + log L_d; the rest
    of the attempt is log_post - log L_d (the same prior, every other scored response).
    """
    u = np.asarray(u, dtype=float)
    if len(u) == 0:
        return DomainDiagnostic(domain, 0, grid.prior_mean, grid.prior_sd, "none")
    log_lik = irt.log_likelihood(grid.points, a, b, c, u)
    rest = None if log_post is None else log_post - log_lik
    own = log_lik + (grid.log_prior if rest is None else domain_prior(rest, grid.points, spread))
    est = estimation.eap_from_log_posterior(own, grid)
    tail = (1.0 - DIAGNOSTIC_LEVEL) / 2
    low, high = posterior_quantiles(own, grid.points, (tail, 1.0 - tail))
    label = "above" if low > cut_theta else "below" if high < cut_theta else "unclear"
    n_correct = int(u.sum())
    out = DomainDiagnostic(domain, len(u), est.theta, est.se, label, n_correct, low, high)
    if rest is None:
        return out
    p = irt.probability(grid.points, a, b, c)
    expected, e_low, e_high, relative = relative_standing(rest, p, n_correct)
    return replace(
        out, expected=expected, expected_low=e_low, expected_high=e_high, relative=relative
    )
