"""What parameter error of the size a first calibration leaves costs a CAT (issue 16).

The first-cohorts study (bench/first_cohorts.py) finds the cohort that sits the parameters
calibrated from 2,000 candidates about 1 point under a CAT on the true parameters. This study
asks how much of that any calibration of that precision must lose, with everything else held
equal: engine only, one 200-item bank drawn as the study draws it (a ~ lognormal(0, 0.3),
b ~ N(0, 1), c = 0.2, the CAWM blueprint's weights), the CAWM policy (30 to 60 items, 95%
interval at cut 0, randomesque 5), no exposure control; candidates answer by the true
parameters while the engine selects and scores with
- "true": the true parameters;
- "a and b": log a + N(0, sd_log_a^2), b + N(0, sd_b^2) (defaults 0.20 and 0.17: RMSE a about
  0.22 and b 0.17, what the study's calibration from 2,000 candidates left at 300+ responses);
- "a only", "b only": one of the two errors;
- "a and b, a shrunk": the errors, then log a pulled toward its mean by the reliability
  0.3^2 / (0.3^2 + sd_log_a^2) (what an empirical-Bayes prior on log a would do).
Accuracy = share classified as the true theta is (theta >= 0), over the same thetas.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/study_parameter_error.py \
        --candidates 20000 --seeds 1,2,3
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.exams.engine_bridge import CI_LEVEL, RANDOMESQUE_K  # noqa: E402
from app.psychometrics import engine, irt, simulation  # noqa: E402
from app.psychometrics.engine_types import ItemPool  # noqa: E402

DOMAINS = ("A", "B", "C", "D", "E", "F")  # the CAWM blueprint's weights
WEIGHTS = np.array([0.15, 0.20, 0.15, 0.20, 0.15, 0.15])


def study_policy() -> engine.CatPolicy:
    """The CAWM exam policy candidates get, less what the study leaves out (pretest slots, facts,
    exposure control); tests/psychops/test_first_cohorts.py checks it against the track's."""
    return engine.CatPolicy(
        min_items=30, max_items=60, cut_theta=0.0, ci_level=CI_LEVEL,
        blueprint=dict(zip(DOMAINS, WEIGHTS.tolist(), strict=True)), randomesque_k=RANDOMESQUE_K,
    )  # fmt: skip


def accuracy(policy, truth: ItemPool, used: ItemPool, thetas, seed) -> tuple[float, float]:
    """(accuracy, mean length) of a CAT that selects and scores with `used` while candidates
    answer by `truth`."""
    rng = np.random.default_rng([seed, 7])
    right, length = 0, 0
    for e, theta in enumerate(thetas):
        state = engine.start_attempt(policy, used, seed * 1_000_003 + e)
        decision = engine.stop_decision(state, policy)
        while not decision.stop:
            item = engine.select_next(state, policy, used)
            if item is None:
                break
            j = truth.index[item]
            p = irt.probability(theta, truth.a[j : j + 1], truth.b[j : j + 1], truth.c[j : j + 1])
            state = engine.record_response(state, item, bool(rng.random() < p[0]), policy, used)
            decision = engine.stop_decision(state, policy)
        result = engine.finalize(state, policy, used, decision.reason)
        right += result.passed == (theta >= 0.0)
        length += result.n_scored
    return right / len(thetas), length / len(thetas)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", type=int, default=20000)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--sd-log-a", type=float, default=0.20)
    ap.add_argument("--sd-b", type=float, default=0.17)
    args = ap.parse_args()
    policy = study_policy()
    print(f"# {vars(args)}", flush=True)
    gaps: dict[str, list[float]] = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        rng = np.random.default_rng([seed, 0xE7])
        truth = simulation.generate_bank(rng, 200, DOMAINS, WEIGHTS)
        n = len(truth.ids)
        err_a, err_b = rng.normal(0, args.sd_log_a, n), rng.normal(0, args.sd_b, n)
        log_a = np.log(truth.a)
        shrink = 0.3**2 / (0.3**2 + args.sd_log_a**2)
        noisy_la = log_a + err_a
        variants = {
            "true": (log_a, truth.b),
            "a and b": (noisy_la, truth.b + err_b),
            "a only": (noisy_la, truth.b),
            "b only": (log_a, truth.b + err_b),
            "a and b, a shrunk": (
                noisy_la.mean() + shrink * (noisy_la - noisy_la.mean()),
                truth.b + err_b,
            ),  # fmt: skip
        }
        thetas = np.random.default_rng([seed, 0x7E]).normal(0, 1, args.candidates)
        base = None
        for name, (la, b) in variants.items():
            t0 = time.perf_counter()
            used = ItemPool.from_lists(list(truth.ids), np.exp(la).tolist(), b.tolist(),
                                       truth.c.tolist(), list(truth.domain))  # fmt: skip
            acc, length = accuracy(policy, truth, used, thetas, seed)
            base = acc if base is None else base
            gaps.setdefault(name, []).append(100 * (acc - base))
            print(f"seed {seed} | {name} | accuracy {acc:.4f} | minus true "
                  f"{100 * (acc - base):+.2f} points | mean length {length:.1f} | "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    se = 100 * np.sqrt(0.9 * 0.1 / args.candidates)
    print(f"# one accuracy's binomial SE: {se:.2f} points")
    for name, g in gaps.items():
        each = ", ".join(f"{x:+.2f}" for x in g)
        print(f"{name}: mean minus true {np.mean(g):+.2f} points over {len(g)} seeds ({each})")


if __name__ == "__main__":
    main()
