"""Precision bound of issue 3: who can reach SE <= 0.30 within 40 items, even knowing theta.

An oracle that knows theta gives the 40 items most informative there. With the N(0, 1) prior
its SE is about 1 / sqrt(I_40(theta) + 1), so SE <= 0.30 needs I_40(theta) >= 1/0.09 - 1.
Three independent figures per bank:

- analytic: the share of N(0, 1) inside the set of theta where the bound holds (theta grid
  of step 0.001 on [-5, 5], integrated against the normal density: no sampling noise);
- analytic, blueprint: the same with the 40 items drawn to the blueprint counts (6, 8, 6, 8,
  6, 6), as a CAT with content balancing must;
- simulated: 5,000 thetas from N(0, 1) answer those 40 items; the share whose EAP posterior
  SD (81-point grid, as the engine) is <= 0.30 (a posterior SD can beat the Fisher bound).

Banks: the test bank (generate_bank(default_rng(7), ...), tests/psychometrics) and the CLI's
banks for --seed 1, 2, 3 (default_rng([seed, 0xBA])); a ~ lognormal(0, 0.3) as the issue
states (sdlog 0.3), a x 1.7 for reference, and as a sensitivity analysis only sdlog
sqrt(0.3) = 0.548 (if "0.3" had meant the variance of log a).

With --cat N, N candidates also take the engine's CAT (SE target 0.30, at most 40 items).

    .venv/bin/python bench/bench_precision_bound.py [--cat 2000]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy.stats import norm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.psychometrics import engine, estimation, irt, simulation  # noqa: E402

DOMAINS = ("A", "B", "C", "D", "E", "F")
WEIGHTS = np.array([0.15, 0.20, 0.15, 0.20, 0.15, 0.15])
NEED = 1 / 0.30**2 - 1  # test information needed on top of the N(0, 1) prior
VARIANTS = (
    ("lognormal(0, 0.3)", 1.0, 0.3),
    ("1.7 x lognormal(0, 0.3)", 1.7, 0.3),
    ("lognormal(0, 0.548) [sensitivity]", 1.0, 0.3**0.5),
)


def _top(info: np.ndarray, code: np.ndarray | None, length: int = 40) -> np.ndarray:
    """Summed information (G,) of the `length` best items per row, optionally to the blueprint."""
    if code is None:
        return -np.sort(-info, axis=1)[:, :length].sum(1)
    counts = simulation.blueprint_counts(length, WEIGHTS)
    return sum(-np.sort(-info[:, code == d], axis=1)[:, :k].sum(1) for d, k in enumerate(counts))


def _analytic(pool, code) -> float:
    grid = np.arange(-5.0, 5.0005, 0.001)
    ok = _top(irt.information(grid, pool.a, pool.b, pool.c), code) >= NEED
    return float((norm.pdf(grid) * ok).sum() * 0.001)


def _simulated(pool, n: int = 5000) -> float:
    rng = np.random.default_rng(99)
    thetas = rng.normal(0.0, 1.0, n)
    info = irt.information(thetas, pool.a, pool.b, pool.c)
    best = np.argsort(-info, axis=1)[:, :40]
    grid = estimation.make_grid()
    log_p = np.log(irt.probability(grid.points, pool.a, pool.b, pool.c))  # (G, N)
    log_q = np.log1p(-irt.probability(grid.points, pool.a, pool.b, pool.c))
    ok = 0
    for e in range(n):
        idx = best[e]
        u = rng.random(40) < irt.probability(thetas[e], pool.a[idx], pool.b[idx], pool.c[idx])
        log_post = grid.log_prior + np.where(u, log_p[:, idx], log_q[:, idx]).sum(1)
        ok += estimation.eap_from_log_posterior(log_post, grid).se <= 0.30
    return ok / n


def _cat(pool, n: int) -> float:
    """Share of n N(0, 1) candidates whose engine CAT (SE target 0.30, 10-40 items, CI rule
    off, blueprint on, no exposure control: the policy of tests/psychometrics) reaches it."""
    blueprint = dict(zip(DOMAINS, WEIGHTS.tolist(), strict=True))
    policy = engine.CatPolicy(
        min_items=10, max_items=40, ci_rule=False, se_target=0.30, blueprint=blueprint
    )
    thetas = np.random.default_rng(98).normal(0.0, 1.0, n)
    return float(np.mean(simulation.simulate_cat(policy, pool, thetas, seed=6).se <= 0.30))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cat", type=int, default=0, help="also run N candidates through the CAT")
    args = parser.parse_args()
    extra = " CAT (engine) |" if args.cat else ""
    print("| bank | a | analytic | analytic, blueprint | simulated EAP |" + extra)
    print("| --- | --- | --- | --- | --- |" + (" --- |" if args.cat else ""))
    banks = [("test bank (rng 7)", lambda: np.random.default_rng(7))]
    banks += [(f"CLI --seed {s}", lambda s=s: np.random.default_rng([s, 0xBA])) for s in (1, 2, 3)]
    for label, make in banks:
        for a_label, scale, sdlog in VARIANTS:
            pool = simulation.generate_bank(make(), 300, DOMAINS, WEIGHTS, scale, sdlog)
            code = np.array([DOMAINS.index(d) for d in pool.domain])
            row = (_analytic(pool, None), _analytic(pool, code), _simulated(pool))
            row += (_cat(pool, args.cat),) if args.cat else ()
            print(f"| {label} | {a_label} | " + " | ".join(f"{100 * v:.1f}%" for v in row) + " |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
