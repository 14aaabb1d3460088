"""Plain-function factories and drivers for exam attempts (service level and HTTP)."""

import random

from sqlmodel import Session

from app.accounts.models import Role, User
from app.exams import eligibility
from app.exams import service as exams
from app.exams.agreement import VERSION as AGREEMENT
from app.exams.models import ExamAttempt
from app.exams.ports import Ports
from app.itembank.models import ItemVersion
from tests.factories.accounts import make_user


def no_certs(session, user_id) -> set[str]:
    return set()


def make_admin(session: Session, **overrides) -> User:
    return make_user(session, role=Role.admin.value, **overrides)


def start(session: Session, user: User, clock, track: str = "CAWM", certified=no_certs, seed=None):
    return exams.start_attempt(
        session=session,
        user_id=user.id,
        track=track,
        now=clock(),
        agreement=AGREEMENT,
        ports=Ports(certified_tracks=certified),
        seed=seed,
    )


def waive(session: Session, user: User, track: str, clock, admin: User | None = None):
    admin = admin or make_admin(session)
    return eligibility.grant_waiver(
        session=session,
        actor=admin,
        user_id=user.id,
        track=track,
        reason="10 years in PMO",
        now=clock(),
    )


def key_of(session: Session, attempt_id: int) -> list[str]:
    """The key of the pending item, read server-side (tests only)."""
    attempt = session.get(ExamAttempt, attempt_id, populate_existing=True)
    return list(session.get(ItemVersion, attempt.pending_item_id).key)


def wrong_answer(session: Session, attempt_id: int) -> list[str]:
    attempt = session.get(ExamAttempt, attempt_id, populate_existing=True)
    version = session.get(ItemVersion, attempt.pending_item_id)
    letters = "ABCDE"[: len(version.options)]
    if version.type == "ordering":
        return list(reversed(version.key))
    if version.type == "multiple":
        return [x for x in letters if x not in version.key][:1] + list(version.key)
    return [next(x for x in letters if x not in version.key)]


def answer(session, user, clock, attempt_id: int, correct: bool):
    """Present the pending item and answer it right or wrong."""
    v = exams.present(session=session, user_id=user.id, attempt_id=attempt_id, now=clock())
    if v.item is None:
        return None
    letters = key_of(session, attempt_id) if correct else wrong_answer(session, attempt_id)
    return exams.submit_answer(
        session,
        exams.Answer(user.id, attempt_id, v.item.position, v.item.token, letters),
        now=clock(),
    )


def run_to_end(session, user, clock, attempt_id: int, p_correct=0.7, seed=1, minutes=0.5):
    """Answer until the attempt ends; returns the number of answers given."""
    rng = random.Random(seed)
    n = 0
    while True:
        clock.advance(minutes=minutes)
        outcome = answer(session, user, clock, attempt_id, rng.random() < p_correct)
        if outcome is None:
            return n
        n += 1
        if outcome.attempt.status != "open":
            return n
