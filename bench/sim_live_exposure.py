"""Live delivery's exposure, measured through the exam service (issue 16's done-when).

A 300-item synthetic 3PL bank (simulation.generate_bank over CAWM's blueprint) is loaded into
a fresh, migrated SQLite database as CAWM's exam pool; the bank load's pool revision gets its
Sympson-Hetter parameters from the derivation job with the platform's own settings (the
Settings production builds, WMI_EXPOSURE_*: `bench_settings`, asserted by
tests/exams/test_exposure.py); then N simulated candidates, theta ~ N(0, 1), sit the exam one
after another through app.exams.service (start, present, submit_answer: the code that serves
candidates), and the maximum exposure is read back by app.psychops.monitoring.live_exposure
from the stored attempts (the figure the Item pools page shows) and checked against the
bench's own count.

Baseline in the same run: the same candidates with no revision in force (the delivery of
main before issue 16: randomesque 5, no Sympson-Hetter). Ratio = max exposure with / without.

    nice -n 10 .venv/bin/python bench/sim_live_exposure.py --candidates 2000
    (--baseline-candidates 500: the baseline is far from the target, fewer candidates suffice)
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from app import wiring  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import make_engine, migrate  # noqa: E402
from app.courses import service as courses  # noqa: E402
from app.exams import exposure  # noqa: E402
from app.exams.models import ExamResponse  # noqa: E402
from app.itembank import pools  # noqa: E402
from app.itembank.models import TrackPool  # noqa: E402
from app.psychops import monitoring  # noqa: E402
from tests.conftest import FakeClock  # noqa: E402
from tests.factories.pools import cohort, synthetic_bank  # noqa: E402


def counted_max(session, attempts, truth) -> float:
    """The bench's own count: the largest share of attempts that were given one item."""
    index = {v: j for j, v in enumerate(truth)}
    counts = np.zeros(len(truth))
    for a in attempts:
        rows = session.exec(
            select(ExamResponse.item_version_id).where(ExamResponse.attempt_id == a.id)
        ).all()
        counts[[index[v] for v in set(rows)]] += 1
    return float(counts.max() / len(attempts))


def bench_settings(tmp: Path) -> Settings:
    """The settings production builds (Settings(): its defaults, WMI_* variables and .env, the
    exposure derivation's WMI_EXPOSURE_* included), with only the database, the var directory,
    the secret and the job threads (the bench drains the jobs itself) replaced."""
    return Settings(var_dir=tmp, database_url=f"sqlite:///{tmp / 'bench.db'}",
                    secret_key="x" * 48, job_threads=0)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--baseline-candidates", type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wmi-live-exposure-"))
    settings = bench_settings(tmp)
    migrate(settings)
    engine = make_engine(settings.database_url)
    clock = FakeClock()
    with Session(engine, expire_on_commit=False) as session:
        courses.load_content(session=session, root=settings.content_dir, now=clock())
        truth, revision = synthetic_bank(
            session, track="CAWM", n_items=args.items, seed=args.seed, now=clock()
        )
    started = time.perf_counter()
    wiring.job_runner(engine, settings, clock).drain(kinds=(pools.DERIVE_EXPOSURE,))
    derive_s = time.perf_counter() - started
    thetas = np.random.default_rng([args.seed, 0x7E]).normal(0.0, 1.0, args.candidates)
    with Session(engine, expire_on_commit=False) as session:
        assert pools.active_id(session, track="CAWM") == revision.id
        report = pools.get(session, revision.id).exposure_report
        started = time.perf_counter()
        sat = cohort(session, clock, track="CAWM", thetas=thetas, truth=truth, seed=args.seed)
        live_s = time.perf_counter() - started
        live = monitoring.live_exposure(session, revision_id=revision.id)
        own = counted_max(session, sat, truth)
        session.delete(session.get(TrackPool, "CAWM"))  # baseline: no revision in force
        session.commit()
        bare = cohort(session, clock, track="CAWM", thetas=thetas[: args.baseline_candidates],
                      truth=truth, seed=args.seed)  # fmt: skip
        bare_max = counted_max(session, bare, truth)
        lengths = [a.step for a in sat]
    print(f"bank {args.items} synthetic items, {args.candidates} candidates through the exam "
          f"service, target {settings.exposure_target}")  # fmt: skip
    print(f"derivation (the platform's settings): {exposure.design_of(settings)}, "
          f"{derive_s:.0f} s; its check run ({settings.exposure_check_examinees} candidates): "
          f"max exposure {report['max_exposure']:.3f}, {report['over_target']} over, largest "
          f"within a band of true theta {report['band_max_exposure']} "
          f"({report['bands_judged']} bands of 200+)")  # fmt: skip
    print(f"live, with the revision's exposure control: max exposure {live.max_rate:.3f} "
          f"(monitoring) = {own:.3f} (own count); {live.over_target} items over the target; "
          f"mean length {np.mean(lengths):.1f}; {live_s:.0f} s")  # fmt: skip
    print(f"baseline, the first {len(bare)} of the same candidates with no exposure control "
          f"(randomesque 5 only): max exposure {bare_max:.3f}")  # fmt: skip
    print(f"ratio with / without: {live.max_rate / bare_max:.2f}")
    print(f"by band: {live.by_band}")
    engine.dispose()


if __name__ == "__main__":
    main()
