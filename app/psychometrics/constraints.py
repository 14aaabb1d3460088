"""Content constraints of one attempt, with an exact look-ahead.

Three kinds, all on the items delivered so far:

- Blueprint quotas at every length where the exam may stop: with weights w (D,), normalised,
  an attempt of m scored items, min_items <= m <= max_items, holds between floor(w_d m) and
  ceil(w_d m) items of domain d (the quota rule of Balinski and Young, held at every m).
- Items per fact: at most fact_limit delivered items (pretest included) share a fact; items
  of one fact are enemies.
- Item-type caps: at most floor(share_t max(m, min_items)) scored items of type t after m
  scored items (so the cap holds at whatever length the exam stops).

A greedy rule cannot keep quotas at every length on its own: a state inside the quotas at m
may have no successor inside them at m + 1. QuotaPlan therefore keeps, for every length from
min_items to max_items, the states from which max_items can be reached through states inside
the quotas (a backward pass over at most 2^D states per length), and a domain is open when
one more item of it leads to such a state (or, below min_items, to a state that still fits
under one of them). Shapes: D domains, N items.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_EPS = 1e-9


def quota(weights: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each (D,) ints: floor(w_d m) and ceil(w_d m), w normalised to sum to 1."""
    w = np.asarray(weights, dtype=float)
    ideal = w / w.sum() * m
    lo = np.floor(ideal + _EPS).astype(int)
    hi = np.array([math.ceil(x - _EPS) for x in ideal], dtype=int)
    return lo, np.maximum(hi, lo)


def type_cap(share: float, m: int, min_items: int) -> int:
    """Most scored items of a type capped at share once m items are scored."""
    return int(math.floor(share * max(m, min_items) + _EPS))


@dataclass(frozen=True, eq=False)
class QuotaPlan:
    """The states (domain counts) from which the quotas can hold at every stopping length.

    good[m - min_items]: set of count tuples at length m that are inside the quotas and have
    a successor in good[m + 1 - min_items] (every state at max_items inside them). entry:
    (K, D) array of good[0], the states an attempt must reach at min_items.
    """

    weights: np.ndarray
    min_items: int
    max_items: int
    good: tuple[frozenset[Any], ...]
    entry: np.ndarray
    top: np.ndarray  # (D,) ceil(w max_items): no domain ever needs more
    final: np.ndarray  # (K, D) the states at max_items
    reach: dict[Any, int]  # good state -> bit i set when final[i] is reachable from it
    _open: dict[Any, Any] = field(default_factory=dict, repr=False)
    _reach: dict[Any, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def feasible(self) -> bool:
        return bool(self.good) and bool(self.good[0])

    def inside(self, counts: np.ndarray, m: int) -> bool:
        """Whether domain counts (D,) after m scored items can still meet every quota."""
        c = tuple(int(x) for x in counts)
        if m > self.max_items or sum(c) != m:
            return False
        if m >= self.min_items:
            return c in self.good[m - self.min_items]
        return bool(len(self.entry)) and bool((self.entry >= np.array(c)).all(axis=1).any())

    def finals(self, counts: np.ndarray, ub: np.ndarray) -> np.ndarray:
        """(k, D) states at max_items reachable from counts (D,) through states inside the
        quotas, none above ub (D,). A monotone path lies between its ends, so these are the
        finals reachable from counts that are <= ub (reach bits precomputed per state)."""
        key = tuple(int(x) for x in counts)
        hit = self._reach.get(key)
        if hit is None:
            m = sum(key)
            bits = 0
            if self.inside(np.array(key), m) and m >= self.min_items:
                bits = self.reach[key]
            elif self.inside(np.array(key), m):  # below min_items: through any entry above it
                for e in self.entry[(self.entry >= np.array(key)).all(axis=1)]:
                    bits |= self.reach[tuple(e.tolist())]
            pick = np.array([(bits >> i) & 1 for i in range(len(self.final))], dtype=bool)
            hit = self.final[pick]
            with self._lock:
                self._reach[key] = hit
        return hit[(hit <= np.asarray(ub)).all(axis=1)]

    def open_domains(self, counts: np.ndarray) -> np.ndarray:
        """(D,) bool: domains of which one more scored item keeps the quotas reachable."""
        key = tuple(int(x) for x in counts)
        hit = self._open.get(key)
        if hit is not None:
            return hit
        m = sum(key) + 1
        out = np.zeros(len(key), dtype=bool)
        for d in range(len(key)):
            nxt = np.array(key)
            nxt[d] += 1
            out[d] = self.inside(nxt, m)
        out.setflags(write=False)
        with self._lock:
            if len(self._open) > 100_000:  # reachable states are far fewer; a safety bound
                self._open.clear()
                self._reach.clear()
            self._open[key] = out
        return out


def quota_plan(weights: np.ndarray, min_items: int, max_items: int) -> QuotaPlan:
    """The backward pass over lengths max_items .. min_items (see QuotaPlan), recording for
    every kept state which final states it reaches."""
    w = np.asarray(weights, dtype=float)
    lo, hi = quota(w, max_items)
    final = [c for c in _box(lo, hi) if sum(c) == max_items]
    reach = {c: 1 << i for i, c in enumerate(final)}
    layers, later = [frozenset(final)], final
    for m in range(max_items - 1, min_items - 1, -1):
        lo, hi = quota(w, m)
        states = []
        for c in _box(lo, hi):
            if sum(c) != m:
                continue
            bits = 0
            for d in range(len(c)):
                bits |= reach.get(c[:d] + (c[d] + 1,) + c[d + 1 :], 0) if later else 0
            if bits:
                reach[c] = bits
                states.append(c)
        later = states
        layers.append(frozenset(states))
    layers.reverse()
    entry = np.array(sorted(layers[0]), dtype=int).reshape(-1, len(w))
    final_arr = np.array(final, dtype=int).reshape(-1, len(w))
    return QuotaPlan(
        w / w.sum(),
        min_items,
        max_items,
        tuple(layers),
        entry,
        hi_max(w, max_items),
        final_arr,
        reach,
    )


def hi_max(w: np.ndarray, max_items: int) -> np.ndarray:
    return quota(w, max_items)[1]


def _box(lo: np.ndarray, hi: np.ndarray) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(a, b + 1) for a, b in zip(lo, hi, strict=True)))


