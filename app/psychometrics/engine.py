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

from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np

from app.psychometrics import constraints, estimation, selection, stopping
from app.psychometrics.engine_checks import pool_problems, violations
from app.psychometrics.engine_prepared import Prepared, prepare
from app.psychometrics.engine_results import finalize, score_responses
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
    "pool_problems",
    "record_response",
    "score_responses",
    "select_next",
    "select_with_trace",
    "start_attempt",
    "stop_decision",
    "violations",
]


class StopDecision(NamedTuple):
    """(stop, reason): reason is None while the attempt continues."""

    stop: bool
    reason: StopReason | None


def _ranked(
    candidates: np.ndarray, theta: float, pool: ItemPool, prep: Prepared, policy: CatPolicy,
    n_scored: int,
) -> np.ndarray:  # fmt: skip
    """With a-strata: the current stratum's candidates by information at theta, best first,
    then the others (so the Sympson-Hetter lottery can move on to another stratum instead of
    falling back to the best item of an exhausted one)."""
    rank = selection.rank_by_information
    stage = sum(n_scored >= n for n in policy.strata_at)
    assert prep.stratum is not None  # called only with a-strata
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
    [1, min_items + pretest_count - 1), so all are delivered before the attempt can stop;
    there are as many as there are eligible pretest items this candidate may see, at most
    pretest_count (so no slot falls back to an operational item).
    """
    rng = np.random.default_rng([seed, 0xC47])
    prep = prepare(pool, policy)
    excluded = [pool.index[i] for i in excluded_ids if i in pool.index]
    pretest = prep.pretest.copy()
    pretest[excluded] = False
    n_pre = min(policy.pretest_count, _pretest_capacity(prep, pretest, policy))
    upper = max(policy.min_items + n_pre - 1, 1 + n_pre)
    slots = sorted(int(s) for s in rng.choice(np.arange(1, upper), n_pre, replace=False))
    grid = prep.grid
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
    return np.fromiter(map(pool.index.__getitem__, state.item_ids), int, len(state.item_ids))


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


def _pretest_capacity(prep: Prepared, pretest: np.ndarray, policy: CatPolicy) -> int:
    """Pretest items an attempt can be given from pretest (N,) bool under the fact limit."""
    if prep.fact_code is None:
        return int(pretest.sum())
    return constraints.fact_capacity(prep.fact_code, pretest, policy.fact_limit)


def _fact_room(prep: Prepared, policy: CatPolicy, seen: np.ndarray) -> np.ndarray | None:
    """(F,) items each fact may still give this attempt (None when the limit is off)."""
    if prep.fact_code is None:
        return None
    used = prep.fact_code[seen]
    used = used[used >= 0]
    return policy.fact_limit - np.bincount(used, minlength=len(prep.fact_items))


def _drop_full_facts(mask: np.ndarray, prep: Prepared, room: np.ndarray | None) -> None:
    """Clear, in place, the items of every fact with no room left."""
    if room is not None:
        full = np.append(room <= 0, False)  # code -1 (no fact) reads the last entry
        mask &= ~full[prep.fact_code]


def _type_room(prep: Prepared, policy: CatPolicy, scored: np.ndarray, at: int) -> np.ndarray:
    """(T,) scored items of each capped type still allowed once `at` items are scored."""
    assert prep.type_code is not None  # called only with type caps
    used = prep.type_code[scored]
    counts = np.bincount(used[used >= 0], minlength=len(prep.type_share))
    caps = [constraints.type_cap(x, at, policy.min_items) for x in prep.type_share]
    return np.array(caps, dtype=int) - counts


def _stock(mask: np.ndarray, prep: Prepared, room: np.ndarray | None) -> constraints.Stock:
    """The items of mask (N,) as a Stock: per domain without a fact, per fact and domain."""
    n_dom = len(prep.domains)
    dom = prep.domain_code[mask]
    if prep.fact_code is None:
        return constraints.Stock(np.bincount(dom, minlength=n_dom), np.zeros((0, n_dom)), room)
    codes = prep.fact_code[mask]
    has = codes >= 0
    n_facts = len(prep.fact_items)
    pairs = np.bincount(codes[has] * n_dom + dom[has], minlength=n_facts * n_dom)
    free = np.bincount(dom[~has], minlength=n_dom)
    return constraints.Stock(free, pairs.reshape(n_facts, n_dom), room)


class _Context(NamedTuple):
    """What the final check of a picked item needs: scored domain counts, the stock of
    items for later steps, and that stock's mask."""

    counts: np.ndarray
    stock: constraints.Stock
    later: np.ndarray
    assured: np.ndarray  # (D,) stock.assured()


