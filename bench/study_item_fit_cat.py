"""Study: S-X2 (app/psychops/itemfit.py) on adaptive tests where the model is true.

A synthetic 3PL bank, candidates drawn from N(0, 1) sit the engine's CAT (randomesque,
blueprint, the classification stop); their responses come from the very parameters the
statistic is computed with, so every p-value should be roughly uniform. A few items are then
made to misfit (answered at random, probability 0.5 whatever the ability) and must be flagged.
Prints the share of model-true items with p < 0.05 and < 0.01 and the p-values of the broken
items.

    nice -n 10 .venv/bin/python bench/study_item_fit_cat.py --items 200 --examinees 3000
"""

import argparse

import numpy as np

from app.psychometrics import engine, irt, simulation
from app.psychops import itemfit

DOMAINS = ("A", "B", "C", "D")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--examinees", type=int, default=3000)
    parser.add_argument("--broken", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    pool = simulation.generate_bank(rng, args.items, DOMAINS, np.ones(len(DOMAINS)))
    policy = engine.CatPolicy(
        min_items=20,
        max_items=40,
        cut_theta=0.0,
        blueprint=tuple((d, 0.25) for d in DOMAINS),
        randomesque_k=5,
    )
    broken = set(range(args.broken))  # answered at random

    items, answers, offsets = [], [], [0]
    for e, theta in enumerate(rng.normal(0, 1, args.examinees)):
        state = engine.start_attempt(policy, pool, e)
        while not engine.stop_decision(state, policy).stop:
            item = engine.select_next(state, policy, pool)
            if item is None:
                break
            j = pool.index[item]
            p = (
                0.5
                if j in broken
                else float(
                    irt.probability(theta, pool.a[j : j + 1], pool.b[j : j + 1], pool.c[j : j + 1])[
                        0
                    ]
                )
            )
            state = engine.record_response(state, item, bool(rng.random() < p), policy, pool)
        items += [pool.index[i] for i in state.item_ids]
        answers += [int(x) for x in state.responses]
        offsets.append(len(items))
    idx, u = np.array(items), np.array(answers)
    grid_p = irt.probability(itemfit.QUADRATURE, pool.a, pool.b, pool.c)
    variants = {
        "whole test (fixed-form S-X2)": itemfit.expected(
            grid_p, np.array(offsets), idx, u, np.ones(len(idx), bool)
        ),
        "items so far (S-X2)": itemfit.sequential(
            grid_p, np.array(offsets), idx, u, np.ones(len(idx), bool)
        ),
        "pattern so far": itemfit.sequential(
            grid_p, np.array(offsets), idx, u, np.ones(len(idx), bool), summed=False
        ),
    }
    print(f"{len(idx)} responses, mean per item {len(idx) / args.items:.0f}")
    for name, e in variants.items():
        report(name, idx, u, e, broken)


def report(name, idx, u, e, broken) -> None:
    p_values = {}
    for j in np.unique(idx):
        fit = itemfit.s_x2(u[idx == j], e[idx == j])
        if fit is not None and fit.p_value is not None and (idx == j).sum() >= 100:
            p_values[int(j)] = fit.p_value
    good = np.array([p for j, p in p_values.items() if j not in broken])
    quartiles = ", ".join(f"{q:.2f}" for q in np.quantile(good, [0.25, 0.5, 0.75]))
    print(
        f"{name}: {len(good)} model-true items with >= 100 responses: share p < 0.05 "
        f"{np.mean(good < 0.05):.3f}, p < 0.01 {np.mean(good < 0.01):.3f}, quartiles "
        f"{quartiles}; broken items' p: "
        + ", ".join(f"{p_values[j]:.2g}" for j in sorted(broken) if j in p_values)
    )


if __name__ == "__main__":
    main()
