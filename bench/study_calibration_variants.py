"""Study for issue 3's 2PL target: RMSE of a over seeds, for variants of our MML-EM and girth.

200 items x 2,000 examinees, 2PL, a ~ lognormal(0, 0.3), b ~ N(0, 1), theta ~ N(0, 1); data of
seed s from default_rng([s, 2026]). Variants: the default (tol 1e-3 as the bench), tol 1e-4,
the empirical-Bayes log a prior (Priors(empirical_log_a=True)) at both tolerances, 41 and 121
quadrature points; two references that no estimator can use: the generating prior on log a
(N(0, 0.3^2)) and per-item ML with the true thetas known. Prints per-seed RMSE a, then mean, SD,
max of RMSE a and b, mean CPU seconds and the mean paired difference to the default.
Importing bench_calibration pins BLAS to one thread.

    .venv/bin/python bench/study_calibration_variants.py --seeds 1,2,3,4,5,6,7,8,9,10,11
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_calibration as bc  # noqa: E402

from app.psychometrics import calibration, irt  # noqa: E402

VARIANTS = {
    "default (tol 1e-3)": dict(tol=1e-3),
    "tol 1e-4": dict(tol=1e-4),
    "empirical-Bayes log a, tol 1e-3": dict(
        tol=1e-3, priors=calibration.Priors(empirical_log_a=True)
    ),
    "empirical-Bayes log a, tol 1e-4": dict(
        tol=1e-4, priors=calibration.Priors(empirical_log_a=True)
    ),
    "41 quadrature points": dict(tol=1e-3, n_quad=41),
    "121 quadrature points": dict(tol=1e-3, n_quad=121),
    "reference: generating prior sd 0.3": dict(tol=1e-3, priors=calibration.Priors(log_a_sd=0.3)),
}


def _known_theta_ml(x, theta):
    """Per-item 2PL ML with theta known (no prior): what 2,000 examinees allow at best."""
    out = []
    for u in x.T:

        def f(p, u=u):
            z = p[0] * (theta - p[1])
            pr = 1 / (1 + np.exp(-z))
            ll = np.sum(u * np.log(pr + 1e-12) + (1 - u) * np.log(1 - pr + 1e-12))
            g = u - pr
            return -ll, -np.array([np.sum(g * (theta - p[1])), np.sum(-g * p[0])])

        bounds = [(0.05, 5), (-6, 6)]
        out.append(minimize(f, [1.0, 0.0], jac=True, method="L-BFGS-B", bounds=bounds).x)
    return np.array(out).T


def _seed(seed: int, girth: bool) -> dict[str, tuple[float, float, float]]:
    rng = np.random.default_rng([seed, 2026])
    a, b = rng.lognormal(0, 0.3, 200), rng.normal(0, 1, 200)
    theta = rng.normal(0, 1, 2000)
    x = (rng.random((2000, 200)) < irt.probability(theta, a, b, np.zeros(200))).astype(float)
    row = {}
    for name, kw in VARIANTS.items():
        t = time.process_time()
        res = calibration.calibrate(x, "2pl", **kw)
        row[name] = (bc._rmse(res.a, a), bc._rmse(res.b, b), time.process_time() - t)
    ka, kb = _known_theta_ml(x, theta)
    row["reference: ML with theta known"] = (bc._rmse(ka, a), bc._rmse(kb, b), 0.0)
    if girth:
        t = time.process_time()
        ga, gb, _ = bc._girth(x, "2pl")
        row["girth 0.8"] = (bc._rmse(ga, a), bc._rmse(gb, b), time.process_time() - t)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8,9,10,11")
    parser.add_argument("--no-girth", action="store_true")
    args = parser.parse_args()
    bc._patch_girth()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = {}
    for seed in seeds:
        rows[seed] = _seed(seed, not args.no_girth)
        print(seed, {k: round(v[0], 4) for k, v in rows[seed].items()}, flush=True)
    base = np.array([rows[s]["default (tol 1e-3)"][0] for s in seeds])
    print("\n| variant | RMSE a mean | SD | max | RMSE b mean | max | CPU s | a minus default |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in rows[seeds[0]]:
        v = np.array([rows[s][name] for s in seeds])
        d = v[:, 0] - base
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
        sd = v[:, 0].std(ddof=1) if len(d) > 1 else 0.0
        print(f"| {name} | {v[:, 0].mean():.4f} | {sd:.4f} | {v[:, 0].max():.4f} "
              f"| {v[:, 1].mean():.4f} | {v[:, 1].max():.4f} | {v[:, 2].mean():.1f} "
              f"| {d.mean():+.4f} +- {se:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
