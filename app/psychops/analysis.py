"""Item analysis of a track's stored responses: classical statistics, IRT fit, flags.

Per item version, over the responses of closed attempts (app/psychops/loading.py):
- n: responses; omits: attempts that closed with the item shown and unanswered;
  omit_rate = omits / (n + omits).
- p: share answered correctly.
- r_theta: the point-biserial correlation of the item score with the attempt's final theta
  (an adaptive test has no common total score; for scored items the final theta includes the
  item itself, which inflates r slightly, by about 1 / (items per attempt)).
- choice: share of each option chosen in each quintile of final theta (quintiles of the
  candidates' final thetas, the same five groups for every item); key: the option of the
  correct answers (the most frequent one, for items with several correct patterns).
- median_seconds: median response time.
- icc: the item's respondents in ten groups by final theta (deciles of their thetas):
  (mean theta, responses, share correct), the empirical curve the item page plots.
- rmsd: sqrt(sum_g n_g (o_g - P(mean theta_g))^2 / sum_g n_g) over those ten groups, against
  the item's parameters.
- S-X2 (Orlando-Thissen's statistic, app/psychops/itemfit.py, adapted to adaptive
  tests): sum_g N_g (O_g - E_g)^2 / (E_g (1 - E_g)) over groups of the item's responses, where
  each response's expected value is the posterior mean of P_i given the candidate's scored
  responses before it (the summed score of the whole adaptive test reveals the item's own
  answer through the items chosen after it: on model-true CAT data the original conditioning
  gave p < 0.05 for 58% of items, this one 5%; bench/study_item_fit_cat.py); df = groups - m,
  m = 3 for an item whose parameters were calibrated, 0 for authored (provisional) ones.
Flags (THRESHOLDS, docs/PSYCHOMETRICS.md section 11), for items with at least MIN_RESPONSES
responses: see FLAGS.
"""

from dataclasses import dataclass, field

import numpy as np

from app.psychometrics import irt
from app.psychops import itemfit
from app.psychops.loading import Responses

MIN_RESPONSES = 50
THRESHOLDS = {"p_low": 0.10, "p_high": 0.95, "r_low": 0.15, "rmsd_high": 0.10,
              "sx2_p": 0.01, "omit_high": 0.05}  # fmt: skip
FLAGS = {
    "very hard": "p < p_low",
    "very easy": "p > p_high",
    "weak discrimination": "r(theta) < r_low",
    "misfit (RMSD)": "RMSD > rmsd_high",
    "misfit (S-X2)": "S-X2 p-value < sx2_p",
    "often omitted": "omit rate > omit_high",
    "distractor draws the able": "a wrong option chosen more than the key in the top quintile",
}
QUINTILES = ("Q1 (lowest)", "Q2", "Q3", "Q4", "Q5 (highest)")
ICC_GROUPS = 10


