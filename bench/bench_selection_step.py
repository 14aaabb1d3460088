"""One selection step against a plain numpy argmax, and with every constraint on (issue 17).

Ours: engine.select_next from a state with 20 scored answers (its estimate already computed, as
after the stop check of a real step), so what is timed is the selection itself: eligibility
masks, the constraint look-ahead when on, partial selection by information, exposure lottery.
Reference, timed in the same run on the same bank and state: information of every item at the
estimate (irt.information, the textbook formula), the delivered items masked, argmax. The engine
evaluates the information with irt.InformationAt (its theta-free parts computed once per pool,
9 array passes instead of 16), so a second reference, the same argmax with that kernel, is timed
too: the engine's ratio to it is its fixed cost alone (masks, stop check, the step's generator).

- without constraints (no blueprint, no fact limit, no exposure control, k = 1): 300, 3,000 and
  30,000 items, ratio of percentiles ours / reference;
- every constraint on at 1,000 items: quotas 0.4/0.3/0.2/0.1 at every length from 10 to 60, one
  item per fact (enemy sets of 3 over 30% of the bank), a type cap (25% 'multiple'), conditional
  Sympson-Hetter K (random, 10 bands), randomesque k = 3.

Wall clock (perf_counter) and CPU time of the thread (thread_time) are both printed: on a
shared, loaded machine the wall clock mostly measures waiting for a core.

    nice -n 10 .venv/bin/python bench/bench_selection_step.py [--reps 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.psychometrics import engine, irt, simulation  # noqa: E402
from app.psychometrics.engine_types import ExposureControl  # noqa: E402

DOMAINS = ("D1", "D2", "D3", "D4")
WEIGHTS = np.array([0.4, 0.3, 0.2, 0.1])


def _state(policy, pool, n_answered=20):
    state = engine.start_attempt(policy, pool, seed=17)
    rng = np.random.default_rng(4)
    while state.n_scored < n_answered:
        item = engine.select_next(state, policy, pool)
        state = engine.record_response(state, item, bool(rng.random() < 0.6), policy, pool)
    engine.current_estimate(state, policy)  # computed once, as the stop check of a step does
    return state


def _time(fn, reps):
    wall, cpu = np.empty(reps), np.empty(reps)
    for r in range(reps):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        cpu[r], wall[r] = time.thread_time() - c, time.perf_counter() - w
    return wall, cpu


def _reference(state, policy, pool):
    theta = engine.current_estimate(state, policy).theta
    seen = np.fromiter((pool.index[i] for i in state.item_ids), int)

    def step():
        info = irt.information(theta, pool.a, pool.b, pool.c)
        info[seen] = -np.inf
        return int(np.argmax(info))

    return step


def _reference_kernel(state, policy, pool):
    """The same plain step with the engine's information kernel (irt.InformationAt, built once
    per pool): what is left of the ratio is the engine's fixed cost alone."""
    theta = engine.current_estimate(state, policy).theta
    seen = np.fromiter((pool.index[i] for i in state.item_ids), int)
    info_at = irt.InformationAt(pool.a, pool.b, pool.c)

    def step():
        info = info_at(theta)
        info[seen] = -np.inf
        return int(np.argmax(info))

    return step


def _row(label, wall, cpu, ref=None):
    p50, p95 = 1e3 * np.median(cpu), 1e3 * np.percentile(cpu, 95)
    out = f"{label:<44} p50 {p50:7.3f} ms  p95 {p95:7.3f} ms"
    out += f"  (wall p50 {1e3 * np.median(wall):7.3f}, p95 {1e3 * np.percentile(wall, 95):7.3f})"
    if ref is not None:
        r50 = np.median(cpu) / np.median(ref)
        r95 = np.percentile(cpu, 95) / np.percentile(ref, 95)
        out += f"  ratio to argmax p50 {r50:.2f}x p95 {r95:.2f}x"
    print(out, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2000)
    args = ap.parse_args()
    plain = engine.CatPolicy(min_items=30, max_items=60, fact_limit=0)
    for n in (300, 3_000, 30_000):
        pool = simulation.generate_bank(np.random.default_rng(1), n, DOMAINS, WEIGHTS)
        state = _state(plain, pool)
        ref = _reference(state, plain, pool)
        kernel = _reference_kernel(state, plain, pool)
        ours = lambda s=state, p=pool: engine.select_next(s, plain, p)  # noqa: E731
        assert ours() == pool.ids[ref()] == pool.ids[kernel()]  # the same item: same rule, k = 1
        ref_wall, ref_cpu = _time(ref, args.reps)
        kernel_wall, kernel_cpu = _time(kernel, args.reps)
        wall, cpu = _time(ours, args.reps)
        _row(f"{n:>6} items, numpy argmax reference", ref_wall, ref_cpu)
        _row(f"{n:>6} items, the same with InformationAt", kernel_wall, kernel_cpu, ref_cpu)
        _row(f"{n:>6} items, engine, no constraints", wall, cpu, ref_cpu)
        _row(f"{n:>6} items, engine against InformationAt argmax", wall, cpu, kernel_cpu)
    n = 1_000
    rng = np.random.default_rng(2)
    pool = simulation.generate_bank(rng, n, DOMAINS, WEIGHTS, enemy_share=0.3)
    kind = ["multiple" if x < 0.3 else "single" for x in rng.random(n)]
    pool = engine.ItemPool.from_lists(
        pool.ids, pool.a, pool.b, pool.c, pool.domain, fact=pool.fact, kind=kind
    )
    edges = tuple(np.arange(-2.0, 2.01, 0.5).round(2).tolist())
    k = tuple((i, tuple(rng.uniform(0.3, 1.0, len(edges) + 1))) for i in pool.ids)
    full = replace(
        plain,
        min_items=10,
        blueprint=dict(zip(DOMAINS, WEIGHTS.tolist(), strict=True)),
        fact_limit=1,
        type_max_share={"multiple": 0.25},
        sh_exposure=ExposureControl(edges, k),
        randomesque_k=3,
    )
    steps_wall, steps_cpu = [], []
    for seed in range(max(args.reps // 40, 5)):  # whole attempts: every length and state
        state = engine.start_attempt(full, pool, seed)
        answers = np.random.default_rng(seed)
        while True:
            engine.current_estimate(state, full)
            wall, cpu = _time(lambda s=state: engine.select_next(s, full, pool), 1)
            steps_wall.append(wall[0])
            steps_cpu.append(cpu[0])
            item = engine.select_next(state, full, pool)
            if item is None:
                break
            assert engine.violations(state, full, pool) == []
            state = engine.record_response(state, item, bool(answers.random() < 0.6), full, pool)
    _row(
        f"{n:>6} items, every constraint on ({len(steps_cpu)} steps)",
        np.array(steps_wall),
        np.array(steps_cpu),
    )


if __name__ == "__main__":
    main()
