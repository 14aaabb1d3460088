"""The CAT against a sequential oracle, with every constraint and conditional exposure control.

Issue 17's reference design. Two synthetic banks of 300 items (a ~ lognormal(0, 0.3), b ~ N(0, 1);
a ~ lognormal(0.2, 0.25), b ~ U(-2.5, 2.5); c = 0.2), four domains weighted 0.4/0.3/0.2/0.1, enemy
sets of 3 items over 30% of each bank; cut 0, 95% interval rule, 10-60 items. Three designs
(four when the held oracle's aim had to move), each through the engine's own step
(engine.select_with_trace via simulation.simulate_cat), each with its own Sympson-Hetter
parameters derived by simulation.derive_exposure for the platform's exposure design (DESIGN =
app.exams.exposure.design_of(Settings()): the object pool revisions are derived for in
production; caps 0.25 overall and 0.30 per band of width 0.5 inside [-2, 2], aimed at 0.24 and
0.22, the CAT's K apart for its first 6 scored items and the rest, 2,000 x 12 simulated
candidates ramped up from 500; a test asserts it):

- cat: selection at the EAP estimate; K per band of the estimate and stage of the attempt;
- oracle, band cap: selection by the information between the cut and the TRUE theta
  (simulation.oracle_score), stopping on the responses only; derived for the same caps and
  aims (which does not keep it within the band cap: next row), its K applied at
  the band of its true theta (an oracle knows where the candidate is: applied at the
  estimate's band, as the first full-size run did, the oracle was not held to the band cap);
- oracle, held to the band cap: the aim alone does not hold the oracle: at the design's band
  aim its own band maxima exceed the cap (0.31 to 0.34 on the first bank), so held_oracle lowers
  its band aim by 0.01 until a calibration run of fresh candidates keeps every judged band within
  the cap (the row appears when the aim had to move); the CAT runs at the platform's design,
  untuned;
- oracle, overall cap: the same oracle held to the overall cap only.

Each response draw uses fresh candidates theta ~ N(0, 1), the same for every design. Printed
per bank: accuracy, mean length, maximum exposure overall and per band of true theta of width 0.5
holding at least 200 candidates (per draw, and over the candidates of every draw together),
constraint violations (quotas at every length from min to the
attempt's length, facts at most once), per band of true theta (finer near the cut) each
design's share misclassified and mean length over every draw, and the accuracy difference
cat - oracle with its standard error over the draws, against each oracle.

    OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_sequential_oracle.py \
        [--examinees 5000] [--draws 5] [--bank 0|1]

--aim, --band-aim, --stage-at, --sh-examinees and --sh-iterations replace the design's values
for experiments; the output then says that it is not the platform's design. --derive-seed N
draws the derivations' simulation (of the CAT and every oracle) from another seed: the same
design, another draw of its K.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.core.config import Settings  # noqa: E402
from app.exams.exposure import design_of  # noqa: E402
from app.psychometrics import constraints, engine, simulation  # noqa: E402

DOMAINS = ("D1", "D2", "D3", "D4")
WEIGHTS = np.array([0.4, 0.3, 0.2, 0.1])
BANKS = {
    "a~LN(0,0.3), b~N(0,1)": dict(a_sdlog=0.3),
    "a~LN(0.2,0.25), b~U(-2.5,2.5)": dict(a_meanlog=0.2, a_sdlog=0.25, b_halfwidth=2.5),
}
DESIGN = design_of(Settings())  # the platform's exposure design
EDGES = DESIGN.band_edges  # exposure is judged per band of true theta
MIN_BAND = 200  # bands holding fewer candidates are not judged


def policy() -> engine.CatPolicy:
    """The policy of every design (exposure parameters added per design)."""
    return engine.CatPolicy(
        min_items=10,
        max_items=60,
        cut_theta=0.0,
        ci_level=0.95,
        blueprint=dict(zip(DOMAINS, WEIGHTS.tolist(), strict=True)),
        fact_limit=1,
    )


def violations(run: simulation.CatRun, pool: engine.ItemPool, pol: engine.CatPolicy) -> int:
    """Attempts that break a constraint: a repeated fact, or domain counts outside the quotas
    at some length from min_items to the attempt's length (vectorised over lengths)."""
    code = np.array([DOMAINS.index(d) for d in pool.domain])
    lo = np.array([constraints.quota(WEIGHTS, m)[0] for m in range(pol.max_items + 1)])
    hi = np.array([constraints.quota(WEIGHTS, m)[1] for m in range(pol.max_items + 1)])
    bad = 0
    for items in run.items:
        facts = [pool.fact[j] for j in items if pool.fact[j] is not None]
        counts = np.cumsum(np.eye(len(DOMAINS), dtype=int)[code[items]], axis=0)  # (L, D)
        m = np.arange(1, len(items) + 1)
        keep = m >= pol.min_items
        outside = (counts[keep] < lo[m[keep]]) | (counts[keep] > hi[m[keep]])
        bad += bool(outside.any()) or len(set(facts)) != len(facts) or len(items) < pol.min_items
    return bad


