"""Item selection: maximum Fisher information with exposure control, by partial selection.

Shapes: N items in the pool, M candidates. Content constraints are applied before (the
candidates are the items whose delivery keeps every constraint satisfiable; see
app.psychometrics.constraints).
"""

from __future__ import annotations

from collections.abc import Callable

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


def rank_by_information(
    theta: float, a: np.ndarray, b: np.ndarray, c: np.ndarray, candidates: np.ndarray
) -> np.ndarray:
    """Candidate indices (M,) sorted by Fisher information at theta, highest first."""
    info = irt.information(theta, a[candidates], b[candidates], c[candidates])
    return candidates[np.argsort(-info, kind="stable")]


def best_by_information(
    theta: float,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    candidates: np.ndarray,
    rng: np.random.Generator | StepRandom | None,
    randomesque_k: int = 1,
    sh_k: np.ndarray | None = None,
    sh_u: np.ndarray | None = None,
    score: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[int, list[int]]:
    """pick_with_exposure_control over the candidates ranked by information at theta, ranking
    only the top few: argpartition of the best max(4k, 16) (O(M)), sorted; the rest is
    sorted only if the lottery gets past them. Same choice as a full stable ranking (up to
    exact ties at the partition boundary). score: candidates (M,) -> (M,) values to rank by
    instead (the simulator's oracle)."""
    if score is None:
        info = irt.information(theta, a[candidates], b[candidates], c[candidates])
    else:
        info = score(candidates)
    top = max(4 * randomesque_k, 16)
    if len(candidates) <= top:
        return pick_with_exposure_control(
            candidates[np.argsort(-info, kind="stable")], rng, randomesque_k, sh_k, sh_u
        )
    head = np.argpartition(-info, top - 1)[:top]
    head.sort()  # stable ties: by position, as a full stable argsort orders them
    head = head[np.argsort(-info[head], kind="stable")]

    def rest() -> np.ndarray:
        tail = np.ones(len(candidates), dtype=bool)
        tail[head] = False
        idx = np.flatnonzero(tail)
        return candidates[idx[np.argsort(-info[idx], kind="stable")]]

    return pick_with_exposure_control(candidates[head], rng, randomesque_k, sh_k, sh_u, rest)


def best_in_mask(
    theta: float,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator | StepRandom | None,
    randomesque_k: int = 1,
    sh_k: np.ndarray | None = None,
    sh_u: np.ndarray | None = None,
    info_at: Callable[[float], np.ndarray] | None = None,
) -> tuple[int, list[int]]:
    """best_by_information over the items of mask (N,) bool, without gathering them: the
    information of all N items (one pass, as a plain argmax step), -inf outside the mask,
    argpartition of the best max(4k, 16), sorted (ties by index, as a stable ranking).
    info_at: theta -> (N,) information of these items (irt.InformationAt, built once per
    pool), instead of irt.information(theta, a, b, c)."""
    info = irt.information(theta, a, b, c) if info_at is None else info_at(theta)
    info[~mask] = -np.inf
    if randomesque_k <= 1 and sh_k is None:  # the best item: argmax (first of ties, as stable)
        best = int(info.argmax())
        return best, [best]
    top = max(4 * randomesque_k, 16)
    if int(np.count_nonzero(mask)) <= top:
        idx = np.flatnonzero(mask)
        ranked = idx[np.argsort(-info[idx], kind="stable")]
        return pick_with_exposure_control(ranked, rng, randomesque_k, sh_k, sh_u)
    head = np.argpartition(-info, top - 1)[:top]
    head.sort()
    head = head[np.argsort(-info[head], kind="stable")]

    def rest() -> np.ndarray:
        tail = mask.copy()
        tail[head] = False
        idx = np.flatnonzero(tail)
        return idx[np.argsort(-info[idx], kind="stable")]

    return pick_with_exposure_control(head, rng, randomesque_k, sh_k, sh_u, rest)


FALLBACK_WINDOW = 16  # items an all-rejected lottery falls back among (its best-ranked)


def pick_with_exposure_control(
    ranked: np.ndarray,
    rng: np.random.Generator | StepRandom | None,
    randomesque_k: int = 1,
    sh_k: np.ndarray | None = None,
    sh_u: np.ndarray | None = None,
    rest: Callable[[], np.ndarray] | None = None,
) -> tuple[int, list[int]]:
    """Randomesque among the best k, then the Sympson-Hetter lottery; returns (item, tried).

    rng may be None when randomesque_k is 1. ranked: (M,) pool indices, best first. Draw
    one of the first k remaining items uniformly; with Sympson-Hetter, administer it when
    sh_u[item] < sh_k[item], else drop it and draw again. sh_k, sh_u: (N,) exposure
    parameters and one uniform per item drawn once per attempt, so an item rejected once
    stays rejected for the whole attempt (the classic rule, P(A) = P(S) K) without storing
    rejections. tried: items that entered the lottery.
    If all are rejected, the attempt must still go on: of the best FALLBACK_WINDOW items
    tried, the one closest to acceptance (smallest sh_u / sh_k) is administered. It varies
    between attempts as their uniforms do; the best-ranked item would take every such
    administration of every candidate at that point, so a band whose candidates exhaust the
    items their lotteries admit (long tests, K low everywhere) would all meet it.
    rest: the ranking after `ranked`, built only when the draw window needs it.
    """
    k = max(1, randomesque_k)
    remaining = [int(i) for i in ranked]
    tried: list[int] = []
    while remaining or rest is not None:
        if rest is not None and len(remaining) < k:
            remaining += [int(i) for i in rest()]
            rest = None
            continue
        if k > 1 and rng is None:
            raise ValueError("randomesque_k > 1 needs a random generator")
        pick = int(rng.integers(min(k, len(remaining)))) if rng is not None and k > 1 else 0
        item = remaining.pop(pick)
        tried.append(item)
        if sh_k is None or sh_u is None or sh_u[item] < sh_k[item]:
            return item, tried
    if sh_k is None or sh_u is None:  # unreachable: without a lottery the first draw stands
        return int(ranked[0]), tried
    window = np.asarray(tried[:FALLBACK_WINDOW])
    return int(window[np.argmin(sh_u[window] / np.maximum(sh_k[window], 1e-12))]), tried
