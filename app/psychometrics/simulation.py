"""Monte Carlo simulation of adaptive and fixed-form exams through the engine's own API.

Every simulated CAT calls engine.start_attempt / stop_decision / select_next /
record_response / finalize, exactly as exam delivery does. Units: theta in logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from app.psychometrics import engine, estimation, irt
from app.psychometrics.engine import CatPolicy, ItemPool, StopDecision, StopReason


@dataclass(frozen=True, eq=False)
class CatRun:
    """Outcome of E simulated attempts: arrays are (E,), items is a list of (L_e,) indices.

    theta_true, theta_hat, se: logits. passed: bool. length: scored items. reason: stop
    reasons. items: scored pool indices per examinee, in order. selected: (N,) count of
    Sympson-Hetter lottery entries per item (the "selected" events).
    """

    theta_true: np.ndarray
    theta_hat: np.ndarray
    se: np.ndarray
    passed: np.ndarray
    length: np.ndarray
    reason: tuple[str, ...]
    items: list[np.ndarray]
    selected: np.ndarray


def generate_bank(
    rng: np.random.Generator,
    n_items: int,
    domains: tuple[str, ...],
    weights: np.ndarray,
    a_scale: float = 1.0,
    a_sdlog: float = 0.3,
) -> ItemPool:
    """Synthetic 3PL bank: a ~ a_scale * lognormal(0, a_sdlog), b ~ N(0, 1), c = 0.2.

    Domains are assigned in blocks proportional to weights. a_scale = 1.7 expresses the
    same bank with normal-ogive-sized discriminations on the logistic metric. a_sdlog is the
    SD of log a (numpy's and R's convention, as issue 3's "lognormal(0, 0.3)").
    """
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    counts = np.floor(w * n_items).astype(int)
    counts[: n_items - counts.sum()] += 1
    domain = [d for d, k in zip(domains, counts, strict=True) for _ in range(k)]
    ids = [f"SIM-{d}-{i:04d}" for i, d in enumerate(domain)]
    a = a_scale * rng.lognormal(0.0, a_sdlog, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    return ItemPool.from_lists(ids, a, b, [0.2] * n_items, domain)


def run_attempt(
    policy: CatPolicy,
    pool: ItemPool,
    theta: float,
    seed: int,
    rng: np.random.Generator,
    selected: np.ndarray | None = None,
):
    """One simulated candidate of true ability theta; returns (ExamResult, AttemptState).

    Responses are Bernoulli(P(theta)) drawn from rng. If selected (N,) is given, each item
    that entered a Sympson-Hetter lottery is counted in it, once per candidate.
    """
    state = engine.start_attempt(policy, pool, seed)
    decision = engine.stop_decision(state, policy)
    entered: set[int] = set()
    while not decision.stop:
        item_id, tried = engine.select_with_trace(state, policy, pool)
        if item_id is None:
            decision = StopDecision(True, StopReason.BANK_EXHAUSTED)
            break
        entered.update(tried)
        j = pool.index[item_id]
        p = irt.probability(theta, pool.a[j : j + 1], pool.b[j : j + 1], pool.c[j : j + 1])[0]
        state = engine.record_response(state, item_id, bool(rng.random() < p), policy, pool)
        decision = engine.stop_decision(state, policy)
    if selected is not None and entered:  # P(S_i) counts each item once per examinee
        selected[list(entered)] += 1
    return engine.finalize(state, policy, pool, decision.reason), state


def simulate_cat(
    policy: CatPolicy,
    pool: ItemPool,
    thetas: np.ndarray,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> CatRun:
    """Run one attempt per true theta in thetas (E,); attempt e uses seed (seed, e)."""
    rng = np.random.default_rng([seed, 0x51])
    selected = np.zeros(len(pool.ids))
    out_hat, out_se, out_pass, out_len, reasons, items = [], [], [], [], [], []
    for e, theta in enumerate(thetas):
        result, state = run_attempt(policy, pool, float(theta), seed * 1_000_003 + e, rng, selected)
        idx = np.array([pool.index[i] for i in state.item_ids], dtype=int)
        items.append(idx[~pool.is_pretest[idx]])
        out_hat.append(result.theta)
        out_se.append(result.se)
        out_pass.append(result.passed)
        out_len.append(result.n_scored)
        reasons.append(result.reason)
        if progress is not None:
            progress(e + 1)
    return CatRun(
        np.asarray(thetas, dtype=float),
        np.array(out_hat),
        np.array(out_se),
        np.array(out_pass),
        np.array(out_len),
        tuple(reasons),
        items,
        selected,
    )


def derive_sympson_hetter(
    policy: CatPolicy,
    pool: ItemPool,
    r_max: float,
    rng: np.random.Generator,
    n_examinees: int = 1000,
    iterations: int = 8,
    progress: Callable[[int], None] | None = None,
    margin: float = 0.02,
) -> dict[str, float]:
    """Sympson-Hetter exposure parameters K by iterative simulation.

    Start with K = 1. Each iteration simulates n_examinees from N(0, 1) under the current K,
    estimates the selection rate P(S_i) (lottery entries / examinees) and sets
    K_i = min(1, r / P(S_i)) with r = r_max - margin (K_i = 1 when P(S_i) = 0), so that the
    administration rate P(A_i) = P(S_i) K_i tends to at most r_max; the margin absorbs the
    sampling error of P(S_i) in a finite simulation. Returns item id -> K.
    """
    k = np.ones(len(pool.ids))
    target = r_max - margin
    for it in range(iterations):
        current = replace(policy, sh_exposure=dict(zip(pool.ids, k.tolist(), strict=True)))
        thetas = rng.normal(0.0, 1.0, n_examinees)
        run = simulate_cat(current, pool, thetas, int(rng.integers(2**31)))
        p_sel = run.selected / n_examinees
        k = np.where(p_sel > target, target / np.maximum(p_sel, 1e-12), 1.0)
        if progress is not None:
            progress(it + 1)
    return dict(zip(pool.ids, k.tolist(), strict=True))


def best_fixed_form(pool: ItemPool, length: int, theta0: float) -> np.ndarray:
    """Indices of the `length` operational items with the most information at theta0."""
    ops = np.flatnonzero(~pool.is_pretest & pool.eligible)
    info = irt.information(theta0, pool.a[ops], pool.b[ops], pool.c[ops])
    return ops[np.argsort(-info, kind="stable")[:length]]


def blueprint_counts(length: int, weights: np.ndarray) -> np.ndarray:
    """Integer domain counts (D,) summing to length: largest remainders of w_d * length."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    ideal = w * length
    counts = np.floor(ideal + 1e-9).astype(int)
    order = np.argsort(-(ideal - counts), kind="stable")
    counts[order[: length - counts.sum()]] += 1
    return counts


def blueprint_fixed_form(
    pool: ItemPool, length: int, theta0: float, blueprint: tuple[tuple[str, float], ...]
) -> np.ndarray:
    """The `length`-item form with the most information at theta0 that meets the blueprint.

    Domain d gets blueprint_counts(length, weights)[d] items, its most informative at theta0
    (information is additive, so this maximises the form's information at theta0 under the
    exact counts). A domain with too few items gives all it has; the shortfall is filled with
    the best remaining items of any blueprint domain.
    """
    ops = ~pool.is_pretest & pool.eligible
    info = irt.information(theta0, pool.a, pool.b, pool.c)
    names = [d for d, _ in blueprint]
    counts = blueprint_counts(length, np.array([w for _, w in blueprint]))
    chosen: list[int] = []
    for name, k in zip(names, counts, strict=True):
        idx = np.flatnonzero(ops & (np.array(pool.domain) == name))
        chosen += idx[np.argsort(-info[idx], kind="stable")[:k]].tolist()
    rest = np.flatnonzero(ops & np.isin(pool.domain, names))
    rest = rest[~np.isin(rest, chosen)]
    chosen += rest[np.argsort(-info[rest], kind="stable")[: length - len(chosen)]].tolist()
    return np.array(chosen, dtype=int)


def simulate_fixed_form(
    form: np.ndarray,
    pool: ItemPool,
    thetas: np.ndarray,
    grid: estimation.Grid,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """EAP (theta_hat, se), each (E,), of every examinee on the fixed form (L,) of indices."""
    a, b, c = pool.a[form], pool.b[form], pool.c[form]
    p = irt.probability(np.asarray(thetas), a, b, c)
    u = (rng.random(p.shape) < p).astype(float)
    pc = np.clip(irt.probability(grid.points, a, b, c), 1e-12, 1 - 1e-12)
    log_post = u @ np.log(pc).T + (1.0 - u) @ np.log1p(-pc).T + grid.log_prior
    w = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    mean = w @ grid.points
    sd = np.sqrt(np.maximum(w @ grid.points**2 - mean**2, 0.0))
    return mean, sd
