"""Monte Carlo simulation of adaptive and fixed-form exams through the engine's own API.

Every simulated CAT calls engine.start_attempt / stop_decision / select_next /
record_response / finalize, exactly as exam delivery does. Units: theta in logits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.psychometrics import engine, estimation, irt
from app.psychometrics.engine import CatPolicy, ItemPool, StopDecision, StopReason
from app.psychometrics.engine_types import ExposureControl


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
    reason: tuple[str | None, ...]
    items: list[np.ndarray]
    selected: np.ndarray


def generate_bank(
    rng: np.random.Generator,
    n_items: int,
    domains: tuple[str, ...],
    weights: np.ndarray,
    a_scale: float = 1.0,
    a_sdlog: float = 0.3,
    a_meanlog: float = 0.0,
    b_halfwidth: float | None = None,
    enemy_share: float = 0.0,
    enemy_size: int = 3,
) -> ItemPool:
    """Synthetic 3PL bank: a ~ a_scale * lognormal(a_meanlog, a_sdlog), b ~ N(0, 1) (or
    U(-b_halfwidth, b_halfwidth)), c = 0.2.

    Domains are assigned in blocks proportional to weights. a_scale = 1.7 expresses the
    same bank with normal-ogive-sized discriminations on the logistic metric. a_sdlog is the
    SD of log a (numpy's and R's convention, as issue 3's "lognormal(0, 0.3)"). Enemy sets:
    floor(enemy_share N / enemy_size) sets of enemy_size randomly chosen items share a fact
    (ENEMY-k); the other items have none.
    """
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    counts = np.floor(w * n_items).astype(int)
    counts[: n_items - counts.sum()] += 1
    domain = [d for d, k in zip(domains, counts, strict=True) for _ in range(k)]
    ids = [f"SIM-{d}-{i:04d}" for i, d in enumerate(domain)]
    a = a_scale * rng.lognormal(a_meanlog, a_sdlog, n_items)
    if b_halfwidth is None:
        b = rng.normal(0.0, 1.0, n_items)
    else:
        b = rng.uniform(-b_halfwidth, b_halfwidth, n_items)
    fact: list[str | None] = [None] * n_items
    n_sets = int(enemy_share * n_items + 1e-9) // enemy_size
    members = rng.permutation(n_items)[: n_sets * enemy_size] if n_sets else ()
    for k, j in enumerate(members):
        fact[int(j)] = f"ENEMY-{k // enemy_size}"
    return ItemPool.from_lists(ids, list(a), list(b), [0.2] * n_items, domain, fact=fact)


def run_attempt(
    policy: CatPolicy,
    pool: ItemPool,
    theta: float | Mapping[str, float],
    seed: int,
    rng: np.random.Generator,
    selected: np.ndarray | None = None,
    oracle: bool = False,
) -> tuple[engine.ExamResult, engine.AttemptState]:
    """One simulated candidate of true ability theta; returns (ExamResult, AttemptState).

    oracle: select by oracle_score (information between the cut and the true theta) instead
    of the information at the estimate, and apply the Sympson-Hetter K of the true theta's
    band (an oracle knows where the candidate is); stopping still sees the responses only.

    theta: one ability (logits), or one per blueprint domain (a candidate whose domains
    really differ). Responses are Bernoulli(P(theta)) drawn from rng. If selected (N,) is
    given, each item that entered a Sympson-Hetter lottery is counted in it, once per
    candidate.
    """
    state = engine.start_attempt(policy, pool, seed)
    decision = engine.stop_decision(state, policy)
    entered: set[int] = set()
    score = band_theta = None
    if oracle:
        if isinstance(theta, Mapping):
            raise ValueError("oracle selection needs one ability, not one per domain")
        score = oracle_score(pool, policy.cut_theta, float(theta))
        band_theta = float(theta)
    while not decision.stop:
        item_id, tried = engine.select_with_trace(state, policy, pool, score, band_theta)
        if item_id is None:
            decision = StopDecision(True, StopReason.BANK_EXHAUSTED)
            break
        entered.update(tried)
        j = pool.index[item_id]
        t = theta[pool.domain[j]] if isinstance(theta, Mapping) else theta
        p = irt.probability(t, pool.a[j : j + 1], pool.b[j : j + 1], pool.c[j : j + 1])[0]
        state = engine.record_response(state, item_id, bool(rng.random() < p), policy, pool)
        decision = engine.stop_decision(state, policy)
    if selected is not None and entered:  # P(S_i) counts each item once per examinee
        selected[list(entered)] += 1
    return engine.finalize(state, policy, pool, decision.reason), state


def oracle_score(
    pool: ItemPool, cut: float, theta: float, points: int = 9
) -> Callable[[np.ndarray], np.ndarray]:
    """candidates (M,) -> J (M,): each item's information averaged over `points` abilities
    evenly spaced from the cut to the true theta (I(cut) at the cut). The selection rule of
    a sequential oracle that knows theta: what separates theta from the cut (the normal
    approximation of the score test at the cut), not the information at theta itself."""
    grid = np.linspace(cut, theta, points)

    def score(candidates: np.ndarray) -> np.ndarray:
        a, b, c = pool.a[candidates], pool.b[candidates], pool.c[candidates]
        return irt.information(grid, a, b, c).mean(axis=0)

    return score


def simulate_cat(
    policy: CatPolicy,
    pool: ItemPool,
    thetas: np.ndarray,
    seed: int,
    progress: Callable[[int], None] | None = None,
    oracle: bool = False,
) -> CatRun:
    """Run one attempt per true theta in thetas (E,); attempt e uses seed (seed, e); with
    oracle, the sequential oracle of run_attempt."""
    rng = np.random.default_rng([seed, 0x51])
    selected = np.zeros(len(pool.ids))
    out_hat, out_se, out_pass, out_len, reasons, items = [], [], [], [], [], []
    for e, theta in enumerate(thetas):
        result, state = run_attempt(
            policy, pool, float(theta), seed * 1_000_003 + e, rng, selected, oracle
        )
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


BAND_EDGES = tuple(float(e) for e in np.arange(-2.0, 2.01, 0.5).round(2))  # width 0.5


@dataclass(frozen=True)
class ExposureDesign:
    """What a pool's Sympson-Hetter parameters are derived for: one object for delivery and
    for every simulation that evaluates it (app/exams/exposure.design_of builds the platform's
    from its settings, whose defaults are these; bench/bench_sequential_oracle.py uses it).

    cap, band_cap: the largest share of candidates who may see an item, overall and among
    the candidates whose true theta lies in one band (edges band_edges; band_cap None:
    unconditional control). aim, band_aim: the rates K is derived for, under the caps:
    delivery applies K at the band of the current estimate while exposure is judged by the
    band of the true theta, and a band's realised rate is the largest of some hundreds of
    binomial rates, so aiming at the caps overshoots them (docs/PSYCHOMETRICS.md 8.6).
    examinees x iterations: the derivation's simulated candidates.
    """

    cap: float = 0.25
    aim: float = 0.24
    band_cap: float | None = 0.30
    band_aim: float | None = 0.22
    band_edges: tuple[float, ...] = BAND_EDGES
    examinees: int = 2000
    iterations: int = 8

    def __post_init__(self) -> None:
        if not 0 < self.aim <= self.cap <= 1:
            raise ValueError("an exposure design needs 0 < aim <= cap <= 1")
        cap, aim = self.band_cap, self.band_aim
        if (cap is None) != (aim is None):
            raise ValueError("band_cap and band_aim come together")
        if cap is not None and aim is not None and not 0 < aim <= cap <= 1:
            raise ValueError("an exposure design needs 0 < band_aim <= band_cap <= 1")

    @property
    def conditional(self) -> bool:
        return self.band_aim is not None and bool(self.band_edges)

    def unconditional(self) -> ExposureDesign:
        """The same design without the band cap (the reference "overall cap only")."""
        return replace(self, band_cap=None, band_aim=None)


def derive_exposure(
    design: ExposureDesign,
    policy: CatPolicy,
    pool: ItemPool,
    rng: np.random.Generator,
    progress: Callable[[float], None] | None = None,
    oracle: bool = False,
) -> ExposureControl:
    """derive_sympson_hetter for a design (its aims, bands and simulation size)."""
    return derive_sympson_hetter(
        policy, pool, design.aim, rng, design.examinees, design.iterations, progress,
        band_edges=design.band_edges if design.conditional else (),
        r_band=design.band_aim if design.conditional else None, oracle=oracle,
    )  # fmt: skip


def derive_sympson_hetter(
    policy: CatPolicy,
    pool: ItemPool,
    r_max: float,
    rng: np.random.Generator,
    n_examinees: int = 1000,
    iterations: int = 8,
    progress: Callable[[float], None] | None = None,
    margin: float = 0.0,
    band_edges: tuple[float, ...] = (),
    r_band: float | None = None,
    oracle: bool = False,
) -> ExposureControl:
    """Sympson-Hetter exposure parameters K by iterative simulation, optionally conditional
    on ability bands (Stocking and Lewis, 1998).

    Start with K = 1. Each iteration simulates n_examinees from N(0, 1) under the current K
    (applied by the band of each step's estimate, as in delivery) and estimates, per band b
    of true theta (edges band_edges), the selection rate P(S_i | b) (candidates for whom
    item i entered a lottery / candidates in b). Then K_ib = min(1, r_b / P(S_i | b)) with
    r_b = r_band - margin, and every K of an item is scaled down by r / P(A_i) when its
    overall administration rate P(A_i) = sum_b w_b P(S_i | b) K_ib (w_b the band's share)
    exceeds r = r_max - margin. Without bands this is the classic rule K_i = min(1,
    r / P(S_i)). The rates are estimated from the simulation, so their sampling error is
    set by n_examinees (the binomial SE sqrt(r (1 - r) / n_b) per band), not absorbed by a
    margin. Returns an ExposureControl (the value CatPolicy.sh_exposure takes; to_dict() is
    its JSON form). oracle: derive them for the sequential oracle (run_attempt). progress gets
    the iterations done (a float, after every examinee: a stopping job stops in between).
    """
    edges = tuple(float(e) for e in band_edges)
    if edges and r_band is None:
        raise ValueError("band_edges need r_band")
    n_items, n_bands = len(pool.ids), len(edges) + 1
    k = np.ones((n_bands, n_items))
    target = r_max - margin
    band_target = (r_band if edges and r_band is not None else r_max) - margin
    for it in range(iterations):
        current = replace(policy, sh_exposure=_exposure(pool.ids, edges, k))
        thetas = rng.normal(0.0, 1.0, n_examinees)
        band = np.searchsorted(np.asarray(edges), thetas, side="right")
        base = int(rng.integers(2**31))
        sim_rng, seed = np.random.default_rng([base, 0x51]), base * 1_000_003
        selected = np.zeros((n_bands, n_items))
        for e, theta in enumerate(thetas):
            run_attempt(current, pool, float(theta), seed + e, sim_rng, selected[band[e]], oracle)
            if progress is not None and e + 1 < n_examinees:
                progress(it + (e + 1) / n_examinees)
        n_b = np.bincount(band, minlength=n_bands).astype(float)
        p_sel = selected / np.maximum(n_b, 1.0)[:, None]
        k = np.where(p_sel > band_target, band_target / np.maximum(p_sel, 1e-12), 1.0)
        p_adm = (n_b[:, None] / n_examinees * p_sel * k).sum(axis=0)
        k = k * np.where(p_adm > target, target / np.maximum(p_adm, 1e-12), 1.0)[None, :]
        if progress is not None:
            progress(it + 1)
    return _exposure(pool.ids, edges, k)


def _exposure(ids: Sequence[str], edges: tuple[float, ...], k: np.ndarray) -> ExposureControl:
    """ExposureControl listing only the items with some K below 1."""
    rows = [(i, tuple(k[:, j].tolist())) for j, i in enumerate(ids) if (k[:, j] < 1.0).any()]
    return ExposureControl(edges, tuple(rows))


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
