"""The first cohorts of a new bank, through the platform's services (issue 16's done-when).

Per bank draw: a fresh, migrated SQLite database with the real content; CAWM's exam pool is
replaced by a synthetic bank (tests/factories/pools.synthetic_bank) whose true parameters
(a ~ lognormal(0, 0.3), b ~ N(0, 1), c = 0.2) the platform never sees: it is told authored,
provisional ones (a = 1, b = the provisional step of a noisy author rating, as the bank files'
provisional rule, c = 0.2). Then, cohort after cohort:

1. simulated candidates, theta ~ N(0, 1), sit the exam through app.exams.service (start,
   present, submit_answer), answering by the true parameters;
2. the platform calibrates from its stored responses: a calibration run (the background job
   of app/psychops/calibration_runs.py, 3PL, minimum --min-responses per item): "free" for the
   first (every parameter provisional: the candidates set the scale), "full" after it
   (re-estimated and linked back by Stocking-Lord to the revision in force);
3. the administrator's steps through the same services as the pages: propose (the review's
   pool revision, its exposure control derived by the job) and activate;
4. the next cohort sits the new revision.

Per cohort: the live classification accuracy against the same candidates in a CAT run on the
true parameters (engine alone, the same policy), mean length, the largest exposure, and after
its calibration the RMSE of a, b, c against the truth for items with >= 300 and >= 1000
responses (with the provisional parameters' RMSE for the same items), responses per item and
the mean c. Averages over the draws at the end.

    nice -n 10 .venv/bin/python bench/first_cohorts.py --draws 3 --cohorts 1000,1000
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from app import wiring  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import make_engine, migrate  # noqa: E402
from app.courses import service as courses  # noqa: E402
from app.exams import exposure  # noqa: E402
from app.itembank import pools  # noqa: E402
from app.itembank.files import PROVISIONAL_B  # noqa: E402
from app.psychometrics import simulation  # noqa: E402
from app.psychometrics.engine_types import ItemPool  # noqa: E402
from app.psychops import calibration_review as review  # noqa: E402
from app.psychops import calibration_runs as runs  # noqa: E402
from app.psychops import monitoring  # noqa: E402
from tests.conftest import FakeClock  # noqa: E402
from tests.factories.pools import cohort, synthetic_bank  # noqa: E402

TRACK = "CAWM"


def authored(truth: ItemPool, rng: np.random.Generator, rating_sd: float) -> ItemPool:
    """What an author tells the platform: a = 1, b from a 1-5 rating of the true difficulty
    with noise (rating_sd in b units), c = 0.2 (the bank's provisional rule)."""
    rating = np.clip(np.round(truth.b + rng.normal(0.0, rating_sd, len(truth.b))) + 3, 1, 5)
    b = [PROVISIONAL_B[int(r)] for r in rating]
    n = len(truth.ids)
    return ItemPool.from_lists(list(truth.ids), [1.0] * n, b, [0.2] * n, list(truth.domain))


def _rmse(est: np.ndarray, true: np.ndarray) -> float | None:
    return None if len(est) == 0 else round(float(np.sqrt(np.mean((est - true) ** 2))), 3)


def _accuracy(passed, thetas, cut: float) -> float:
    return float(np.mean(np.asarray(passed) == (np.asarray(thetas) >= cut)))


def _true_cat(session, revision_id, truth_of, thetas, seed, now) -> float:
    """Accuracy of the same candidates in a CAT on the true parameters (same policy)."""
    parts = exposure.revision_parts(session, revision_id=revision_id, now=now)
    ids = [str(p["id"]) for p in parts.items]
    true = [truth_of[p["id"]] for p in parts.items]
    pool = ItemPool.from_lists(
        ids, [t[0] for t in true], [t[1] for t in true], [t[2] for t in true],
        [p["domain"] for p in parts.items], is_pretest=[p["pretest"] for p in parts.items],
        fact=[p.get("fact") for p in parts.items],
    )  # fmt: skip
    sim = simulation.simulate_cat(parts.cat_policy, pool, thetas, seed)
    return _accuracy(sim.passed, thetas, parts.cat_policy.cut_theta)


def _parameter_rows(session, run_id, truth_of, first) -> dict:
    """RMSE against the truth of the parameters now in force, by responses per item."""
    items = runs.items(session, run_id)
    in_force = {p["id"]: p for p in pools.active(session, track=TRACK).items}
    out: dict = {"responses_median": float(np.median([i.responses for i in items]))}
    out["responses_min"] = int(min(i.responses for i in items))
    out["items_300"] = sum(i.responses >= 300 for i in items)
    out["items_1000"] = sum(i.responses >= 1000 for i in items)
    for floor in (300, 1000):
        rows = [i for i in items if i.responses >= floor]
        now = np.array([[in_force[i.version_id][k] for k in "abc"] for i in rows]).reshape(-1, 3)
        true = np.array([truth_of[i.version_id] for i in rows]).reshape(-1, 3)
        before = np.array([first[i.version_id] for i in rows]).reshape(-1, 3)
        for k, name in enumerate("abc"):
            out[f"rmse_{name}_{floor}"] = _rmse(now[:, k], true[:, k])
        out[f"provisional_rmse_b_{floor}"] = _rmse(before[:, 1], true[:, 1])
    est_rows = [i for i in items if i.outcome == "estimated"]
    now = np.array([in_force[i.version_id]["b"] for i in est_rows])
    out["rmse_b_estimated"] = _rmse(now, np.array([truth_of[i.version_id][1] for i in est_rows]))
    out["provisional_rmse_b_estimated"] = _rmse(
        np.array([first[i.version_id][1] for i in est_rows]),
        np.array([truth_of[i.version_id][1] for i in est_rows]),
    )
    kept = [i for i in items if i.outcome == "skipped"]
    out["kept_provisional"] = len(kept)
    out["kept_unchanged"] = all(
        in_force[i.version_id]["b"] == first[i.version_id][1] for i in kept
    )  # a skipped item keeps the parameters the platform was told
    est = [in_force[i.version_id]["c"] for i in items if i.outcome == "estimated"]
    out["mean_c"] = round(float(np.mean(est)), 3) if est else None
    return out


def draw(d: int, args, settings: Settings) -> list[dict]:
    """One bank draw through every cohort; one row per cohort."""
    migrate(settings)
    engine = make_engine(settings.database_url)
    clock, seed = FakeClock(), args.seed + d
    runner = wiring.job_runner(engine, settings, clock)
    rng = np.random.default_rng([seed, 0xF1])
    rows = []
    with Session(engine, expire_on_commit=False) as session:
        courses.load_content(session=session, root=settings.content_dir, now=clock())
        weights = np.array([float(x["weight"]) for x in
                            courses.get_track(session, TRACK).policy["blueprint"]])  # fmt: skip
        domains = tuple(
            str(x["code"]) for x in courses.get_track(session, TRACK).policy["blueprint"]
        )
        truth = simulation.generate_bank(rng, args.items, domains, weights)
        told = authored(truth, rng, args.rating_sd)
        truth_of, _ = synthetic_bank(session, track=TRACK, n_items=args.items, seed=seed,
                                     now=clock(), truth=truth, authored=told)  # fmt: skip
        runner.drain()
        first = {
            p["id"]: (p["a"], p["b"], p["c"]) for p in pools.active(session, track=TRACK).items
        }
        for k, size in enumerate(args.cohorts):
            started = time.perf_counter()
            revision = pools.active_id(session, track=TRACK)
            thetas = rng.normal(0.0, 1.0, size)
            sat = cohort(session, clock, track=TRACK, thetas=thetas, truth=truth_of,
                         seed=seed * 100 + k)  # fmt: skip
            cut = exposure.revision_parts(session, revision_id=revision, now=clock())
            cut_theta = cut.cat_policy.cut_theta
            passed = [a.result["passed"] for a in sat]
            true_cat = _true_cat(session, revision, truth_of, thetas, seed + k, clock())
            live = monitoring.live_exposure(session, revision_id=revision)
            row = {
                "draw": d, "cohort": k + 1, "candidates": size, "revision": revision,
                "accuracy": round(_accuracy(passed, thetas, cut_theta), 4),
                "true_cat_accuracy": round(true_cat, 4),
                "mean_length": round(float(np.mean([a.result["n_scored"] for a in sat])), 1),
                "max_exposure": round(live.max_rate, 3),
            }  # fmt: skip
            mode = "free" if k == 0 else "full"
            run = runs.start(session, track=TRACK, model="3pl", mode=mode,
                             min_responses=args.min_responses, now=clock())  # fmt: skip
            runner.drain(kinds=(runs.JOB,))  # (the cohort's result mails wait: not studied)
            run = runs.get(session, run.id)
            row |= {"mode": mode, "run": run.id, "run_status": run.status, "error": run.error,
                    "run_seconds": run.summary.get("seconds")}  # fmt: skip
            if run.status == "done":
                review.propose(session, run.id, now=clock())
                runner.drain(kinds=(pools.DERIVE_EXPOSURE, review.REVIEW_JOB))
                review.activate(session, run.id, now=clock())
                row |= _parameter_rows(session, run.id, truth_of, first)
            row["seconds"] = round(time.perf_counter() - started, 1)
            print(row, flush=True)
            rows.append(row)
    engine.dispose()
    return rows


def settings_for(tmp: Path, args) -> Settings:
    """The platform's settings (defaults, WMI_* variables), with the study's database; the
    exposure derivation's and the review's simulation sizes only where an option gives them
    (the small test does; a study left at the defaults derives what production derives)."""
    given = {
        "exposure_examinees": args.sh_examinees, "exposure_iterations": args.sh_iterations,
        "exposure_check_examinees": args.check_examinees,
        "calibration_review_examinees": args.review_examinees,
    }  # fmt: skip
    return Settings(
        var_dir=tmp, database_url=f"sqlite:///{tmp / 'study.db'}", secret_key="x" * 48,
        job_threads=0, **{k: v for k, v in given.items() if v is not None},
    )  # fmt: skip


KEYS = ("accuracy", "true_cat_accuracy", "mean_length", "max_exposure", "responses_median",
        "items_300", "rmse_a_300", "rmse_b_300", "rmse_c_300", "provisional_rmse_b_300",
        "items_1000", "rmse_a_1000", "rmse_b_1000", "rmse_c_1000", "kept_provisional",
        "mean_c")  # fmt: skip


def averages(rows: list[dict]) -> list[dict]:
    """Per cohort: the mean of each figure over the draws that have it."""
    out = []
    for k in sorted({r["cohort"] for r in rows}):
        mine = [r for r in rows if r["cohort"] == k]
        after = sum(r["candidates"] for r in rows if r["cohort"] <= k) // len(mine)
        avg = {"cohort": k, "draws": len(mine), "after": after}
        for key in KEYS:
            vals = [r[key] for r in mine if r.get(key) is not None]
            avg[key] = round(float(np.mean(vals)), 3) if vals else None
        out.append(avg)
    return out


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--cohorts", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1000, 1000])  # fmt: skip
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--min-responses", type=int, default=200)
    parser.add_argument("--rating-sd", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--sh-examinees", type=int, default=None, help="[the platform's]")
    parser.add_argument("--sh-iterations", type=int, default=None, help="[the platform's]")
    parser.add_argument("--check-examinees", type=int, default=None, help="[the platform's]")
    parser.add_argument("--review-examinees", type=int, default=None, help="[the platform's]")
    return parser.parse_args(argv)


def main() -> None:
    args = parse()
    started = time.perf_counter()
    rows = []
    for d in range(args.draws):
        tmp = Path(tempfile.mkdtemp(prefix=f"wmi-cohorts-{d}-"))
        rows += draw(d, args, settings_for(tmp, args))
    print(f"\n{args.items} items, cohorts {args.cohorts}, {args.draws} draws, minimum "
          f"{args.min_responses}, {time.perf_counter() - started:.0f} s")  # fmt: skip
    header = ("cohort", "after", "draws", *KEYS)
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for avg in averages(rows):
        print("| " + " | ".join("–" if avg[h] is None else str(avg[h]) for h in header) + " |")


if __name__ == "__main__":
    main()