def _constrained_candidates(
    seen: np.ndarray, pool: ItemPool, prep: Prepared, policy: CatPolicy, mask: np.ndarray
) -> tuple[np.ndarray, _Context | None]:
    """Narrow mask (N,), in place, to the items whose delivery as the next scored item keeps
    every constraint satisfiable: fact limit, type caps, and domains whose next item leaves
    a completion to max_items inside the quotas with items enough (by the domain supplies,
    an upper bound; the picked item is then checked exactly by _keeps_constraints)."""
    room = _fact_room(prep, policy, seen)
    _drop_full_facts(mask, prep, room)
    if prep.plan is None and prep.type_code is None:
        return mask, None
    scored = seen[~pool.is_pretest[seen]]
    later = mask.copy()
    if prep.type_code is not None:
        now = _type_room(prep, policy, scored, len(scored) + 1)
        ever = _type_room(prep, policy, scored, policy.max_items)
        for t in range(len(prep.type_share)):
            if now[t] <= 0:
                mask &= prep.type_code != t
            if ever[t] <= 0:
                later &= prep.type_code != t
    if prep.plan is None:
        return mask, None
    counts = np.bincount(prep.domain_code[scored], minlength=len(prep.domains))
    stock = _stock(later, prep, room)
    supply = stock.supply()
    allowed = prep.plan.open_domains(counts).copy()
    if not (counts + supply - 1 >= prep.plan.top).all():  # else no supply bound binds
        for d in np.flatnonzero(allowed):
            nxt = counts.copy()
            nxt[d] += 1
            allowed[d] = len(prep.plan.finals(nxt, nxt + supply - (np.arange(len(nxt)) == d)))
    if not allowed.all():
        mask &= np.append(allowed, False)[prep.domain_code]
    return mask, _Context(counts, stock, later, stock.assured())


def _keeps_constraints(
    j: int, ctx: _Context, prep: Prepared, policy: CatPolicy, scored: np.ndarray
) -> bool:
    """Whether, after delivering item j, some final state reachable inside the quotas can be
    staffed with distinct open items (constraints.Stock.suffices: Hall's condition over the
    facts), with j's fact and type used."""
    d = int(prep.domain_code[j])
    counts = ctx.counts.copy()
    counts[d] += 1
    stock, in_stock, assured = ctx.stock, bool(ctx.later[j]), ctx.assured
    if prep.type_code is not None and prep.type_code[j] >= 0:
        t = prep.type_code[j]
        if _type_room(prep, policy, np.append(scored, j), policy.max_items)[t] <= 0:
            stock = _stock(ctx.later & (prep.type_code != t), prep, stock.room)
            in_stock, assured = False, stock.assured()  # j is of type t
    assert prep.plan is not None  # called only with a blueprint
    if (assured - 1 >= prep.plan.top - counts).all():
        return True  # j takes at most one assured item: every domain can still reach its top
    f = int(prep.fact_code[j]) if prep.fact_code is not None else -1
    return _completes(prep, counts, stock.without(d, f, in_stock=in_stock))


def _completes(prep: Prepared, counts: np.ndarray, stock: constraints.Stock) -> bool:
    """Whether some final state reachable from domain counts (D,) inside the quotas can be
    staffed with distinct items of stock (Hall's condition over the facts)."""
    assert prep.plan is not None
    finals = prep.plan.finals(counts, counts + stock.supply())
    return any(stock.suffices(final - counts) for final in finals)


def _sh_uniforms(pool: ItemPool, seed: int) -> np.ndarray:
    """One uniform per pool item for this attempt (see pick_with_exposure_control); memoised
    for at most 1,024 attempts."""
    return pool.memo(
        "sh_u", seed, lambda: np.random.default_rng([seed, 0x5E]).random(len(pool.ids)), 1024
    )


