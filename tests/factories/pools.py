"""Synthetic banks in the database and simulated candidates who sit exams through the exam
service (tests and bench/sim_live_exposure.py, bench/study_first_cohorts.py)."""

import numpy as np
from sqlmodel import Session, select

from app.core.clock import to_db
from app.courses import service as courses
from app.exams import service as exams
from app.exams.models import ExamAttempt
from app.itembank import pools
from app.itembank.models import Item, ItemVersion
from app.psychometrics import irt, simulation
from tests.factories import exams as exam_factory
from tests.factories.accounts import make_user

OPTIONS = [{"text": f"Option {x}", "rationale": f"Rationale {x}."} for x in "ABCD"]


def synthetic_bank(
    session: Session,
    *,
    track: str,
    n_items: int,
    seed: int,
    now,
    truth: simulation.ItemPool | None = None,
    authored: simulation.ItemPool | None = None,
) -> tuple[dict[int, tuple[float, float, float]], pools.PoolRevision]:
    """Replace the track's exam pool by n_items synthetic single-choice items (key A).

    truth: the parameters candidates answer by (default: simulation.generate_bank over the
    track's blueprint); authored: the parameters the platform is told (default: the truth).
    Every other exam and pretest item of the track is retired. Returns (version id -> true
    (a, b, c), the new pool revision, its derivation queued). Commits.
    """
    row = courses.get_track(session, track)
    weights = np.array([float(d["weight"]) for d in row.policy["blueprint"]])
    domains = tuple(str(d["code"]) for d in row.policy["blueprint"])
    truth = truth or simulation.generate_bank(
        np.random.default_rng([seed, 0xBA]), n_items, domains, weights
    )
    authored = authored or truth
    for item in session.exec(select(Item).where(Item.track == track)).all():
        if item.status in ("operational", "pretest"):
            item.status = "retired"
            session.add(item)
    true_of: dict[int, tuple[float, float, float]] = {}
    for j in range(len(truth.ids)):
        item = Item(code=f"S{seed % 1000}-{j:04d}", track=track, pool="exam",
                    domain=truth.domain[j], module="SIM", status="operational")  # fmt: skip
        session.add(item)
        session.flush()
        version = ItemVersion(
            item_id=item.id, version=1, digest=f"sim-{seed}-{j}", type="single",
            level="understand", fact=f"sim-{seed}-{j}", stem=f"Synthetic question {j}?",
            options=OPTIONS, key=["A"], sources=[], difficulty=3,
            a=float(authored.a[j]), b=float(authored.b[j]), c=float(authored.c[j]),
            provisional=True, created_at=to_db(now),
        )  # fmt: skip
        session.add(version)
        session.flush()
        item.current_version_id = version.id
        true_of[version.id] = (float(truth.a[j]), float(truth.b[j]), float(truth.c[j]))
    session.flush()
    (revision,) = [r for r in pools.record_bank_revisions(session, now=now) if r.track == track]
    session.commit()
    return true_of, revision


def sit(session, user, clock, *, track: str, theta: float, truth: dict, rng) -> ExamAttempt:
    """One candidate of true ability theta sits the exam through the exam service, answering
    each item right with probability P(theta) under the item's true parameters."""
    attempt = exam_factory.start(session, user, clock, track)
    while True:
        clock.advance(seconds=40)
        view = exams.present(session=session, user_id=user.id, attempt_id=attempt.id,
                             now=clock())  # fmt: skip
        if view.item is None:
            break
        pending = session.get(ExamAttempt, attempt.id, populate_existing=True).pending_item_id
        a, b, c = truth[pending]
        p = float(irt.probability(theta, np.array([a]), np.array([b]), np.array([c]))[0])
        letters = ["A"] if rng.random() < p else ["B"]
        outcome = exams.submit_answer(
            session, exams.Answer(user.id, attempt.id, view.item.position, view.item.token,
                                  letters),
            now=clock(),
        )  # fmt: skip
        if outcome.attempt.status != "open":
            break
    return session.get(ExamAttempt, attempt.id, populate_existing=True)


def cohort(session, clock, *, track: str, thetas, truth: dict, seed: int) -> list[ExamAttempt]:
    """One new candidate per true theta sits the exam, one after another."""
    rng = np.random.default_rng([seed, 0xC0])
    return [
        sit(session, make_user(session), clock, track=track, theta=float(t), truth=truth, rng=rng)
        for t in thetas
    ]
