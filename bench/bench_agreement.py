"""Largest disagreements with independent references on the same inputs (printed, not timed).

- probability and information vs catsim's icc_hpc / inf_hpc (200 items x 9 thetas);
- EAP and posterior SD (81-point grid) vs a 4,001-point trapezoid integral (200 patterns);
- MLE vs catsim's NumericalSearchEstimator (bounded) on the same patterns.

    .venv/bin/python bench/bench_agreement.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from catsim import irt as cat_irt  # noqa: E402
from catsim.estimation import NumericalSearchEstimator  # noqa: E402
from catsim.item_bank import ItemBank  # noqa: E402

from app.psychometrics import estimation, irt  # noqa: E402


def main() -> None:
    rng = np.random.default_rng(1)
    n = 200
    a, b, c = rng.lognormal(0, 0.4, n), rng.normal(0, 1.2, n), rng.uniform(0, 0.35, n)
    items = np.column_stack([a, b, c, np.ones(n)])
    dp = di = 0.0
    for theta in np.linspace(-4, 4, 9):
        dp = max(dp, np.abs(irt.probability(theta, a, b, c) - cat_irt.icc_hpc(theta, items)).max())
        di = max(di, np.abs(irt.information(theta, a, b, c) - cat_irt.inf_hpc(theta, items)).max())
    print(f"probability vs catsim: max |diff| {dp:.2e}")
    print(f"information vs catsim: max |diff| {di:.2e}")
    grid, t = estimation.make_grid(81), np.linspace(-8, 8, 4001)
    de = ds = dm = 0.0
    bank = ItemBank(np.column_stack([a[:40], b[:40], np.full(40, 0.2), np.ones(40)]))
    mle = NumericalSearchEstimator(method="bounded")
    for _ in range(200):
        length = int(rng.integers(5, 41))
        aa, bb, cc = a[:length], b[:length], np.full(length, 0.2)
        u = (rng.random(length) < irt.probability(rng.normal(), aa, bb, cc)).astype(float)
        est = estimation.eap(grid, aa, bb, cc, u)
        dens = np.exp(irt.log_likelihood(t, aa, bb, cc, u) - 0.5 * t**2)
        mean = np.trapezoid(t * dens, t) / np.trapezoid(dens, t)
        sd = np.sqrt(np.trapezoid((t - mean) ** 2 * dens, t) / np.trapezoid(dens, t))
        de, ds = max(de, abs(est.theta - mean)), max(ds, abs(est.se - sd))
        if 0 < u.sum() < length:
            ours = estimation.mle_estimate(aa, bb, cc, u).theta
            theirs = mle.estimate(
                item_bank=bank, administered_items=list(range(length)),
                response_vector=[bool(x) for x in u], est_theta=0.0,
            )  # fmt: skip
            dm = max(dm, abs(ours - theirs))
    print(f"EAP vs 4,001-point integral: max |diff| theta {de:.2e}, SE {ds:.2e} (200 patterns)")
    print(f"MLE vs catsim bounded search: max |diff| {dm:.2e}")


if __name__ == "__main__":
    main()