def _pretest_keeping_constraints(
    state: AttemptState, pool: ItemPool, prep: Prepared, policy: CatPolicy,
    seen: np.ndarray, pre: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """The pretest items of pre whose fact, once used, still leaves the operational items
    a completion inside the quotas: a pretest item counts against the fact limit, so one
    sharing its fact with the last open items of a domain would end the attempt early."""
    if prep.plan is None or prep.fact_code is None or not len(pre):
        return pre
    ops = _unseen_mask(state, pool, prep.operational, seen)
    ctx = _constrained_candidates(seen, pool, prep, policy, ops)[1]
    if ctx is None or (ctx.assured - 1 >= prep.plan.top - ctx.counts).all():
        return pre  # a used fact costs each domain at most one assured item
    keep = np.ones(len(pre), dtype=bool)
    verdict: dict[int, bool] = {}
    for i, j in enumerate(pre):
        f = int(prep.fact_code[j])
        if f < 0 or not ctx.stock.per_fact[f].any():
            continue
        if f not in verdict:  # d is not read for an item outside the stock
            verdict[f] = _completes(prep, ctx.counts, ctx.stock.without(0, f, in_stock=False))
        keep[i] = verdict[f]
    return pre[keep]


def _pick_pretest(
    state: AttemptState, pool: ItemPool, prep: Prepared, policy: CatPolicy, seen: np.ndarray
) -> str | None:
    """At a pretest slot: a uniformly drawn unseen pretest item of a fact still open, whose
    use keeps the operational constraints satisfiable (_pretest_keeping_constraints)."""
    mask = _unseen_mask(state, pool, prep.pretest, seen)
    _drop_full_facts(mask, prep, _fact_room(prep, policy, seen))
    pre = _pretest_keeping_constraints(state, pool, prep, policy, seen, np.flatnonzero(mask))
    if not len(pre):
        return None
    rng = selection.StepRandom(state.seed, len(state.item_ids))
    return pool.ids[int(pre[rng.integers(len(pre))])]


def select_with_trace(
    state: AttemptState,
    policy: CatPolicy,
    pool: ItemPool,
    score: Callable[[np.ndarray], np.ndarray] | None = None,
    band_theta: float | None = None,
) -> tuple[str | None, list[int]]:
    """select_next plus the pool indices that entered a Sympson-Hetter lottery this step.

    score: candidate indices (M,) -> (M,) values ranked instead of the information at the
    estimate (the simulator's oracle; every constraint and the exposure control still apply).
    band_theta: the ability whose band's K apply (the simulator's oracle: its true theta);
    by default the estimate's, as in delivery.
    """
    if stop_decision(state, policy).stop:
        return None, []
    prep = prepare(pool, policy)
    seen = _seen_indices(state, pool)
    if len(state.item_ids) in state.pretest_slots:
        item_id = _pick_pretest(state, pool, prep, policy, seen)
        if item_id is not None:
            return item_id, []
    mask = _unseen_mask(state, pool, prep.operational, seen)
    candidates, ctx = _constrained_candidates(seen, pool, prep, policy, mask)
    if ctx is None:  # no look-ahead to check: the pick stands
        if not candidates.any():
            return None, []
        item, tried = _pick(state, policy, pool, prep, candidates, len(seen), score, band_theta)
        return pool.ids[item], tried
    scored = seen[~pool.is_pretest[seen]]
    while True:
        if not candidates.any():  # no item keeps the constraints: stop rather than break one
            return None, []
        item, tried = _pick(state, policy, pool, prep, candidates, len(seen), score, band_theta)
        if _keeps_constraints(item, ctx, prep, policy, scored):
            return pool.ids[item], tried
        candidates[item] = False  # its fact or type starves a domain


def _pick(
    state: AttemptState, policy: CatPolicy, pool: ItemPool, prep: Prepared,
    candidates: np.ndarray, n_seen: int, score: Callable[[np.ndarray], np.ndarray] | None,
    band_theta: float | None = None,
) -> tuple[int, list[int]]:  # fmt: skip
    """The exposure-controlled maximum-information pick among the candidates (N,) bool."""
    est = current_estimate(state, policy)
    theta = _selection_point(est, policy, prep.z)
    sh_k = sh_u = None
    if prep.sh_k is not None and policy.sh_exposure is not None:
        at = est.theta if band_theta is None else band_theta
        sh_k = prep.sh_k[policy.sh_exposure.row(at, state.n_scored)]
        sh_u = _sh_uniforms(pool, state.seed)
    rng = selection.StepRandom(state.seed, len(state.item_ids))
    k = policy.randomesque_k
    if n_seen < policy.opening_items:
        k = max(k, policy.opening_k)
    if prep.stratum is not None:
        ranked = _ranked(np.flatnonzero(candidates), theta, pool, prep, policy, state.n_scored)
        return selection.pick_with_exposure_control(ranked, rng, k, sh_k, sh_u)
    if score is not None:
        return selection.best_by_information(
            theta, pool.a, pool.b, pool.c, np.flatnonzero(candidates), rng, k, sh_k, sh_u, score
        )
    return selection.best_in_mask(
        theta, pool.a, pool.b, pool.c, candidates, rng, k, sh_k, sh_u, prep.info_at
    )


def select_next(state: AttemptState, policy: CatPolicy, pool: ItemPool) -> str | None:
    """The next item id, or None when the attempt must stop (stop rule met or bank empty).

    Deterministic: the step's generator is selection.StepRandom(state.seed, items seen). At a
    pretest slot, a uniformly drawn unseen pretest item; otherwise the maximum-information
    item at the EAP estimate among those that keep every content constraint satisfiable
    (constraints module), subject to randomesque and Sympson-Hetter exposure control (K of
    the estimate's band). None also when no item keeps the constraints.
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
        grid = prepare(pool, policy).grid
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
