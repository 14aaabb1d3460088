"""Study of the per-domain diagnostics (scoring.domain_diagnostic) on a real track's bank.

Simulated candidates: theta ~ N(0, 1); each domain's true level theta_d = theta + delta_d with
delta_d ~ N(0, tau_true^2) (tau_true 0 is a strictly unidimensional candidate). Every attempt
runs through the engine as delivery does (simulation.run_attempt with per-domain levels). For
each tau_true prints: the share of each label, how often a confident label ("above"/"below")
is on the wrong side of the cut, how often the 90% interval covers theta_d, and how often a
"weaker"/"stronger" flag points the wrong way (against theta). Figures: docs/EXAMS.md.

    .venv/bin/python bench/study_domain_diagnostics.py --track CAWM --candidates 300
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.cli.psychometrics_inputs import load_bank, load_policy  # noqa: E402
from app.psychometrics import simulation  # noqa: E402


def study(policy, pool, tau_true: float, candidates: int, seed: int) -> dict:
    rng = np.random.default_rng([seed, int(tau_true * 100)])
    names = [code for code, _ in policy.blueprint]
    labels, relative = collections.Counter(), collections.Counter()
    wrong = confident = covered = n = wrong_way = 0
    for s in range(candidates):
        theta = rng.normal()
        truth = {d: theta + rng.normal(0, tau_true) for d in names}
        result, _ = simulation.run_attempt(policy, pool, truth, s, rng)
        for d in result.domains:
            n += 1
            labels[d.label] += 1
            relative[d.relative] += 1
            covered += d.low <= truth[d.domain] <= d.high
            if d.label in ("above", "below"):
                confident += 1
                wrong += (d.label == "above") != (truth[d.domain] > policy.cut_theta)
            if d.relative in ("weaker", "stronger"):
                wrong_way += (truth[d.domain] > theta) == (d.relative == "weaker")
    return {
        "domains": n,
        "labels": {k: round(v / n, 3) for k, v in sorted(labels.items())},
        "confident_wrong": f"{wrong}/{confident}",
        "coverage_90": round(covered / n, 3),
        "relative": {k: round(v / n, 3) for k, v in sorted(relative.items())},
        "flag_wrong_way": wrong_way,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--track", default="CAWM")
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    policy, pool = load_policy(args.track), load_bank(args.track, None)
    for tau_true in (0.0, 0.5, 1.0):
        print(f"tau_true={tau_true}:", study(policy, pool, tau_true, args.candidates, args.seed))


if __name__ == "__main__":
    main()
