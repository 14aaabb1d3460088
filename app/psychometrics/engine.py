"""The CAT session API used by exam delivery and, unchanged, by the simulator.

Flow for one attempt (each call is pure: state in, new state out)::

    state = start_attempt(policy, pool, seed)
    while not (decision := stop_decision(state, policy)).stop:
        item_id = select_next(state, policy, pool)
        if item_id is None:
            decision = StopDecision(True, StopReason.BANK_EXHAUSTED); break
        state = record_response(state, item_id, correct, policy, pool)
    result = finalize(state, policy, pool, decision.reason)

The clock belongs to the caller: pass stop_decision(..., time_expired=True) once the time
limit (times the candidate's accommodation factor) has passed, then finalize. The
AttemptState is a small JSON-serialisable value (to_dict / from_dict), so any worker can
resume an attempt; select_next draws its random numbers from (seed, items seen), so the same
state always yields the same next item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from app.psychometrics import estimation, scoring, selection, stopping
from app.psychometrics.engine_types import AttemptState, CatPolicy, ExamResult, ItemPool
from app.psychometrics.stopping import StopReason

__all__ = [
    "AttemptState",
    "CatPolicy",
    "ExamResult",
    "ItemPool",
    "StopDecision",
    "StopReason",
    "current_estimate",
    "finalize",
    "record_response",
    "score_responses",
    "select_next",
    "select_with_trace",
    "start_attempt",
    "stop_decision",
]


class StopDecision(NamedTuple):
    """(stop, reason): reason is None while the attempt continues."""

    stop: bool
    reason: StopReason | None


@dataclass(frozen=True, eq=False)
class _Prepared:
    """Per (pool, policy) arrays, computed once: domain codes (N,), limits, SH vector, grid."""

    domain_code: np.ndarray
    bounds: selection.DomainBounds | None
    sh_k: np.ndarray | None
    grid: estimation.Grid
    operational: np.ndarray
    pretest: np.ndarray
    z: float
    domains: tuple[str, ...] = field(default=())
    stratum: np.ndarray | None = None


def _prepare(pool: ItemPool, policy: CatPolicy) -> _Prepared:
    """The per (pool, policy) arrays, memoised on the pool by the policy's value (equal
    policies share them, however many objects a caller builds); at most 32 policies."""
    return pool.memo("policy", policy, lambda: _build_prepared(pool, policy), 32)


def _build_prepared(pool: ItemPool, policy: CatPolicy) -> _Prepared:
    domains = tuple(d for d, _ in policy.blueprint)
    lookup = {d: i for i, d in enumerate(domains)}
    code = np.array([lookup.get(d, -1) for d in pool.domain], dtype=int)
    bounds = None
    if domains:
        weights = np.array([w for _, w in policy.blueprint])
        bounds = selection.domain_bounds(weights, policy.min_items, policy.max_items)
    sh_k = None
    if policy.sh_exposure is not None:
        given = dict(policy.sh_exposure)
        sh_k = np.array([given.get(i, 1.0) for i in pool.ids], dtype=float)
    usable = pool.eligible & ((code >= 0) if domains else True)
    return _Prepared(
        domain_code=code,
        bounds=bounds,
        sh_k=sh_k,
        grid=policy.grid(),
        operational=usable & ~pool.is_pretest,
        pretest=pool.eligible & pool.is_pretest,
        z=stopping.z_value(policy.ci_level),
        domains=domains,
        stratum=_strata(pool, usable & ~pool.is_pretest, policy.a_strata),
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


def _ranked(
    candidates: np.ndarray, theta: float, pool: ItemPool, prep: _Prepared, policy: CatPolicy,
    n_scored: int,
) -> np.ndarray:  # fmt: skip
    """Candidates by information at theta, best first; with a-strata, the current stratum's
    items first and the others after them (so the Sympson-Hetter lottery can move on to
    another stratum instead of falling back to the best item of an exhausted one)."""
    rank = selection.rank_by_information
    if prep.stratum is None:
        return rank(theta, pool.a, pool.b, pool.c, candidates)
    stage = sum(n_scored >= n for n in policy.strata_at)
    inside = prep.stratum[candidates] == stage
    first = rank(theta, pool.a, pool.b, pool.c, candidates[inside])
    return np.concatenate([first, rank(theta, pool.a, pool.b, pool.c, candidates[~inside])])


def _selection_point(est: estimation.Estimate, policy: CatPolicy, z: float) -> float:
    """Where information is maximised: the estimate, or with select_at_cut the cut whenever
    the estimate's ci_level interval still contains it."""
    if policy.select_at_cut and abs(est.theta - policy.cut_theta) <= z * est.se:
        return policy.cut_theta
    return est.theta


