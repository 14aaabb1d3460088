"""Calibration, ours vs girth on the same simulated data: RMSE and seconds, one run.

200 items x 2,000 examinees; a ~ lognormal(0, 0.3), b ~ N(0, 1), theta ~ N(0, 1); c = 0.2
for the 3PL, 0 for the 2PL; a third data set hides 70% of the 2PL responses (NaN).

    .venv/bin/python bench/bench_calibration.py [--seed 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy.optimize import fmin_slsqp, fminbound

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import girth  # noqa: E402

from app.psychometrics import calibration, irt  # noqa: E402


def _patch_girth() -> None:
    """girth 0.8's fminbound callbacks return shape-(1,) arrays, which SciPy >= 1.15
    rejects; return floats instead (numerically identical)."""

    def scalar(f):
        return lambda x, *args: float(np.squeeze(f(x, *args)))

    for name in ("rasch_mml", "threepl_mml"):
        module = sys.modules[f"girth.unidimensional.dichotomous.{name}"]
        module.fminbound = lambda f, *a, **k: fminbound(scalar(f), *a, **k)
        module.fmin_slsqp = lambda f, x0, *a, **k: fmin_slsqp(scalar(f), x0, *a, **k)


def _data(rng, model, missing):
    a, b = rng.lognormal(0, 0.3, 200), rng.normal(0, 1, 200)
    c = np.full(200, 0.2 if model == "3pl" else 0.0)
    theta = rng.normal(0, 1, 2000)
    x = (rng.random((2000, 200)) < irt.probability(theta, a, b, c)).astype(float)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x, a, b, c


def _rmse(est, true):
    return float(np.sqrt(np.mean((np.asarray(est) - true) ** 2)))


def _girth(x, model):
    data = x.T.copy()
    data[np.isnan(data)] = girth.INVALID_RESPONSE
    if model == "3pl":
        out = girth.threepl_mml(data.astype(int))
        return out["Discrimination"], out["Difficulty"], out["Guessing"]
    out = girth.twopl_mml(data.astype(int))
    return out["Discrimination"], out["Difficulty"], np.zeros(x.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    _patch_girth()
    rng = np.random.default_rng(args.seed)
    print("| data | tool | RMSE a | RMSE b | RMSE c | wall s | CPU s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, model, missing in (("3PL", "3pl", 0.0), ("2PL", "2pl", 0.0),
                                  ("2PL, 70% missing", "2pl", 0.7)):  # fmt: skip
        x, a, b, c = _data(rng, model, missing)
        t0, c0 = time.perf_counter(), time.process_time()
        res = calibration.calibrate(x, model, tol=1e-3)
        ours = (time.perf_counter() - t0, time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        ga, gb, gc = _girth(x, model)
        theirs = (time.perf_counter() - t0, time.process_time() - c0)
        for tool, ea, eb, ec, (wall, cpu) in (("ours", res.a, res.b, res.c, ours),
                                              ("girth", ga, gb, gc, theirs)):  # fmt: skip
            rc = f"{_rmse(ec, c):.4f}" if model == "3pl" else "-"
            row = f"| {label} | {tool} | {_rmse(ea, a):.4f} | {_rmse(eb, b):.4f} | {rc} |"
            print(f"{row} {wall:.2f} | {cpu:.2f} |")
        ratio = f"{theirs[0] / ours[0]:.1f}x | {theirs[1] / ours[1]:.1f}x"
        print(f"| {label} | time ratio girth/ours | | | | {ratio} |")


if __name__ == "__main__":
    main()
