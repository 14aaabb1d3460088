"""Monte Carlo simulation of adaptive and fixed-form exams through the engine's own API.

Every simulated CAT calls engine.start_attempt / stop_decision / select_next /
record_response / finalize, exactly as exam delivery does. Units: theta in logits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

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
    administered: np.ndarray | None = None,
) -> tuple[engine.ExamResult, engine.AttemptState]:
    """One simulated candidate of true ability theta; returns (ExamResult, AttemptState).

    oracle: select by oracle_score (information between the cut and the true theta) instead
    of the information at the estimate, and apply the Sympson-Hetter K of the true theta's
    band (an oracle knows where the candidate is); stopping still sees the responses only.

    theta: one ability (logits), or one per blueprint domain (a candidate whose domains
    really differ). Responses are Bernoulli(P(theta)) drawn from rng. If selected (N,) is
    given, each item that entered a Sympson-Hetter lottery is counted in it, once per
    candidate. If administered (B, N) is given, each administered operational item is counted
    in the row of the band (and stage) whose K applied to it (the estimate's band; the
    oracle's, its true theta's): where an exposure came from, for derive_sympson_hetter.
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
        k_band = 0
        if administered is not None and policy.sh_exposure is not None:
            at = engine.current_estimate(state, policy).theta if band_theta is None else band_theta
            k_band = policy.sh_exposure.row(at, state.n_scored)
        item_id, tried = engine.select_with_trace(state, policy, pool, score, band_theta)
        if item_id is None:
            decision = StopDecision(True, StopReason.BANK_EXHAUSTED)
            break
        entered.update(tried)
        j = pool.index[item_id]
        if administered is not None and not pool.is_pretest[j]:
            administered[k_band, j] += 1
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
    examinees, iterations: the derivation's simulation (with bands the sizes ramp up to
    examinees, iteration_sizes). stage_at: with bands, the CAT's K are kept apart for the
    attempts' first stage_at scored items and for the rest (ExposureControl.stage_at; 0: one
    set; the oracle, which applies its true band's K, keeps one set).
    """

    cap: float = 0.25
    aim: float = 0.24
    band_cap: float | None = 0.30
    band_aim: float | None = 0.22
    band_edges: tuple[float, ...] = BAND_EDGES
    examinees: int = 2000
    iterations: int = 12
    stage_at: int = 6

    def __post_init__(self) -> None:
        if not 0 < self.aim <= self.cap <= 1:
            raise ValueError("an exposure design needs 0 < aim <= cap <= 1")
        cap, aim = self.band_cap, self.band_aim
        if (cap is None) != (aim is None):
            raise ValueError("band_cap and band_aim come together")
        if cap is not None and aim is not None and not 0 < aim <= cap <= 1:
            raise ValueError("an exposure design needs 0 < band_aim <= band_cap <= 1")
        if self.stage_at < 0:
            raise ValueError("an exposure design's stage starts at 0 or more scored items")

    @property
    def conditional(self) -> bool:
        return self.band_aim is not None and bool(self.band_edges)

    def unconditional(self) -> ExposureDesign:
        """The same design without the band cap (the reference "overall cap only")."""
        return replace(self, band_cap=None, band_aim=None, stage_at=0)


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
        stage_at=design.stage_at if design.conditional and not oracle else 0,
    )  # fmt: skip


GROWTH = 1.25  # the most one iteration may raise a K by (docs/PSYCHOMETRICS.md 8.6)


def iteration_sizes(n_examinees: int, iterations: int) -> list[int]:
    """Candidates simulated per iteration of a band-conditional derive_sympson_hetter: a
    quarter of n_examinees in the first third of the iterations, half in the second, all of
    it in the last third (and always in the last iteration). The early iterations move K
    far, so they need not be precise; the last ones set the rates the delivered K give."""
    return [
        max(1, n_examinees >> (2 - min(2, 3 * t // iterations))) if t < iterations - 1
        else n_examinees
        for t in range(iterations)
    ]  # fmt: skip


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
    stage_at: int = 0,
) -> ExposureControl:
    """Sympson-Hetter exposure parameters K by iterative simulation, optionally conditional
    on ability bands (Stocking and Lewis, 1998), each exposure traced to the band whose K
    caused it (docs/PSYCHOMETRICS.md section 3 and 8.6).

    r = r_max - margin caps the overall rate; with band_edges, r_b = r_band - margin caps
    the rate within each band between the edges (the open-ended outer bands are held by r
    only). Iteration t simulates sizes[t] candidates under the current K, applied by the
    band of each step's estimate as in delivery (the oracle: its true theta's), and records
    flow[b, c, i], the share of the candidates of true band b given item i while band c's K
    applied; P(A_i | b) = sum_c flow[b, c, i]. When an attempt keeps one band's K throughout
    (no bands, or the oracle), flow comes from the selection rates, P(S_i) K_ci, as precise
    as the classic rule's; otherwise from the administrations. Each K_ci is multiplied by
    the smallest r_b / P(A_i | b) over the bands b it feeds (flow > 0), capped at 1. Then
    all of an item's K are scaled down by r / P(A_i) when its predicted overall rate P(A_i) =
    sum_b w_b sum_c flow[b, c, i] K'_ci / K_ci (w_b the band's N(0, 1) share) exceeds r.

    Without bands this is the classic rule, K_i = min(1, r / P(S_i)) from K = 1, with
    n_examinees candidates from N(0, 1) per iteration. With bands, the classic rule (each
    band's K from its own band's selection rates, from K = 1) left the bands at 0.30 to 0.37
    for an aim of 0.22, so: K start at min(r, r_b); an iteration raises a K by at most
    GROWTH; the candidates are _derivation_thetas (uniform over the bands, weighted back to
    N(0, 1) within each) in iteration_sizes(n_examinees, iterations). The rates are estimated
    from the simulation, so their sampling error is set by its size, not absorbed by a
    margin. Returns an ExposureControl (the value CatPolicy.sh_exposure takes; to_dict() is
    its JSON form). stage_at > 0 (the CAT with bands only): K per band of the estimate and per
    stage of the attempt (ExposureControl.stage_at): c runs over the rows of both stages, each
    administration is traced to the row that applied, and the rule above is unchanged.
    oracle: derive them for the sequential oracle (run_attempt). progress
    gets the iterations done (a float, after every examinee: a stopping job stops between).
    """
    edges = tuple(float(e) for e in band_edges)
    if edges and r_band is None:
        raise ValueError("band_edges need r_band")
    if stage_at and (oracle or not edges):
        raise ValueError("stages are for the band-conditional control of the CAT")
    n_items, n_bands = len(pool.ids), len(edges) + 1
    n_rows = n_bands * (2 if stage_at else 1)  # K rows: band of the K (and stage)
    target = r_max - margin
    band_target = (r_band if edges and r_band is not None else r_max) - margin
    # without bands: the classic rule exactly (K from 1, no growth limit, equal iterations)
    k = np.full((n_rows, n_items), min(target, band_target) if edges else 1.0)
    growth = GROWTH if edges else np.inf
    sizes = iteration_sizes(n_examinees, iterations) if edges else [n_examinees] * iterations
    shares = np.diff(special.ndtr(np.array([-np.inf, *edges, np.inf])))
    exact = oracle or not edges
    for it, size in enumerate(sizes):
        current = replace(policy, sh_exposure=_exposure(pool.ids, edges, k, stage_at))
        thetas, weight = _derivation_thetas(rng, edges, size)
        band = np.searchsorted(np.asarray(edges), thetas, side="right")
        base = int(rng.integers(2**31))
        sim_rng, seed = np.random.default_rng([base, 0x51]), base * 1_000_003
        flow = np.zeros((n_bands, n_rows, n_items))  # true band, row of the K, item
        one = np.zeros((n_rows, n_items))
        for e, theta in enumerate(thetas):
            one[:] = 0.0
            if exact:  # one K band per attempt (c = b): P(A_i) = P(S_i) K_ci exactly
                run_attempt(current, pool, float(theta), seed + e, sim_rng, one[0], oracle)
                flow[band[e], band[e]] += weight[e] * one[0] * k[band[e]]
            else:
                run_attempt(current, pool, float(theta), seed + e, sim_rng, oracle=oracle,
                            administered=one)  # fmt: skip
                flow[band[e]] += weight[e] * one
            if progress is not None and e + 1 < size:
                progress(it + (e + 1) / size)
        mass = np.bincount(band, weights=weight, minlength=n_bands)
        flow /= np.where(mass > 0, mass, 1.0)[:, None, None]
        p_adm = flow.sum(axis=1)  # (B, N): P(A_i | true band b)
        ratio = band_target / np.maximum(p_adm, 1e-12)
        if edges:  # the open-ended outer bands are held by the overall cap only
            ratio[[0, -1]] = np.inf
        factor = np.where(flow > 0, ratio[:, None, :], np.inf).min(axis=0)  # (rows, N)
        raised = np.clip(k * np.minimum(factor, growth), 1e-6, 1.0)
        overall = np.einsum("b,bci,ci->i", shares, flow, raised / k)
        k = raised * np.where(overall > target, target / np.maximum(overall, 1e-12), 1.0)
        if progress is not None:
            progress(it + 1)
    return _exposure(pool.ids, edges, k, stage_at)


def _derivation_thetas(
    rng: np.random.Generator, edges: tuple[float, ...], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(thetas, weights) of one derivation iteration. Without bands, N(0, 1) with weight 1.
    With bands, uniform over the bands and one band width beyond each outer edge, weighted
    by the N(0, 1) density: every band gets the same share of the simulated candidates (an
    outer band of N(0, 1) holds 4%, and its rates would be the noisiest), and within a band
    the weights restore the N(0, 1) shape that its rates are judged on."""
    if not edges:
        return rng.normal(0.0, 1.0, size), np.ones(size)
    width = (edges[-1] - edges[0]) / max(len(edges) - 1, 1) or 0.5
    thetas = rng.uniform(edges[0] - width, edges[-1] + width, size)
    return thetas, np.exp(-0.5 * thetas**2)


def _exposure(
    ids: Sequence[str], edges: tuple[float, ...], k: np.ndarray, stage_at: int = 0
) -> ExposureControl:
    """ExposureControl listing only the items with some K below 1."""
    rows = [(i, tuple(k[:, j].tolist())) for j, i in enumerate(ids) if (k[:, j] < 1.0).any()]
    return ExposureControl(edges, tuple(rows), stage_at)


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