def start_attempt(
    policy: CatPolicy, pool: ItemPool, seed: int, excluded_ids: Iterable[str] = ()
) -> AttemptState:
    """Open an attempt: prior log-posterior, pretest positions drawn from the seed.

    excluded_ids: items this candidate must not see (e.g. seen in an earlier attempt).
    Pretest slots are distinct positions (0-based, in the delivered sequence) drawn from
    [1, min_items + pretest_count - 1), so all are delivered before the attempt can stop.
    """
    rng = np.random.default_rng([seed, 0xC47])
    n_pre = min(policy.pretest_count, int(pool.is_pretest.sum()))
    upper = max(policy.min_items + n_pre - 1, 1 + n_pre)
    slots = sorted(int(s) for s in rng.choice(np.arange(1, upper), n_pre, replace=False))
    grid = _prepare(pool, policy).grid
    return AttemptState(
        seed=int(seed),
        item_ids=(),
        responses=(),
        pretest_slots=tuple(slots),
        excluded_ids=tuple(excluded_ids),
        log_post=estimation.normalise(np.array(grid.log_prior)),
        n_scored=0,
    )


def current_estimate(state: AttemptState, policy: CatPolicy) -> estimation.Estimate:
    """The EAP estimate and posterior SD held by the state (memoised on the state object)."""
    grid = policy.grid()
    memo = state.__dict__.get("_estimate")
    if memo is not None and memo[0] is grid:
        return memo[1]
    if len(state.log_post) != len(grid.points):
        raise ValueError("attempt state does not match the policy's EAP grid")
    est = estimation.eap_from_log_posterior(state.log_post, grid)
    state.__dict__["_estimate"] = (grid, est)  # a cache, not state: frozen fields unchanged
    return est


def stop_decision(
    state: AttemptState, policy: CatPolicy, *, time_expired: bool = False
) -> StopDecision:
    """Whether to stop now, and why (see stopping.decide for the rule order)."""
    est = current_estimate(state, policy)
    stop, reason = stopping.decide(
        state.n_scored,
        est.theta,
        est.se,
        min_items=policy.min_items,
        max_items=policy.max_items,
        cut_theta=policy.cut_theta if policy.ci_rule else None,
        ci_level=policy.ci_level,
        se_target=policy.se_target,
        time_expired=time_expired,
    )
    return StopDecision(stop, reason)


def _seen_indices(state: AttemptState, pool: ItemPool) -> np.ndarray:
    """Pool indices (L,) of the delivered items, in order."""
    return np.fromiter((pool.index[i] for i in state.item_ids), int, len(state.item_ids))


def _unseen_mask(
    state: AttemptState, pool: ItemPool, base: np.ndarray, seen: np.ndarray
) -> np.ndarray:
    """base (N,) minus the delivered items and the candidate's excluded ids."""
    mask = base.copy()
    mask[seen] = False
    for item_id in state.excluded_ids:
        j = pool.index.get(item_id)
        if j is not None:
            mask[j] = False
    return mask


def _balanced_candidates(
    seen: np.ndarray, pool: ItemPool, prep: _Prepared, policy: CatPolicy, mask: np.ndarray
) -> np.ndarray:
    """Eligible items of the domain chosen by selection.choose_domain (all if no blueprint)."""
    if prep.bounds is None:
        return np.flatnonzero(mask)
    n_dom = len(prep.domains)
    scored = seen[~pool.is_pretest[seen]]
    counts = np.bincount(prep.domain_code[scored], minlength=n_dom)
    available = np.bincount(prep.domain_code[mask], minlength=n_dom) > 0
    d = selection.choose_domain(counts, prep.bounds, policy.min_items, available)
    if d is None:  # every open domain is spent: relax the blueprint rather than stop early
        return np.flatnonzero(mask)
    return np.flatnonzero(mask & (prep.domain_code == d))


def _sh_uniforms(pool: ItemPool, seed: int) -> np.ndarray:
    """One uniform per pool item for this attempt (see pick_with_exposure_control); memoised
    for at most 1,024 attempts."""
    return pool.memo(
        "sh_u", seed, lambda: np.random.default_rng([seed, 0x5E]).random(len(pool.ids)), 1024
    )


def _pick_pretest(
    state: AttemptState, pool: ItemPool, prep: _Prepared, seen: np.ndarray
) -> str | None:
    """At a pretest slot: a uniformly drawn unseen pretest item (None if there is none)."""
    pre = np.flatnonzero(_unseen_mask(state, pool, prep.pretest, seen))
    if not len(pre):
        return None
    rng = selection.StepRandom(state.seed, len(state.item_ids))
    return pool.ids[int(pre[rng.integers(len(pre))])]


