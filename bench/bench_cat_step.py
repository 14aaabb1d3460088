"""One adaptive step, ours vs catsim, on banks of 300 and 3,000 items (ratios, same run).

Our step: record_response (O(grid) posterior update) + select_next (EAP, content balancing
over six domains, Sympson-Hetter lottery, randomesque k = 3), from a state with 20 answers.
catsim's step: NumericalSearchEstimator (bounded ML) + MaxInfoSelector (r_max 0.25), the
same 20 answers; catsim has no content balancing, so its step does less work.

    .venv/bin/python bench/bench_cat_step.py [--reps 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from catsim.estimation import NumericalSearchEstimator  # noqa: E402
from catsim.item_bank import ItemBank  # noqa: E402
from catsim.selection import MaxInfoSelector  # noqa: E402

from app.psychometrics import engine, simulation  # noqa: E402

DOMAINS = ("A", "B", "C", "D", "E", "F")
WEIGHTS = np.array([0.15, 0.20, 0.15, 0.20, 0.15, 0.15])


def _state(policy, pool, n_answered):
    state = engine.start_attempt(policy, pool, seed=17)
    rng = np.random.default_rng(4)
    for _ in range(n_answered):
        item = engine.select_next(state, policy, pool)
        state = engine.record_response(state, item, bool(rng.random() < 0.6), policy, pool)
    return state


def ours(n_items: int, reps: int) -> np.ndarray:
    pool = simulation.generate_bank(np.random.default_rng(1), n_items, DOMAINS, WEIGHTS)
    sh = dict(zip(pool.ids, np.random.default_rng(2).uniform(0.3, 1.0, n_items), strict=True))
    policy = engine.CatPolicy(
        min_items=30,
        max_items=60,
        blueprint=dict(zip(DOMAINS, WEIGHTS, strict=True)),
        randomesque_k=3,
        sh_exposure=sh,
    )
    state = _state(policy, pool, 20)
    item = engine.select_next(state, policy, pool)
    times = np.empty(reps)
    for r in range(reps):
        t0 = time.perf_counter()
        nxt = engine.record_response(state, item, r % 2 == 0, policy, pool)
        engine.select_next(nxt, policy, pool)
        times[r] = time.perf_counter() - t0
    return times


def catsim_step(n_items: int, reps: int) -> np.ndarray:
    pool = simulation.generate_bank(np.random.default_rng(1), n_items, DOMAINS, WEIGHTS)
    bank = ItemBank(np.column_stack([pool.a, pool.b, pool.c, np.ones(n_items)]))
    estimator, selector = NumericalSearchEstimator(), MaxInfoSelector(r_max=0.25)
    rng = np.random.default_rng(4)
    administered = list(rng.choice(n_items, 21, replace=False))
    responses = [bool(x) for x in rng.random(21) < 0.6]
    responses[0], responses[1] = True, False  # a mixed pattern, so ML is defined
    times = np.empty(reps)
    for r in range(reps):
        t0 = time.perf_counter()
        theta = estimator.estimate(
            item_bank=bank,
            administered_items=administered,
            response_vector=responses,
            est_theta=0.0,
        )
        selector.select(item_bank=bank, administered_items=administered, est_theta=theta)
        times[r] = time.perf_counter() - t0
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()
    cols = ["items", "ours p50 (us)", "ours p95 (us)", "catsim p50 (us)", "catsim p95 (us)"]
    print("| " + " | ".join([*cols, "p50 ratio", "p95 ratio"]) + " |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in (300, 3000):
        ours(n, 200), catsim_step(n, 50)  # warm-up
        a, b = ours(n, args.reps) * 1e6, catsim_step(n, max(args.reps // 4, 100)) * 1e6
        pa, pb = np.percentile(a, [50, 95]), np.percentile(b, [50, 95])
        print(
            f"| {n} | {pa[0]:.0f} | {pa[1]:.0f} | {pb[0]:.0f} | {pb[1]:.0f} | "
            f"{pb[0] / pa[0]:.1f}x | {pb[1] / pa[1]:.1f}x |"
        )


if __name__ == "__main__":
    main()
