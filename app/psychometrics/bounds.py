"""An allocation oracle: items allocated in advance to examinees whose theta is known.

The oracle allocates items to examinees under the same resource limits as the CAT (an
exposure cap r_max per item, at most max_items per examinee, optionally a mean length) with
the true theta in hand. It is NOT an upper bound on a CAT: its allocations are fixed before
any response, while a CAT stops on the responses; a sequential oracle that selects by the
same criterion at the true theta and stops on the responses (simulation.oracle_score,
bench/bench_sequential_oracle.py) beats it by about 0.6 point at the same length and cap
(issue 17). What it bounds is the relaxed objective below, for fixed allocations.

Relaxation. Examinees are grouped in theta bins k (n_k examinees, mean theta_k); x_ki is the
number of bin-k examinees who get item i, with 0 <= x_ki <= n_k, min_items n_k <=
sum_i x_ki <= max_items n_k, sum_k x_ki <= r_max E and optionally sum x <= mean_items E.
A bin's examinees share J_k = sum_i x_ki J_i(theta_k) / n_k, where J_i(theta) is item i's
information averaged over the interval between the cut and theta (J = I(cut) next to the
cut); they are classified correctly with probability Phi(|theta_k - cut| sqrt(J_k)). This is
the normal approximation of the score test at the cut: for the 2PL the expected score at the
cut is the integral of I between cut and theta. (Information at theta itself would credit
an item with b = 2 for separating theta = 2 from the cut, which it barely does.) The
expected accuracy F(x) = sum_k n_k Phi(.) / E is concave in x; Frank-Wolfe with an LP
(HiGHS) per step maximises it over the polytope, and the duality gap
max_s grad F(x) . (s - x) certifies an upper bound on the relaxed optimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import linprog, minimize_scalar
from scipy.stats import norm

from app.psychometrics import estimation, irt


@dataclass(frozen=True, eq=False)
class OracleAllocation:
    """Result of oracle_allocation.

    items: per examinee (E entries), the pool indices allocated (integer allocation).
    relaxed: F at the final fractional allocation; bound: the certified upper bound on the
    relaxed optimum (F + duality gap). Both are expected accuracies in [0, 1].
    mean_items: mean allocated length; max_exposure: max_i count_i / E of the integer
    allocation (can exceed r_max by rounding, a few examinees per item).
    """

    items: list[np.ndarray]
    relaxed: float
    bound: float
    mean_items: float
    max_exposure: float


def _bins(thetas: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin index per examinee (E,), bin mean theta (K,), bin count (K,) of non-empty bins."""
    raw = np.floor(thetas / width).astype(int)
    _, code, counts = np.unique(raw, return_inverse=True, return_counts=True)
    means = np.bincount(code, weights=thetas) / counts
    return code, means, counts


def interval_information(
    thetas: np.ndarray, cut: float, a: np.ndarray, b: np.ndarray, c: np.ndarray, n: int = 21
) -> np.ndarray:
    """J (E, N): each item's Fisher information averaged over [cut, theta_e] (n points)."""
    t = np.linspace(0.0, 1.0, n)
    out = np.zeros((len(thetas), len(a)))
    for s in t:
        out += irt.information(cut + s * (np.asarray(thetas) - cut), a, b, c)
    return out / n


def _value_and_grad(
    x: np.ndarray, info: np.ndarray, n_k: np.ndarray, dist: np.ndarray
) -> tuple[float, np.ndarray]:
    """F(x) * E and its gradient (K, N); x, info: (K, N); n_k, dist: (K,)."""
    mean_info = np.maximum((x * info).sum(1) / n_k, 1e-9)
    root = np.sqrt(mean_info)
    value = float((n_k * norm.cdf(dist * root)).sum())
    grad = (norm.pdf(dist * root) * dist / (2 * root))[:, None] * info
    return value, grad


def _lp_polytope(
    n_k: np.ndarray, n_items: int, cap: float, min_items: int, max_items: int,
    total: float | None,
) -> tuple[Any, np.ndarray, np.ndarray]:  # fmt: skip
    """A_ub, b_ub, bounds of the allocation polytope over x (K * N,), row-major (k, i)."""
    k = len(n_k)
    item_rows = sparse.hstack([sparse.identity(n_items)] * k)  # sum_k x_ki <= cap
    bin_rows = sparse.kron(sparse.identity(k), np.ones((1, n_items)))  # sum_i x_ki <= L n_k
    rows = [item_rows, bin_rows, -bin_rows]  # and >= min_items n_k
    rhs = [np.full(n_items, cap), max_items * n_k, -min_items * n_k]
    if total is not None:
        rows.append(sparse.csr_matrix(np.ones((1, k * n_items))))
        rhs.append(np.array([total]))
    bounds = np.column_stack([np.zeros(k * n_items), np.repeat(n_k, n_items)])
    return sparse.vstack(rows).tocsr(), np.concatenate(rhs), bounds