def usage(run: simulation.CatRun, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, N) administrations per band of true theta, and (B,) candidates per band."""
    use = np.zeros((len(EDGES) + 1, n_items))
    band = np.searchsorted(np.array(EDGES), run.theta_true, side="right")
    for b, items in zip(band, run.items, strict=True):
        use[b, items] += 1
    return use, np.bincount(band, minlength=len(EDGES) + 1)


def exposure(use: np.ndarray, n_b: np.ndarray) -> tuple[float, float, int, str]:
    """(max exposure overall, max over the bands of true theta of width 0.5 (between the
    edges; the open-ended bands below -2 and above 2 are not) holding >= MIN_BAND, bands
    counted, where that band maximum lies: the band and its candidates)."""
    inner = np.zeros(len(n_b), dtype=bool)
    inner[1:-1] = True
    held = np.flatnonzero((n_b >= MIN_BAND) & inner)
    if not len(held):
        return float(use.sum(axis=0).max() / n_b.sum()), 0.0, 0, "-"
    per_band = use[held].max(axis=1) / n_b[held]
    top = held[int(per_band.argmax())]
    bounds = (-np.inf, *EDGES, np.inf)
    where = f"[{bounds[top]}, {bounds[top + 1]}) of {int(n_b[top])}"
    return float(use.sum(axis=0).max() / n_b.sum()), float(per_band.max()), len(held), where


BREAKDOWN = (-np.inf, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, np.inf)  # true theta


def breakdown(run: simulation.CatRun, cut: float = 0.0) -> np.ndarray:
    """(3, len(BREAKDOWN) - 1): candidates, misclassified candidates and items taken, per
    band of true theta (finer near the cut): where a design loses accuracy and length."""
    band = np.searchsorted(np.array(BREAKDOWN), run.theta_true, side="right") - 1
    wrong = run.passed != (run.theta_true >= cut)
    n = len(BREAKDOWN) - 1
    return np.stack([
        np.bincount(band, minlength=n),
        np.bincount(band, weights=wrong, minlength=n),
        np.bincount(band, weights=run.length, minlength=n),
    ])  # fmt: skip


def breakdown_table(name: str, sums: dict[str, np.ndarray]) -> str:
    """Per band of true theta: candidates, then each design's % misclassified and mean length."""
    lines = [f"{name}: per band of true theta | candidates | "
             + " | ".join(f"{label}: % wrong, mean length" for label in sums)]  # fmt: skip
    first = next(iter(sums.values()))
    for j in range(len(BREAKDOWN) - 1):
        cells = " | ".join(f"{100 * s[1, j] / max(s[0, j], 1):.1f}, {s[2, j] / max(s[0, j], 1):.1f}"
                           for s in sums.values())  # fmt: skip
        lines.append(f"[{BREAKDOWN[j]}, {BREAKDOWN[j + 1]}) | {int(first[0, j])} | {cells}")
    return "\n".join(lines)


def derive(pool, rng, design, *, oracle: bool) -> engine.CatPolicy:
    control = simulation.derive_exposure(design, policy(), pool, rng, oracle=oracle)
    return replace(policy(), sh_exposure=control)


HELD_STEP, HELD_STEPS = 0.01, 4  # the held oracle's band aim: lowered by 0.01, at most 4 times


