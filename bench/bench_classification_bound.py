"""Classification bound of issue 3: an oracle that knows theta vs the fixed 60-item forms.

Same bank and candidates as `python -m app.cli_psychometrics simulate --track CAWM
--synthetic 300 --seed S` (bank from default_rng([S, 0xBA]), thetas from default_rng([S, 0x7E])).
Every design answers with the same random numbers (U_ei per candidate and item), so the
differences between rows are not sampling noise of the responses.

    .venv/bin/python bench/bench_classification_bound.py [--seeds 1,2,3] [--mean-items 30,34]

Rows: the fixed 60-item form by information at the cut (no blueprint) and the one assembled to
the blueprint; the oracle allocation (app/psychometrics/bounds.py) with the exposure cap 0.25
and 10 to 60 items each, without and with a mean length of at most 30, and without the cap
(a check: it must match or beat the fixed form). "normal approx." is the expected accuracy
mean Phi(|theta - cut| sqrt(J)) the oracle maximises (J: information averaged between the cut
and theta, see bounds.py); "bound" its certified upper bound;
"simulated" the share classified correctly by the EAP from simulated responses.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy.stats import norm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import cli_psychometrics  # noqa: E402
from app.psychometrics import bounds, metrics, simulation  # noqa: E402


def _fixed_row(name, form, pool, thetas, grid, u, code, weights, cut):
    items = [form] * len(thetas)
    hat = bounds.eap_of_item_sets(items, thetas, pool.a, pool.b, pool.c, grid, u)
    info = bounds.interval_information(thetas, cut, pool.a[form], pool.b[form], pool.c[form])
    info = info.sum(1)
    approx = float(np.mean(norm.cdf(np.abs(thetas - cut) * np.sqrt(info))))
    dev = metrics.blueprint_deviation([form], code, weights)["mean_abs_deviation"]
    acc = metrics.classification(thetas, hat >= cut, cut)["accuracy"]
    return name, approx, None, acc, 60.0, 1.0, 100 * dev


def _oracle_row(name, pool, thetas, grid, u, code, weights, cut, r_max, mean_items):
    res = bounds.oracle_allocation(
        thetas, pool.a, pool.b, pool.c, cut, 60, r_max, mean_items=mean_items, min_items=10
    )
    hat = bounds.eap_of_item_sets(res.items, thetas, pool.a, pool.b, pool.c, grid, u)
    acc = metrics.classification(thetas, hat >= cut, cut)["accuracy"]
    dev = metrics.blueprint_deviation(res.items, code, weights)["mean_abs_deviation"]
    return name, res.relaxed, res.bound, acc, res.mean_items, res.max_exposure, 100 * dev


def run(seed: int, examinees: int, mean_lengths: list[float]) -> list[tuple]:
    policy = cli_psychometrics.load_policy("CAWM")
    pool = cli_psychometrics._simulation_pool(policy, "CAWM", None, 300, 1.0, seed)
    thetas = np.random.default_rng([seed, 0x7E]).normal(0.0, 1.0, examinees)
    u = np.random.default_rng([seed, 0xC0]).random((examinees, len(pool.ids)))
    grid, cut = policy.grid(), policy.cut_theta
    code = cli_psychometrics._domain_codes(pool, policy)
    weights = np.array([w for _, w in policy.blueprint])
    common = (pool, thetas, grid, u, code, weights, cut)
    info_form = simulation.best_fixed_form(pool, 60, cut)
    bp_form = simulation.blueprint_fixed_form(pool, 60, cut, policy.blueprint)
    rows = [
        _fixed_row("fixed 60, information only", info_form, *common),
        _fixed_row("fixed 60, to the blueprint", bp_form, *common),
        _oracle_row("oracle, cap 0.25, 10-60 items", *common, 0.25, None),
    ]
    for length in mean_lengths:
        name = f"oracle, cap 0.25, 10-60 items, mean <= {length:g}"
        rows.append(_oracle_row(name, *common, 0.25, length))
    rows.append(_oracle_row("oracle, no cap, 10-60 items, mean <= 30", *common, 1.0, 30.0))
    rows.append(_oracle_row("oracle, no cap, 10-60 items (check)", *common, 1.0, None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--examinees", type=int, default=5000)
    parser.add_argument("--mean-items", default="30", help="mean-length caps, e.g. 30,34")
    args = parser.parse_args()
    print("| seed | design | normal approx. | bound | simulated accuracy | mean length "
          "| max exposure | blueprint dev pp |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    lengths = [float(x) for x in args.mean_items.split(",")]
    for seed in (int(s) for s in args.seeds.split(",")):
        for name, approx, bound, acc, length, expo, dev in run(seed, args.examinees, lengths):
            b = "-" if bound is None else f"{bound:.4f}"
            print(f"| {seed} | {name} | {approx:.4f} | {b} | {acc:.4f} | {length:.1f} "
                  f"| {expo:.3f} | {dev:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