def _frank_wolfe(
    info: np.ndarray, n_k: np.ndarray, dist: np.ndarray,
    polytope: tuple[Any, np.ndarray, np.ndarray], x0: np.ndarray, iterations: int,
) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """Maximise F over the polytope from x0; returns (x, F * E, certified bound * E)."""
    a_ub, b_ub, bounds = polytope
    x, best_bound = x0, np.inf
    for _ in range(iterations):
        value, grad = _value_and_grad(x, info, n_k, dist)
        lp = linprog(-grad.ravel(), A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        s = lp.x.reshape(x.shape)
        gap = float((grad * (s - x)).sum())
        best_bound = min(best_bound, value + gap)
        if gap < 1e-4 * value:
            break
        direction = s - x
        step = minimize_scalar(
            lambda g, x=x, d=direction: -_value_and_grad(x + g * d, info, n_k, dist)[0],
            bounds=(0.0, 1.0),
            method="bounded",
        ).x
        x = x + step * direction
    return x, _value_and_grad(x, info, n_k, dist)[0], best_bound


def _integerise(x: np.ndarray, code: np.ndarray, n_k: np.ndarray) -> list[np.ndarray]:
    """Per examinee the items of its bin by systematic sampling of the shares x_ki / n_k."""
    items: list[np.ndarray] = [np.empty(0, int)] * len(code)
    for k in range(len(n_k)):
        members = np.flatnonzero(code == k)
        cum = np.concatenate([[0.0], np.cumsum(np.clip(x[k] / n_k[k], 0.0, 1.0))])
        for j, e in enumerate(members):
            offset = (j + 0.5) / len(members)
            picks = np.floor(cum - offset)
            items[e] = np.flatnonzero(np.diff(picks) > 0)  # each share p_i <= 1: at most once
    return items


def oracle_allocation(
    thetas: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    cut: float,
    max_items: int,
    r_max: float,
    mean_items: float | None = None,
    min_items: int = 0,
    bin_width: float = 0.1,
    iterations: int = 60,
) -> OracleAllocation:
    """Best allocation of items (N,) to examinees of known theta (E,); see the module doc.

    r_max: exposure cap (share of examinees per item); min_items to max_items per examinee;
    mean_items: optional cap on the mean length. Theta bins of bin_width logits.
    """
    code, theta_k, n_k = _bins(np.asarray(thetas, dtype=float), bin_width)
    n_k = n_k.astype(float)
    info = interval_information(theta_k, cut, a, b, c)  # (K, N)
    e, n_items = len(thetas), len(a)
    total = None if mean_items is None else mean_items * e
    polytope = _lp_polytope(n_k, n_items, r_max * e, min_items, max_items, total)
    share = min(max_items / n_items, r_max, 1.0 if mean_items is None else mean_items / n_items)
    if share * n_items < min_items:
        raise ValueError("no allocation gives min_items under these caps")
    x0 = np.outer(n_k, np.full(n_items, share))
    x, value, bound = _frank_wolfe(info, n_k, np.abs(theta_k - cut), polytope, x0, iterations)
    items = _integerise(x, code, n_k)
    counts = np.bincount(np.concatenate(items), minlength=n_items)
    return OracleAllocation(
        items=items,
        relaxed=value / e,
        bound=min(bound / e, 1.0),
        mean_items=float(np.mean([len(s) for s in items])),
        max_exposure=float(counts.max() / e),
    )


def eap_of_item_sets(
    items: list[np.ndarray],
    thetas: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    grid: estimation.Grid,
    uniforms: np.ndarray,
) -> np.ndarray:
    """EAP (E,) of each examinee e answering items[e], responses u_ei = U_ei < P_i(theta_e).

    uniforms: (E, N) one draw per examinee and pool item, so that designs compared on the
    same examinees share their random numbers (common random numbers).
    """
    p_grid = np.clip(irt.probability(grid.points, a, b, c), 1e-12, 1 - 1e-12)  # (G, N)
    log_p, log_q = np.log(p_grid), np.log1p(-p_grid)
    out = np.empty(len(items))
    for e, idx in enumerate(items):
        p = irt.probability(float(thetas[e]), a[idx], b[idx], c[idx])
        u = uniforms[e, idx] < p
        log_post = grid.log_prior + np.where(u, log_p[:, idx], log_q[:, idx]).sum(1)
        out[e] = estimation.eap_from_log_posterior(log_post - log_post.max(), grid).theta
    return out
