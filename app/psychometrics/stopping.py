"""Stopping rules for a variable-length CAT, with the reason reported."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from scipy.special import ndtri


class StopReason(StrEnum):
    """Why an attempt ended; the string value is what gets stored."""

    CI_ABOVE_CUT = "ci_above_cut"
    CI_BELOW_CUT = "ci_below_cut"
    SE_TARGET = "se_target"
    MAX_ITEMS = "max_items"
    TIME_EXPIRED = "time_expired"
    BANK_EXHAUSTED = "bank_exhausted"


@lru_cache(maxsize=16)
def z_value(ci_level: float) -> float:
    """Two-sided normal quantile: 1.959964 for ci_level 0.95."""
    return float(ndtri(0.5 + ci_level / 2.0))


def decide(
    n_scored: int,
    theta: float,
    se: float,
    *,
    min_items: int,
    max_items: int,
    cut_theta: float | None,
    ci_level: float = 0.95,
    se_target: float | None = None,
    time_expired: bool = False,
) -> tuple[bool, StopReason | None]:
    """Return (stop, reason); rules checked in this order.

    1. time_expired -> TIME_EXPIRED (at any length; scored on what was answered).
    2. n_scored >= max_items -> MAX_ITEMS.
    3. Below min_items: continue.
    4. CI rule: with z = z_value(ci_level), theta - z se > cut -> CI_ABOVE_CUT;
       theta + z se < cut -> CI_BELOW_CUT (skipped when cut_theta is None).
    5. se <= se_target -> SE_TARGET.
    theta and se are the current estimate and its standard error (logits).
    """
    if time_expired:
        return True, StopReason.TIME_EXPIRED
    if n_scored >= max_items:
        return True, StopReason.MAX_ITEMS
    if n_scored < min_items:
        return False, None
    if cut_theta is not None:
        z = z_value(float(ci_level))
        if theta - z * se > cut_theta:
            return True, StopReason.CI_ABOVE_CUT
        if theta + z * se < cut_theta:
            return True, StopReason.CI_BELOW_CUT
    if se_target is not None and se <= se_target:
        return True, StopReason.SE_TARGET
    return False, None
