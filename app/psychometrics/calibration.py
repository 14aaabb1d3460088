"""Item calibration: marginal maximum likelihood by EM (Bock-Aitkin) for the 2PL and 3PL.

Data: responses (P, N), P examinees by N items, values 1 / 0 / NaN (not presented).
Parameters on the logistic metric; the latent distribution is N(0, 1) unless anchors fix
the scale, in which case its mean and SD are estimated too (fixed-item calibration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from scipy.stats import chi2

from app.psychometrics import squarem

_EPS = 1e-10
Arr = np.ndarray  # float arrays; shapes in each docstring


@dataclass(frozen=True)
class Priors:
    """MAP priors: log a ~ N(log_a_mean, log_a_sd^2), b ~ N(b_mean, b_sd^2), c ~ Beta(alpha, beta).

    Defaults: lognormal(0, 0.5) on a (as BILOG-MG), a weak N(0, 3^2) on b that only tames
    items everybody got right or wrong, Beta(5, 17) on c: mode 0.2, mean 5/22 = 0.227, the
    weight of 20 observations (BILOG-MG's rule alpha = 20/k + 1, beta = 20 (1 - 1/k) + 1 with
    k = 5; BILOG-MG's four-option default is Beta(6, 16), mode 0.25, mean 0.273).
    empirical_log_a: re-estimate the mean and SD of the log a prior from the data in every
    EM cycle (a hierarchical prior, Mislevy 1986; see _empirical_log_a_prior). Off by
    default: over 11 simulated 200 x 2,000 data sets it did not lower the RMSE of a
    (docs/PSYCHOMETRICS.md section 8.5).
    """

    log_a_mean: float = 0.0
    log_a_sd: float = 0.5
    b_mean: float = 0.0
    b_sd: float = 3.0
    c_alpha: float = 5.0
    c_beta: float = 17.0
    empirical_log_a: bool = False


@dataclass(frozen=True, eq=False)
class Anchors:
    """Items held fixed: mask (N,) bool and their a, b, c (N,) (ignored where mask is False)."""

    mask: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Estimates (N,) with standard errors; anchored items keep their given values, SE 0.

    fit_chi2, fit_df, fit_p: the grouped item-fit statistic (see item_fit). pop_mean,
    pop_sd: the latent distribution (0, 1 unless anchored). log_a_prior: the (mean, SD) of
    the log a prior used at the end (estimated when Priors.empirical_log_a is set).
    """

    model: str
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    se_a: np.ndarray
    se_b: np.ndarray
    se_c: np.ndarray
    anchored: np.ndarray
    n_responses: np.ndarray
    fit_chi2: np.ndarray
    fit_df: np.ndarray
    fit_p: np.ndarray
    log_likelihood: float
    iterations: int
    converged: bool
    pop_mean: float
    pop_sd: float
    log_a_prior: tuple[float, float] = (0.0, 0.5)
    cycles: int = 0  # SQUAREM cycles (of up to three EM steps; iterations counts EM steps)


def _estep(
    mask: Arr, u: Arr, a: Arr, b: Arr, c: Arr, points: Arr, log_w: Arr
) -> tuple[Arr, Arr, Arr, float, Arr]:
    """Posterior weights W (P, Q), expected counts n, r (N, Q), marginal log L, log-posterior."""
    p = np.clip(c + (1 - c) * expit(a * (points[:, None] - b)), _EPS, 1 - _EPS)  # (Q, N)
    log_post = u @ np.log(p).T + (mask - u) @ np.log1p(-p).T + log_w
    lse = logsumexp(log_post, axis=1, keepdims=True)
    w = np.exp(log_post - lse)
    return w, mask.T @ w, u.T @ w, float(lse.sum()), log_post


def _derivatives(a: Arr, b: Arr, c: Arr, points: Arr) -> tuple[Arr, Arr, Arr, Arr]:
    """P (N, Q) and dP/da, dP/db, dP/dc, each (N, Q)."""
    s = expit(a[:, None] * (points[None, :] - b[:, None]))
    ds = (1 - c[:, None]) * s * (1 - s)
    p = np.clip(c[:, None] + (1 - c[:, None]) * s, _EPS, 1 - _EPS)
    return p, ds * (points[None, :] - b[:, None]), -ds * a[:, None], 1 - s


def _objective(
    x: Arr, n: Arr, r: Arr, points: Arr, priors: Priors, three_pl: bool, c_fixed: Arr
) -> tuple[float, Arr]:
    """Negative expected complete-data log posterior and its gradient in (log a, b, logit c)."""
    k = len(n)
    la, b = x[:k], x[k : 2 * k]
    a = np.exp(la)
    c = expit(x[2 * k :]) if three_pl else c_fixed
    p, dpa, dpb, dpc = _derivatives(a, b, c, points)
    ll = (r * np.log(p) + (n - r) * np.log1p(-p)).sum()
    g = (r - n * p) / (p * (1 - p))
    grad_la = (g * dpa).sum(1) * a - (la - priors.log_a_mean) / priors.log_a_sd**2
    grad_b = (g * dpb).sum(1) - (b - priors.b_mean) / priors.b_sd**2
    grads = [grad_la, grad_b]
    if three_pl:
        al, be = priors.c_alpha - 1, priors.c_beta - 1
        grads.append((g * dpc).sum(1) * c * (1 - c) + al * (1 - c) - be * c)
    return -(ll + _log_prior(la, b, c, priors, three_pl)), -np.concatenate(grads)


def _log_prior(la: Arr, b: Arr, c: Arr, priors: Priors, three_pl: bool) -> float:
    """The items' log prior density (up to a constant) in the terms the M-step maximises."""
    lp = (-0.5 * ((la - priors.log_a_mean) / priors.log_a_sd) ** 2).sum()
    lp -= (0.5 * ((b - priors.b_mean) / priors.b_sd) ** 2).sum()
    if three_pl:
        lp += ((priors.c_alpha - 1) * np.log(c) + (priors.c_beta - 1) * np.log1p(-c)).sum()
    return float(lp)


MSTEP_OPTIONS: dict[str, float] = {"maxiter": 50, "ftol": 1e-12, "gtol": 1e-6}


def _mstep(
    a: Arr, b: Arr, c: Arr, n: Arr, r: Arr, points: Arr, priors: Priors, three_pl: bool
) -> tuple[Arr, Arr, Arr]:
    """Maximise each free item's expected log posterior (L-BFGS-B over all items at once)."""
    k = len(a)
    x0 = [np.log(a), b] + ([np.log(c / (1 - c))] if three_pl else [])
    bounds = [(-2.5, 1.6)] * k + [(-6.0, 6.0)] * k + ([(-7.0, 0.0)] * k if three_pl else [])
    res = minimize(
        _objective,
        np.concatenate(x0),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        args=(n, r, points, priors, three_pl, c),
        options=MSTEP_OPTIONS,
    )
    x = res.x
    c_new = expit(x[2 * k :]) if three_pl else c
    return np.exp(x[:k]), x[k : 2 * k], c_new


def _standard_errors(
    a: Arr, b: Arr, c: Arr, n: Arr, points: Arr, priors: Priors, three_pl: bool
) -> tuple[Arr, Arr, Arr]:
    """SEs from the expected information sum_q n_iq dP dP' / (P (1 - P)) plus prior curvature."""
    p, dpa, dpb, dpc = _derivatives(a, b, c, points)
    grads = [dpa, dpb] + ([dpc] if three_pl else [])
    m = len(grads)
    info = np.empty((len(a), m, m))
    weight = n / (p * (1 - p))
    for i in range(m):
        for j in range(m):
            info[:, i, j] = (weight * grads[i] * grads[j]).sum(1)
    info[:, 0, 0] += 1.0 / (priors.log_a_sd * a) ** 2  # prior on log a, mapped to the a scale
    info[:, 1, 1] += priors.b_sd**-2
    if three_pl:
        info[:, 2, 2] += (priors.c_alpha - 1) / c**2 + (priors.c_beta - 1) / (1 - c) ** 2
    cov = np.linalg.pinv(info)
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
    zeros = np.zeros(len(a))
    return se[:, 0], se[:, 1], (se[:, 2] if three_pl else zeros)


def _rest_posterior(log_post: Arr, u_i: Arr, seen_i: Arr, p_i: Arr) -> Arr:
    """Posterior weights (P, Q) without item i's own response (log_post: (P, Q), p_i: (Q,))."""
    own = np.where(
        seen_i[:, None], u_i[:, None] * np.log(p_i) + (1 - u_i[:, None]) * np.log1p(-p_i), 0
    )
    lp = log_post - own
    w = np.exp(lp - lp.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def item_fit(
    responses: Arr, log_post: Arr, points: Arr, p_grid: Arr, n_params: Arr, groups: int = 10
) -> tuple[Arr, Arr, Arr]:
    """Grouped chi-square item fit (Yen's Q1 form, rest-posterior version), per item.

    responses (P, N); log_post (P, Q) each examinee's log-posterior on points (Q,);
    p_grid (Q, N) the model probabilities. For item i, each responder's posterior is
    recomputed without item i's own response (so grouping and expectation do not depend on
    the response being tested); responders are sorted by that posterior mean and cut into
    `groups` equal groups; X2_i = sum_g n_g (O_g - E_g)^2 / (E_g (1 - E_g)) with O_g the
    proportion correct and E_g the mean posterior-expected probability. df = groups -
    n_params (N,), p from the chi-square distribution; treat p < 0.01 as "review".
    """
    p_grid = np.clip(p_grid, _EPS, 1 - _EPS)
    stat = np.full(responses.shape[1], np.nan)
    for i in range(responses.shape[1]):  # column by column: no copy of the whole matrix
        column = responses[:, i]
        seen = ~np.isnan(column)
        if seen.sum() < 5 * groups:
            continue
        answers = column[seen]
        w = _rest_posterior(log_post[seen], answers, np.ones(len(answers), bool), p_grid[:, i])
        order = np.argsort(w @ points)
        u, e = answers[order], (w @ p_grid[:, i])[order]
        total = 0.0
        for part_u, part_e in zip(
            np.array_split(u, groups), np.array_split(e, groups), strict=True
        ):
            o_g, e_g = part_u.mean(), part_e.mean()
            total += len(part_u) * (o_g - e_g) ** 2 / (e_g * (1 - e_g))
        stat[i] = total
    df = np.maximum(groups - np.asarray(n_params), 1)
    return stat, df, chi2.sf(stat, df)


def _normal_log_weights(points: Arr, mean: float, sd: float) -> Arr:
    log_w = -0.5 * ((points - mean) / sd) ** 2
    return log_w - logsumexp(log_w)


def calibrate(
    responses: np.ndarray,
    model: str = "3pl",
    anchors: Anchors | None = None,
    priors: Priors | None = None,
    n_quad: int = 61,
    max_iter: int = 500,
    tol: float = 1e-4,
    progress: Callable[[int, int], None] | None = None,
    accelerate: bool = True,
) -> CalibrationResult:
    """MML-EM calibration of a (P, N) response matrix (1 / 0 / NaN) under the 2PL or 3PL.

    EM cycle: E-step posterior weights on n_quad points in [-6, 6]; M-step MAP per free item
    with the given priors; anchored items stay fixed, and then the latent N(mean, sd) is
    re-estimated each cycle from the posterior moments. Accelerated by SQUAREM (squarem.py)
    unless accelerate is False or the log a prior is empirical (whose hyperparameters move
    the objective). Stops when an EM step moves no parameter more than tol, or after max_iter
    EM steps (converged False). progress(step, max_iter) is called after every EM step (it
    may raise to stop the calibration).
    """
    if model not in ("2pl", "3pl"):
        raise ValueError("model must be '2pl' or '3pl'")
    priors = priors or Priors()
    three_pl = model == "3pl"
    x = np.asarray(responses, dtype=float)
    mask, u = indicators(x)
    n_items = x.shape[1]
    fixed = np.zeros(n_items, bool) if anchors is None else np.asarray(anchors.mask, bool)
    a, b = np.ones(n_items), _start_b(u, mask)
    c = np.full(n_items, 0.2 if three_pl else 0.0)
    if anchors is not None and fixed.any():
        a[fixed], b[fixed], c[fixed] = anchors.a[fixed], anchors.b[fixed], anchors.c[fixed]
    points = np.linspace(-6.0, 6.0, n_quad)
    empirical = priors.empirical_log_a and (~fixed).sum() >= MIN_EMPIRICAL_ITEMS
    em = EMMap(mask, u, fixed, a, b, c, points, priors, three_pl, empirical)
    z = em.pack(a, b, c, 0.0, 1.0)
    if accelerate and not empirical:
        out = squarem.squarem(em.step, z, tol, max_iter, progress, *em.bounds())
    else:
        out = squarem.plain(em.step, z, tol, max_iter, progress)
    a, b, c, mean, sd = em.unpack(out.z)
    res = _finish(x, mask, u, a, b, c, fixed, points, mean, sd, em.priors, model, out.steps,
                  out.converged)  # fmt: skip
    return replace(res, cycles=out.cycles)


class EMMap:
    """One EM step as a map of z = (log a, b[, logit c]) of the free items, then (mean,
    log sd) of the latent distribution when items are anchored (their values held)."""

    def __init__(
        self, mask: Arr, u: Arr, fixed: Arr, a: Arr, b: Arr, c: Arr, points: Arr,
        priors: Priors, three_pl: bool, empirical: bool,
    ) -> None:  # fmt: skip
        self.mask, self.u, self.points, self.priors = mask, u, points, priors
        self.free, self.anchored = ~fixed, bool(fixed.any())
        self.three_pl, self.empirical = three_pl, empirical
        self.a, self.b, self.c = a.copy(), b.copy(), c.copy()
        self.k = int(self.free.sum())

    def pack(self, a: Arr, b: Arr, c: Arr, mean: float, sd: float) -> Arr:
        f = self.free
        parts = [np.log(a[f]), b[f]] + ([np.log(c[f] / (1 - c[f]))] if self.three_pl else [])
        return np.concatenate(parts + ([[mean, np.log(sd)]] if self.anchored else []))

    def unpack(self, z: Arr) -> tuple[Arr, Arr, Arr, float, float]:
        f, k = self.free, self.k
        a, b, c = self.a.copy(), self.b.copy(), self.c.copy()
        a[f], b[f] = np.exp(z[:k]), z[k : 2 * k]
        if self.three_pl:
            c[f] = expit(z[2 * k : 3 * k])
        mean, sd = (float(z[-2]), float(np.exp(z[-1]))) if self.anchored else (0.0, 1.0)
        return a, b, c, mean, sd

    def bounds(self) -> tuple[Arr, Arr]:
        """The M-step's bounds on z (and the latent mean in [-6, 6], SD in [0.05, 20])."""
        k, lo, hi = self.k, [-2.5, -6.0, -7.0], [1.6, 6.0, 0.0]
        n = 3 if self.three_pl else 2
        lower = np.repeat(lo[:n], k).tolist() + ([-6.0, np.log(0.05)] if self.anchored else [])
        upper = np.repeat(hi[:n], k).tolist() + ([6.0, np.log(20.0)] if self.anchored else [])
        return np.array(lower), np.array(upper)

    def step(self, z: Arr) -> tuple[Arr, float, float]:
        """F(z), the marginal log posterior at z, and the largest change of a, b, c (and of
        the empirical prior's mean and SD) from z to F(z)."""
        a, b, c, mean, sd = self.unpack(z)
        f, pr, points = self.free, self.priors, self.points
        w, n, r, loglik, _ = _estep(
            self.mask, self.u, a, b, c, points, _normal_log_weights(points, mean, sd)
        )
        objective = loglik + _log_prior(np.log(a[f]), b[f], c[f], pr, self.three_pl)
        if self.anchored:
            mean, sd = _posterior_moments(w, points)
        old = np.concatenate([a[f], b[f], c[f], [pr.log_a_mean, pr.log_a_sd]])
        if f.any():  # with every item anchored only the latent distribution moves
            a[f], b[f], c[f] = _mstep(a[f], b[f], c[f], n[f], r[f], points, pr, self.three_pl)
        if self.empirical:
            pr = self.priors = _empirical_log_a_prior(
                a[f], b[f], c[f], n[f], points, pr, self.three_pl
            )
        new = np.concatenate([a[f], b[f], c[f], [pr.log_a_mean, pr.log_a_sd]])
        return self.pack(a, b, c, mean, sd), objective, float(np.abs(new - old).max())


MIN_EMPIRICAL_ITEMS = 20  # fewer free items: hyperparameters too noisy, keep the fixed prior


def _empirical_log_a_prior(
    a: Arr, b: Arr, c: Arr, n: Arr, points: Arr, priors: Priors, three_pl: bool
) -> Priors:
    """One EM update of the hierarchical prior log a ~ N(mu, tau^2) (Mislevy, 1986).

    With m_i = log a_i (the current MAP under the prior) and v_i its posterior variance (the
    delta-method SE of a from _standard_errors, divided by a, squared):
    mu = mean(m_i), tau^2 = mean((m_i - mu)^2 + v_i), tau clipped to [0.05, 1].
    """
    se_a, _, _ = _standard_errors(a, b, c, n, points, priors, three_pl)
    la = np.log(a)
    mu = float(la.mean())
    tau = float(np.sqrt(np.mean((la - mu) ** 2 + (se_a / a) ** 2)))
    return replace(priors, log_a_mean=mu, log_a_sd=min(max(tau, 0.05), 1.0))


def indicators(x: Arr) -> tuple[sparse.csr_array, sparse.csr_array]:
    """(presented, correct) of the (P, N) responses as sparse (P, N) 0 / 1 matrices: an
    adaptive test presents a small share of the items to each examinee, so the E-step's
    products cost the responses given, not P x N (a tenth of the work and memory at 600 items
    x 50,000 candidates, bench/bench_item_analysis.py)."""
    rows, cols = np.nonzero(~np.isnan(x))
    shape, ones = x.shape, np.ones(len(rows))
    mask = sparse.csr_array((ones, (rows, cols)), shape=shape)
    right = x[rows, cols] == 1
    u = sparse.csr_array((ones[right], (rows[right], cols[right])), shape=shape)
    return mask, u


def _start_b(u: Arr, mask: Arr) -> Arr:
    """Starting difficulties: -logit of each item's proportion correct (clipped)."""
    prop = np.clip(u.sum(0) / np.maximum(mask.sum(0), 1), 0.02, 0.98)
    return -np.log(prop / (1 - prop))


def _posterior_moments(w: Arr, points: Arr) -> tuple[float, float]:
    """Mean and SD of the latent distribution from the posterior weights W (P, Q)."""
    m = float((w @ points).mean())
    v = float((w @ points**2).mean()) - m * m
    return m, max(v, 1e-6) ** 0.5


def _finish(
    x: Arr, mask: Arr, u: Arr, a: Arr, b: Arr, c: Arr, fixed: Arr, points: Arr, mean: float,
    sd: float, priors: Priors, model: str, it: int, converged: bool,
) -> CalibrationResult:  # fmt: skip
    three_pl = model == "3pl"
    log_w = _normal_log_weights(points, mean, sd)
    _, n, _, loglik, log_post = _estep(mask, u, a, b, c, points, log_w)
    se_a, se_b, se_c = _standard_errors(a, b, c, n, points, priors, three_pl)
    se_a[fixed] = se_b[fixed] = se_c[fixed] = 0.0
    n_params = np.where(fixed, 0, 3 if three_pl else 2)
    p_grid = c + (1 - c) * expit(a * (points[:, None] - b))  # (Q, N)
    stat, df, p = item_fit(x, log_post, points, p_grid, n_params)
    return CalibrationResult(
        model,
        a,
        b,
        c,
        se_a,
        se_b,
        se_c,
        fixed,
        mask.sum(0).astype(int),
        stat,
        df,
        p,
        loglik,
        it,
        converged,
        mean,
        sd,
        (priors.log_a_mean, priors.log_a_sd),
    )
