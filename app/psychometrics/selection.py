"""Item selection: maximum Fisher information, content balancing, exposure control.

Shapes: N items in the pool, D blueprint domains. Item domains are int codes in [0, D), or -1
for an item whose domain is not in the blueprint (never chosen while a blueprint is set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.psychometrics import irt

_MASK64 = (1 << 64) - 1


class StepRandom:
    """A counter-based generator: splitmix64 of (seed, step, draw), cheap to create per step.

    Builds the same stream from the same (seed, step) on any worker; offers the two calls
    selection needs: integers(n) in [0, n) and random() in [0, 1).
    """

    __slots__ = ("_state",)

    def __init__(self, seed: int, step: int) -> None:
        self._state = ((seed & _MASK64) * 0x9E3779B97F4A7C15 + step * 0xBF58476D1CE4E5B9) & _MASK64

    def _next(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self._next() >> 11) * (1.0 / (1 << 53))

    def integers(self, n: int) -> int:
        return int(self.random() * n)


@dataclass(frozen=True, eq=False)
class DomainBounds:
    """Hard per-domain limits on scored items: min_counts and max_counts, both (D,) ints."""

    weights: np.ndarray
    min_counts: np.ndarray
    max_counts: np.ndarray


def domain_bounds(weights: np.ndarray, min_items: int, max_items: int) -> DomainBounds:
    """Limits from the blueprint: min_d = floor(w_d min_items), max_d = ceil(w_d max_items).

    weights: (D,) non-negative, normalised here to sum to 1. Every attempt that reaches
    min_items holds at least min_d items of domain d and never more than max_d.
    """
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    low = np.floor(w * min_items + 1e-9).astype(int)
    high = np.array([math.ceil(x - 1e-9) for x in w * max_items], dtype=int)
    return DomainBounds(w, low, np.maximum(high, low))


def choose_domain(
    counts: np.ndarray, bounds: DomainBounds, min_items: int, available: np.ndarray
) -> int | None:
    """Domain furthest below its target share (Kingsbury-Zara), under hard limits.

    counts: (D,) scored items so far per domain; available: (D,) bool, domain has an
    eligible item. Target gap g_d = w_d (n + 1) - counts_d with n = sum(counts). Domains at
    max_d are closed; when the slots left before min_items equal the summed shortfalls to
    min_d, only short domains stay open. Ties go to the larger weight. None if all closed.
    """
    cnt, avail = [int(x) for x in counts], [bool(x) for x in available]
    low, high = bounds.min_counts.tolist(), bounds.max_counts.tolist()
    weights = bounds.weights.tolist()
    n = sum(cnt)
    open_ = [avail[d] and cnt[d] < high[d] for d in range(len(cnt))]
    short = [max(low[d] - cnt[d], 0) for d in range(len(cnt))]
    forced = [o and s > 0 for o, s in zip(open_, short, strict=True)]
    if n < min_items and sum(short) >= min_items - n and any(forced):
        open_ = forced  # (small D: plain Python beats numpy here)
    best, best_score = None, -np.inf
    for d, ok in enumerate(open_):
        score = weights[d] * (n + 1) - cnt[d] + 1e-9 * weights[d]
        if ok and score > best_score:
            best, best_score = d, score
    return best


def rank_by_information(
    theta: float, a: np.ndarray, b: np.ndarray, c: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """Candidate indices (M,) sorted by Fisher information at theta, highest first."""
    info = irt.information(theta, a[candidates], b[candidates], c[candidates])
    return candidates[np.argsort(-info, kind="stable")]


def pick_with_exposure_control(
    ranked: np.ndarray,
    rng: np.random.Generator | StepRandom | None,
    randomesque_k: int = 1,
    sh_k: np.ndarray | None = None,
    sh_u: np.ndarray | None = None,
) -> tuple[int, list[int]]:
    """Randomesque among the best k, then the Sympson-Hetter lottery; returns (item, tried).

    rng may be None when randomesque_k is 1. ranked: (M,) pool indices, best first. Draw
    one of the first k remaining items uniformly; with Sympson-Hetter, administer it when
    sh_u[item] < sh_k[item], else drop it and draw again. sh_k, sh_u: (N,) exposure
    parameters and one uniform per item drawn once per attempt, so an item rejected once
    stays rejected for the whole attempt (the classic rule, P(A) = P(S) K) without storing
    rejections. tried: items that entered the lottery.
    If all are rejected, the best-ranked item is administered so the attempt never stalls.
    """
    k = max(1, randomesque_k)
    if sh_k is not None:
        passes = sh_u[ranked] < sh_k[ranked]
    remaining = list(range(len(ranked)))
    tried: list[int] = []
    while remaining:
        j = remaining.pop(int(rng.integers(min(k, len(remaining)))) if k > 1 else 0)
        item = int(ranked[j])
        tried.append(item)
        if sh_k is None or passes[j]:
            return item, tried
    return int(ranked[0]), tried