def select_with_trace(
    state: AttemptState, policy: CatPolicy, pool: ItemPool
) -> tuple[str | None, list[int]]:
    """select_next plus the pool indices that entered a Sympson-Hetter lottery this step."""
    if stop_decision(state, policy).stop:
        return None, []
    prep = _prepare(pool, policy)
    seen = _seen_indices(state, pool)
    if len(state.item_ids) in state.pretest_slots:
        item_id = _pick_pretest(state, pool, prep, seen)
        if item_id is not None:
            return item_id, []
    mask = _unseen_mask(state, pool, prep.operational, seen)
    if not mask.any():
        return None, []
    candidates = _balanced_candidates(seen, pool, prep, policy, mask)
    theta = _selection_point(current_estimate(state, policy), policy, prep.z)
    ranked = _ranked(candidates, theta, pool, prep, policy, state.n_scored)
    sh_u = _sh_uniforms(pool, state.seed) if prep.sh_k is not None else None
    rng = selection.StepRandom(state.seed, len(state.item_ids))
    k = policy.randomesque_k
    if len(seen) < policy.opening_items:
        k = max(k, policy.opening_k)
    item, tried = selection.pick_with_exposure_control(ranked, rng, k, prep.sh_k, sh_u)
    return pool.ids[item], tried


def select_next(state: AttemptState, policy: CatPolicy, pool: ItemPool) -> str | None:
    """The next item id, or None when the attempt must stop (stop rule met or bank empty).

    Deterministic: the step's generator is selection.StepRandom(state.seed, items seen). At a
    pretest slot, a uniformly drawn unseen pretest item; otherwise the maximum-information
    item at the EAP estimate within the blueprint domain furthest below target, subject
    to randomesque and Sympson-Hetter exposure control.
    """
    return select_with_trace(state, policy, pool)[0]


def record_response(
    state: AttemptState, item_id: str, correct: bool, policy: CatPolicy, pool: ItemPool
) -> AttemptState:
    """Append one response; a scored item updates the log-posterior in O(grid size).

    Pretest responses are stored but leave the posterior and n_scored unchanged.
    Raises ValueError for an unknown or already answered item.
    """
    j = pool.index.get(item_id)
    if j is None:
        raise ValueError(f"unknown item {item_id!r}")
    if item_id in state.item_ids:
        raise ValueError(f"item {item_id!r} already answered")
    log_post, n_scored = state.log_post, state.n_scored
    if not pool.is_pretest[j]:
        grid = _prepare(pool, policy).grid
        log_post = estimation.update(log_post, grid, pool.a[j], pool.b[j], pool.c[j], correct)
        n_scored += 1
    return AttemptState(
        seed=state.seed,
        item_ids=state.item_ids + (item_id,),
        responses=state.responses + (bool(correct),),
        pretest_slots=state.pretest_slots,
        excluded_ids=state.excluded_ids,
        log_post=log_post,
        n_scored=n_scored,
    )


def _result(
    log_post: np.ndarray,
    scored: Sequence[tuple[int, bool]],
    n_pretest: int,
    policy: CatPolicy,
    pool: ItemPool,
    reason: StopReason | str | None,
) -> ExamResult:
    prep = _prepare(pool, policy)
    est = estimation.eap_from_log_posterior(log_post, prep.grid)
    idx = np.array([j for j, _ in scored], dtype=int)
    u = np.array([r for _, r in scored], dtype=float)
    diagnostics = []
    for d, name in enumerate(prep.domains):
        sel = prep.domain_code[idx] == d
        diagnostics.append(
            scoring.domain_diagnostic(
                name,
                prep.grid,
                pool.a[idx[sel]],
                pool.b[idx[sel]],
                pool.c[idx[sel]],
                u[sel],
                policy.cut_theta,
                prep.z,
            )
        )
    return ExamResult(
        theta=est.theta,
        se=est.se,
        passed=scoring.passed(est.theta, policy.cut_theta),
        scaled_score=scoring.scaled_score(est.theta, policy.cut_theta),
        domains=tuple(diagnostics),
        n_scored=len(scored),
        n_pretest=n_pretest,
        reason=str(reason) if reason is not None else None,
    )


def _split(responses: Iterable[tuple[str, bool]], pool: ItemPool):
    scored, n_pretest = [], 0
    for item_id, correct in responses:
        j = pool.index[item_id]
        if pool.is_pretest[j]:
            n_pretest += 1
        else:
            scored.append((j, bool(correct)))
    return scored, n_pretest


def finalize(
    state: AttemptState, policy: CatPolicy, pool: ItemPool, reason: StopReason | str | None
) -> ExamResult:
    """The result from the state's incremental posterior: EAP, pass/fail, scaled, domains."""
    scored, n_pretest = _split(zip(state.item_ids, state.responses, strict=True), pool)
    return _result(state.log_post, scored, n_pretest, policy, pool, reason)


def score_responses(
    responses: Iterable[tuple[str, bool]],
    policy: CatPolicy,
    pool: ItemPool,
    reason: StopReason | str | None = None,
) -> ExamResult:
    """Recompute the result from scratch from (item_id, correct) pairs, pretest ignored."""
    scored, n_pretest = _split(responses, pool)
    idx = np.array([j for j, _ in scored], dtype=int)
    u = np.array([r for _, r in scored], dtype=float)
    grid = _prepare(pool, policy).grid
    log_post = estimation.log_posterior(grid, pool.a[idx], pool.b[idx], pool.c[idx], u)
    return _result(log_post, scored, n_pretest, policy, pool, reason)
