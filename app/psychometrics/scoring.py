"""Scoring: pass/fail, the 200-800 scaled score and per-domain diagnostics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.psychometrics import estimation

SCALE_CENTRE = 500
SCALE_SLOPE = 100.0
SCALE_MIN, SCALE_MAX = 200, 800


def passed(theta: float, cut_theta: float) -> bool:
    """Pass when the final estimate is at or above the cut: theta_hat >= cut_theta."""
    return bool(theta >= cut_theta)


def scaled_score(theta: float, cut_theta: float) -> int:
    """Reported score: round(500 + 100 (theta - cut)), clipped to [200, 800]; the cut is 500.

    One scaled point is 0.01 logit; 200 and 800 are 3 logits below and above the cut. A
    failing estimate (theta < cut) is capped at 499, so 500 and above always means a pass.
    """
    raw = SCALE_CENTRE + SCALE_SLOPE * (theta - cut_theta)
    score = min(max(round(raw), SCALE_MIN), SCALE_MAX)
    if theta < cut_theta:
        score = min(score, SCALE_CENTRE - 1)
    return int(score)


@dataclass(frozen=True)
class DomainDiagnostic:
    """One domain's feedback: label is "below", "near" or "above" the target (the cut)."""

    domain: str
    n_items: int
    theta: float
    se: float
    label: str


def domain_diagnostic(
    domain: str,
    grid: estimation.Grid,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    u: np.ndarray,
    cut_theta: float,
    z: float = 1.959964,
) -> DomainDiagnostic:
    """Domain EAP from that domain's scored responses only, with the attempt's prior.

    a, b, c, u: (N_d,) the domain's items and responses. Label: "above" when
    theta_d - z se_d > cut, "below" when theta_d + z se_d < cut, else "near" (the 95%
    interval contains the cut, or the domain has too few items to say). The prior pulls a
    short domain toward the prior mean, so the rule errs toward "near", never toward a
    confident wrong label.
    """
    est = estimation.eap(grid, a, b, c, u)
    if est.theta - z * est.se > cut_theta:
        label = "above"
    elif est.theta + z * est.se < cut_theta:
        label = "below"
    else:
        label = "near"
    return DomainDiagnostic(domain, len(u), est.theta, est.se, label)