def held_oracle(
    pool, design, first: engine.CatPolicy, *, seed: int, bank: int, examinees: int,
    draw: tuple[int, ...] = (),
):  # fmt: skip
    """The oracle held to the band cap in effect, not only in its aim: from the design's band
    aim (its policy `first`, already derived), lower the oracle's band aim by HELD_STEP until
    a calibration run (examinees fresh candidates, apart from the judged draws) keeps every
    judged band within design.band_cap and the overall rate within design.cap. Returns (the
    policy, its band aim, the trail of (aim, overall max, band max) tried). The CAT is not
    tuned so: it runs at the platform's design."""
    thetas = np.random.default_rng([seed, bank, 0xCA1]).normal(0, 1, examinees)
    aim, pol, trail = design.band_aim, first, []
    for step in range(HELD_STEPS + 1):
        if step:
            aim = round(aim - HELD_STEP, 4)
            rng = np.random.default_rng([seed, bank, 0x0A, step, *draw])
            pol = derive(pool, rng, replace(design, band_aim=aim), oracle=True)
        run = simulation.simulate_cat(pol, pool, thetas, seed=7000 + 100 * bank + step, oracle=True)
        overall, band_max, _, _ = exposure(*usage(run, len(pool.ids)))
        trail.append((aim, overall, band_max))
        if band_max <= design.band_cap and overall <= design.cap:
            break
    return pol, aim, trail


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examinees", type=int, default=5000)
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--sh-examinees", type=int, default=DESIGN.examinees)
    ap.add_argument("--sh-iterations", type=int, default=DESIGN.iterations)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--bank", type=int, choices=(0, 1), default=None, help="only this bank")
    ap.add_argument("--aim", type=float, default=DESIGN.aim, help="K's overall aim")
    ap.add_argument("--band-aim", type=float, default=DESIGN.band_aim, help="K's band aim")
    ap.add_argument("--stage-at", type=int, default=DESIGN.stage_at, help="the CAT's K stages")
    ap.add_argument("--derive-seed", type=int, default=0, help="another draw of the derivations")
    args = ap.parse_args()
    design = replace(DESIGN, aim=args.aim, band_aim=args.band_aim, examinees=args.sh_examinees,
                     iterations=args.sh_iterations, stage_at=args.stage_at)  # fmt: skip
    print(f"# {vars(args)}; {design}" + ("" if design == DESIGN else
          f"; NOT the platform's design {DESIGN}"), flush=True)  # fmt: skip
    for b, (name, spec) in enumerate(BANKS.items()):
        if args.bank is not None and b != args.bank:
            continue
        t0 = time.perf_counter()
        bank_rng = np.random.default_rng([args.seed, b])
        pool = simulation.generate_bank(bank_rng, 300, DOMAINS, WEIGHTS, enemy_share=0.3, **spec)
        assert engine.pool_problems(policy(), pool) == []
        draw = (args.derive_seed,) if args.derive_seed else ()  # the derivations' draw
        sh_rng = np.random.default_rng([args.seed, b, 0x5E, *draw])
        designs = {
            "cat": (derive(pool, sh_rng, design, oracle=False), False),
            "oracle, band cap": (derive(pool, sh_rng, design, oracle=True), True),
            "oracle, overall cap": (
                derive(pool, sh_rng, design.unconditional(), oracle=True),
                True,
            ),
        }
        print(f"## {name}: exposure parameters in {time.perf_counter() - t0:.0f} s", flush=True)
        if design.conditional:
            held, aim, trail = held_oracle(
                pool, design, designs["oracle, band cap"][0], seed=args.seed, bank=b,
                examinees=args.examinees, draw=draw,
            )  # fmt: skip
            tried = "; ".join(f"aim {a:.2f}: max {o:.3f}, band max {m:.3f}" for a, o, m in trail)
            held_in = trail[-1][2] <= design.band_cap and trail[-1][1] <= design.cap
            verdict = "held to" if held_in else "NOT held to"
            print(f"## {name}: oracle {verdict} the band cap at band aim {aim:.2f} ({tried}; "
                  f"{time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
            if aim != design.band_aim:
                designs["oracle, held to the band cap"] = (held, True)
        acc = {k: [] for k in designs}
        pooled = {k: [0.0, 0] for k in designs}  # exposure over every draw's candidates
        sums = {k: 0 for k in designs}  # breakdown over every draw's candidates
        for d in range(args.draws):
            thetas = np.random.default_rng([args.seed, b, d, 0x7E]).normal(0, 1, args.examinees)
            for label, (pol, oracle) in designs.items():
                run = simulation.simulate_cat(pol, pool, thetas, seed=1000 * b + d, oracle=oracle)
                accuracy = float(np.mean(run.passed == (thetas >= 0.0)))
                use, n_b = usage(run, len(pool.ids))
                overall, band_max, n_bands, where = exposure(use, n_b)
                pooled[label][0] += use
                pooled[label][1] += n_b
                acc[label].append(accuracy)
                sums[label] = sums[label] + breakdown(run)
                print(
                    f"draw {d} | {label} | accuracy {accuracy:.4f} | mean length "
                    f"{run.length.mean():.1f} | max exposure {overall:.3f} | band max "
                    f"{band_max:.3f} ({n_bands} bands >= {MIN_BAND}; in {where}) | violations "
                    f"{violations(run, pool, pol)}",
                    flush=True,
                )
        for label, (use, n_b) in pooled.items():
            overall, band_max, n_bands, where = exposure(use, n_b)
            print(
                f"{name}: {label} over all {int(n_b.sum())} candidates: accuracy "
                f"{np.mean(acc[label]):.4f} | max exposure {overall:.3f} | band max {band_max:.3f} "
                f"({n_bands} bands >= {MIN_BAND}; in {where})",
                flush=True,
            )
        print(breakdown_table(name, sums), flush=True)
        for ref in (r for r in designs if r != "cat"):
            diff = np.array(acc["cat"]) - np.array(acc[ref])
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            print(
                f"{name}: cat - {ref} = {100 * diff.mean():+.2f} point "
                f"(SE {100 * se:.2f}, {len(diff)} draws)",
                flush=True,
            )
        print(f"## {name}: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