def fact_capacity(fact_code: np.ndarray, usable: np.ndarray, limit: int) -> int:
    """Most items an attempt may take from the usable items (N,) bool under the fact limit:
    sum over facts of min(limit, items of the fact), plus items without a fact (code -1)."""
    codes = fact_code[usable]
    free = int((codes < 0).sum())
    if limit <= 0:
        return int(len(codes))
    per_fact = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, int)
    return free + int(np.minimum(per_fact, limit).sum())


@dataclass(frozen=True, eq=False)
class Stock:
    """Items still open to an attempt: free (D,) without a fact, per_fact (F, D) by fact and
    domain, room (F,) items each fact may still give (None: no fact limit)."""

    free: np.ndarray
    per_fact: np.ndarray
    room: np.ndarray | None

    def supply(self) -> np.ndarray:
        """(D,) most items each domain can give on its own (a fact counts in each domain)."""
        if self.room is None or not len(self.per_fact):
            return self.free + self.per_fact.sum(axis=0).astype(int)
        return self.free + np.minimum(self.per_fact, self.room[:, None]).sum(axis=0)

    def assured(self) -> np.ndarray:
        """(D,) items each domain can give whatever the others take: every fact assigned to
        the domain where it has most open items (a lower bound on any feasible split)."""
        if not len(self.per_fact):
            return self.free.copy()
        room = self.room if self.room is not None else self.per_fact.sum(axis=1)
        home = np.argmax(self.per_fact, axis=1)
        give = np.minimum(self.per_fact[np.arange(len(home)), home], np.maximum(room, 0))
        return self.free + np.bincount(home, weights=give, minlength=len(self.free)).astype(int)

    def without(self, d: int, f: int, in_stock: bool) -> Stock:
        """The stock once an item of domain d and fact f (-1: none) is delivered."""
        free, per_fact = self.free.copy(), self.per_fact.copy()
        room = None if self.room is None else self.room.copy()
        if f >= 0 and room is not None:
            room[f] -= 1
        if in_stock:
            if f >= 0 and len(per_fact):
                per_fact[f, d] -= 1
            else:
                free[d] -= 1
        return Stock(free, per_fact, room)

    def suffices(self, need: np.ndarray) -> bool:
        """items_suffice for need (D,) more items per domain."""
        room = self.room if self.room is not None else self.per_fact.sum(axis=1)
        return items_suffice(need, self.free, self.per_fact, np.maximum(room, 0))


@functools.cache
def _subsets(n: int) -> np.ndarray:
    """(2^n, n) 0/1 rows: every subset of n domains."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def items_suffice(
    need: np.ndarray, free: np.ndarray, fact_domain: np.ndarray, room: np.ndarray
) -> bool:
    """Whether need (D,) more items per domain can be drawn at once: free (D,) items without a
    fact, fact_domain (F, D) available items per fact and domain, at most room (F,) per fact.

    A flow from domains to facts; by max-flow min-cut it exists iff for every set S of
    domains, need(S) <= free(S) + sum_f min(room_f, items of f in S) (Hall's condition).
    """
    if (need <= free).all():
        return True
    if len(room):  # facts whose open items all lie in one domain serve that domain alone
        alone = (fact_domain > 0).sum(axis=1) == 1
        own = np.minimum(fact_domain[alone], np.asarray(room, dtype=float)[alone, None])
        if (need <= free + own.sum(axis=0)).all():
            return True
    sets = _subsets(len(need))
    demand = sets @ need
    offer = sets @ free
    if len(room):
        room = np.asarray(room, dtype=float)
        offer = offer + np.minimum(room[None, :], sets @ fact_domain.T).sum(axis=1)
    return bool((demand <= offer + 1e-9).all())
