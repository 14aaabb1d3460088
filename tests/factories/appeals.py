"""Plain-function factories and drivers for appeals."""

from datetime import timedelta

from app.credentials import service as credentials
from app.exams import service as exams
from app.exams.models import ExamAttempt
from tests.factories.exams import answer, run_to_end, start


def finished(session, user, clock, *, p_correct: float, seed: int = 1) -> ExamAttempt:
    """A closed attempt of the user on CAWM, answered right with probability p_correct."""
    attempt = start(session, user, clock)
    run_to_end(session, user, clock, attempt.id, p_correct=p_correct, seed=seed)
    return session.get(ExamAttempt, attempt.id, populate_existing=True)


def expired_after(session, user, clock, pattern: list[bool]) -> ExamAttempt:
    """An attempt whose answers follow pattern (right / wrong), then the time runs out."""
    attempt = start(session, user, clock)
    for correct in pattern:
        clock.advance(minutes=1)
        answer(session, user, clock, attempt.id, correct)
    clock.advance(minutes=200)
    exams.expire_overdue(session=session, now=clock())
    return session.get(ExamAttempt, attempt.id, populate_existing=True)


def certify(session, settings, attempt: ExamAttempt, clock):
    """What the exam's pass hook does (issue the certificate of a passed attempt)."""
    return credentials.on_exam_passed(session, attempt.id, settings=settings, now=clock())


def days(n: float) -> timedelta:
    return timedelta(days=n)
