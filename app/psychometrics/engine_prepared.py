"""Per (pool, policy) arrays of the CAT engine, built once and memoised on the pool."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.psychometrics import constraints, estimation, irt, stopping
from app.psychometrics.engine_types import CatPolicy, ItemPool


@dataclass(frozen=True, eq=False)
class Prepared:
    """Per (pool, policy) arrays, computed once: domain, fact and type codes (N,), the quota
    plan, the Sympson-Hetter matrix (B, N), the grid, the items' information at a theta."""

    domain_code: np.ndarray
    plan: constraints.QuotaPlan | None
    sh_k: np.ndarray | None
    grid: estimation.Grid
    operational: np.ndarray
    pretest: np.ndarray
    z: float
    domains: tuple[str, ...] = field(default=())
    stratum: np.ndarray | None = None
    fact_code: np.ndarray | None = None  # (N,) -1 for no fact; None when fact_limit is off
    fact_items: tuple[np.ndarray, ...] = ()  # pool indices per fact code
    type_code: np.ndarray | None = None  # (N,) index into type_share, -1 for uncapped
    type_share: tuple[float, ...] = ()
    info_at: irt.InformationAt | None = None  # theta -> (N,) information of the pool's items


def prepare(pool: ItemPool, policy: CatPolicy) -> Prepared:
    """The per (pool, policy) arrays, memoised on the pool by the policy's value (equal
    policies share them, however many objects a caller builds); at most 32 policies."""
    return pool.memo("policy", policy, lambda: _build_prepared(pool, policy), 32)


def _codes(values: Sequence[Hashable], names: Sequence[Hashable]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(names)}
    return np.array([lookup.get(v, -1) for v in values], dtype=int)


def _build_prepared(pool: ItemPool, policy: CatPolicy) -> Prepared:
    domains = tuple(d for d, _ in policy.blueprint)
    code = _codes(pool.domain, domains)
    plan = None
    if domains:
        weights = np.array([w for _, w in policy.blueprint])
        plan = constraints.quota_plan(weights, policy.min_items, policy.max_items)
    sh_k = None
    if policy.sh_exposure is not None:
        sh_k = policy.sh_exposure.matrix(pool.ids)
    fact_code: np.ndarray | None = None
    fact_items: tuple[np.ndarray, ...] = ()
    if policy.fact_limit > 0 and any(f is not None for f in pool.fact):
        names = sorted({f for f in pool.fact if f is not None})
        fact_code = _codes(pool.fact, names)
        order = np.argsort(fact_code, kind="stable")
        cuts = np.searchsorted(fact_code[order], np.arange(len(names) + 1))
        fact_items = tuple(order[cuts[f] : cuts[f + 1]] for f in range(len(names)))
    type_code = None
    if policy.type_max_share and pool.kind:
        type_code = _codes(pool.kind, [t for t, _ in policy.type_max_share])
    usable = pool.eligible & ((code >= 0) if domains else True)
    return Prepared(
        domain_code=code,
        plan=plan,
        sh_k=sh_k,
        grid=policy.grid(),
        operational=usable & ~pool.is_pretest,
        pretest=pool.eligible & pool.is_pretest,
        z=stopping.z_value(policy.ci_level),
        domains=domains,
        stratum=_strata(pool, usable & ~pool.is_pretest, policy.a_strata),
        fact_code=fact_code,
        fact_items=fact_items,
        type_code=type_code,
        type_share=tuple(x for _, x in policy.type_max_share),
        info_at=irt.InformationAt(pool.a, pool.b, pool.c),
    )


def _strata(pool: ItemPool, operational: np.ndarray, n_strata: int) -> np.ndarray | None:
    """Stratum (N,) of each operational item: floor(rank of a * S / count), -1 elsewhere."""
    if n_strata <= 1:
        return None
    idx = np.flatnonzero(operational)
    out = np.full(len(pool.ids), -1, dtype=int)
    rank = np.argsort(np.argsort(pool.a[idx], kind="stable"), kind="stable")
    out[idx] = rank * n_strata // max(len(idx), 1)
    return out