@dataclass(frozen=True)
class ItemStats:
    """One item version's statistics (see the module docstring)."""

    item: str
    version: int
    pretest: bool
    n: int
    p: float
    r_theta: float | None
    median_seconds: float
    rmsd: float | None
    omits: int = 0
    omit_rate: float = 0.0
    sx2: float | None = None
    sx2_df: int | None = None
    sx2_p: float | None = None
    key: str | None = None
    abc: tuple[float, float, float] | None = None
    choice: dict[str, dict[str, float]] = field(default_factory=dict)
    icc: list[tuple[float, int, float]] = field(default_factory=list)
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {**self.__dict__, "flags": list(self.flags), "icc": [list(g) for g in self.icc],
                "abc": None if self.abc is None else list(self.abc)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> "ItemStats":
        abc = data.get("abc")
        return cls(**{**data, "flags": tuple(data["flags"]), "abc": abc and tuple(abc),
                      "icc": [tuple(g) for g in data["icc"]]})  # fmt: skip


Params = dict[int, tuple[float, float, float]]


def analyse(
    r: Responses, params: Params, codes: dict[int, str], calibrated: frozenset[int] = frozenset()
) -> tuple[list[ItemStats], list[float]]:
    """Statistics of every item version in the responses, and the mean final theta of each
    quintile. params: version id -> (a, b, c); codes: version id -> item code; calibrated:
    versions whose parameters were estimated (S-X2 df less 3)."""
    thetas = r.attempt_theta[~np.isnan(r.attempt_theta)]
    edges = np.quantile(thetas, [0.2, 0.4, 0.6, 0.8]) if len(thetas) else np.zeros(4)
    quintile = np.searchsorted(edges, np.nan_to_num(r.theta), side="right")
    of = np.searchsorted(edges, thetas, side="right")
    group_theta = [float(thetas[of == g].mean()) if (of == g).any() else None for g in range(5)]
    expected = _expected(r, params)
    order = np.argsort(r.version, kind="stable")
    bounds = np.flatnonzero(np.diff(r.version[order])) + 1
    out = []
    for idx in np.split(order, bounds) if len(order) else []:
        v = int(r.version[idx[0]])
        stats = _one(r, v, idx, quintile, expected, params.get(v), codes.get(v, str(v)),
                     3 if v in calibrated else 0)  # fmt: skip
        out.append(_flagged(stats))
    seen = {s.version for s in out}
    for v, k in r.omits.items():  # shown, never answered by anyone: omits only
        if v not in seen:
            out.append(ItemStats(
                item=codes.get(v, str(v)), version=v, pretest=False, n=0, p=0.0, r_theta=None,
                median_seconds=0.0, rmsd=None, omits=k, omit_rate=1.0,
                abc=None if v not in params else tuple(float(x) for x in params[v]),
            ))  # fmt: skip
    return sorted(out, key=lambda s: (s.item, s.version)), group_theta


def _expected(r: Responses, params: Params) -> np.ndarray:
    """E[u | the attempt's scored responses before it] of every response (NaN for attempts
    with an item without parameters)."""
    out = np.full(len(r), np.nan)
    versions = np.unique(r.version)
    known = np.array([int(v) in params for v in versions])
    if not known.any():
        return out
    column = {int(v): j for j, v in enumerate(versions)}
    index = np.array([column[int(v)] for v in versions])[np.searchsorted(versions, r.version)]
    abc = np.array([params.get(int(v), (1.0, 0.0, 0.0)) for v in versions], dtype=float)
    grid_p = irt.probability(itemfit.QUADRATURE, abc[:, 0], abc[:, 1], abc[:, 2])
    ok_row = known[index] & ~np.isnan(r.theta)
    bad = np.zeros(r.attempts, bool)
    np.logical_or.at(bad, np.repeat(np.arange(r.attempts), np.diff(r.offsets)), ~ok_row)
    keep_rows = np.repeat(~bad, np.diff(r.offsets))
    if not keep_rows.any():
        return out
    kept = np.flatnonzero(keep_rows)
    lengths = np.diff(r.offsets)[~bad]
    offsets = np.r_[0, np.cumsum(lengths)]
    out[kept] = itemfit.sequential(
        grid_p, offsets, index[kept], r.correct[kept].astype(np.int64), r.scored[kept],
        summed=False,
    )  # fmt: skip
    return out


def _one(r: Responses, v, idx, quintile, expected, abc, code, estimated) -> ItemStats:
    u, t = r.correct[idx].astype(float), r.theta[idx]
    has = ~np.isnan(t)
    corr = None
    if has.sum() > 2 and u[has].std() > 0 and t[has].std() > 0:
        corr = float(np.corrcoef(u[has], t[has])[0, 1])
    icc = _icc(u[has], t[has])
    rmsd = None if abc is None or not icc else _rmsd(icc, abc)
    e = expected[idx]
    fit = None
    if abc is not None and (~np.isnan(e)).sum() > 0:
        fit = itemfit.s_x2(u[~np.isnan(e)], e[~np.isnan(e)], estimated=estimated)
    choice = {}
    options = r.option[idx]
    for g, name in enumerate(QUINTILES):
        chosen = options[has & (quintile[idx] == g)]
        if len(chosen):
            codes, counts = np.unique(chosen, return_counts=True)
            choice[name] = {r.options[int(k)]: float(c / len(chosen))
                            for k, c in zip(codes, counts, strict=True)}  # fmt: skip
    right = options[u == 1]
    key = r.options[int(np.bincount(right).argmax())] if len(right) else None
    omits = r.omits.get(v, 0)
    seconds = r.seconds[idx]
    return ItemStats(
        item=code, version=v, pretest=not bool(r.scored[idx[0]]), n=len(idx), p=float(u.mean()),
        r_theta=corr, median_seconds=_median(seconds),
        rmsd=rmsd, omits=omits, omit_rate=omits / (len(idx) + omits),
        sx2=None if fit is None else round(fit.statistic, 4),
        sx2_df=None if fit is None else fit.df, sx2_p=None if fit is None else fit.p_value,
        key=key, abc=None if abc is None else tuple(float(x) for x in abc), choice=choice,
        icc=icc,
    )  # fmt: skip


def _median(values: np.ndarray) -> float:
    return float(np.nanmedian(values)) if np.isfinite(values).any() else 0.0


def _icc(u: np.ndarray, t: np.ndarray) -> list[tuple[float, int, float]]:
    """(mean theta, n, share correct) in ICC_GROUPS groups by the respondents' theta."""
    if not len(t):
        return []
    edges = np.unique(np.quantile(t, np.linspace(0, 1, ICC_GROUPS + 1)[1:-1]))
    group = np.searchsorted(edges, t, side="right")
    n = np.bincount(group, minlength=len(edges) + 1)
    s_t = np.bincount(group, weights=t, minlength=len(n))
    s_u = np.bincount(group, weights=u, minlength=len(n))
    return [(round(float(s_t[g] / n[g]), 4), int(n[g]), round(float(s_u[g] / n[g]), 4))
            for g in range(len(n)) if n[g]]  # fmt: skip


def _rmsd(icc: list[tuple[float, int, float]], abc) -> float:
    a, b, c = (np.array([x]) for x in abc)
    theta = np.array([g[0] for g in icc])
    n = np.array([g[1] for g in icc], dtype=float)
    observed = np.array([g[2] for g in icc])
    model = irt.probability(theta, a, b, c)[:, 0]
    return float(np.sqrt((n * (observed - model) ** 2).sum() / n.sum()))


def _flagged(s: ItemStats) -> ItemStats:
    if s.n < MIN_RESPONSES:
        return s
    t = THRESHOLDS
    flags = []
    if s.p < t["p_low"]:
        flags.append("very hard")
    if s.p > t["p_high"]:
        flags.append("very easy")
    if s.r_theta is not None and s.r_theta < t["r_low"]:
        flags.append("weak discrimination")
    if s.rmsd is not None and s.rmsd > t["rmsd_high"]:
        flags.append("misfit (RMSD)")
    if s.sx2_p is not None and s.sx2_p < t["sx2_p"]:
        flags.append("misfit (S-X2)")
    if s.omit_rate > t["omit_high"]:
        flags.append("often omitted")
    top = s.choice.get(QUINTILES[-1], {})
    if s.key is not None and any(v > top.get(s.key, 0.0) for k, v in top.items() if k != s.key):
        flags.append("distractor draws the able")
    return ItemStats(**{**s.__dict__, "flags": tuple(flags)})
