"""Closing an attempt: score the recorded responses, expire overdue attempts, notify.

Scoring reads the immutable response log (not the incremental state), so a result always
equals the engine's score of what was recorded.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from app.core import audit, lane
from app.core.clock import to_db
from app.exams import engine_bridge as bridge
from app.exams.models import ExamAttempt
from app.psychometrics import engine

log = logging.getLogger("wmi.exams")

OnExamPassed = Callable[[Session, int], None]
EXPIRED = "time_expired"


def no_op(session: Session, attempt_id: int) -> None:
    return None


def finish(session, *, attempt_id: int, step: int, reason: str, now, expired=False) -> bool:
    """Score the recorded responses and close the attempt (conditional on the step)."""
    attempt = session.get(ExamAttempt, attempt_id, populate_existing=True)
    frozen = bridge.thaw(session, attempt.id, attempt.state)
    responses = bridge.recorded_responses(session, attempt_id)
    result = engine.score_responses(responses, frozen.policy, frozen.pool, reason)
    status = "expired" if expired else "finished"
    won = session.execute(
        update(ExamAttempt)
        .where(ExamAttempt.id == attempt_id, ExamAttempt.step == step, ExamAttempt.status == "open")
        .values(
            status=status,
            open_slot=None,
            pending_item_id=None,
            pending_token=None,
            pending_presented_at=None,
            finished_at=to_db(now),
            end_reason=reason,
            passed=result.passed,
            scaled_score=result.scaled_score,
            result=result.to_dict(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        audit.record(
            session,
            action="exam.expire" if expired else "exam.finish",
            at=now,
            actor_id=attempt.user_id,
            subject=f"attempt:{attempt_id}",
            data={
                "track": attempt.track,
                "reason": reason,
                "passed": result.passed,
                "scaled_score": result.scaled_score,
                "answered": len(responses),
            },
        )
    return bool(won)


def notify(session: Session, attempt_id: int, on_exam_passed: OnExamPassed) -> None:
    """Tell the layer above about a pass, after the result is committed.

    In the exam lane this runs after the lane's job, on a session of its own (issuing a
    certificate signs it, which must not hold up the other candidates' answers).
    """
    if lane.defer(session, lambda own: _notify(own, attempt_id, on_exam_passed)):
        return
    _notify(session, attempt_id, on_exam_passed)


def _notify(session: Session, attempt_id: int, on_exam_passed: OnExamPassed) -> None:
    attempt = session.get(ExamAttempt, attempt_id, populate_existing=True)
    if attempt is None or not attempt.passed:
        return
    try:
        on_exam_passed(session, attempt_id)
    except Exception:  # the result stands; the credentials layer can catch up later
        log.exception("on_exam_passed failed for attempt %s", attempt_id)
        session.rollback()


def expire_one(session, *, attempt_id: int, now, on_exam_passed) -> bool:
    attempt = session.get(ExamAttempt, attempt_id, populate_existing=True)
    if attempt is None or attempt.status != "open":
        return False
    won = finish(
        session, attempt_id=attempt_id, step=attempt.step, reason=EXPIRED, now=now, expired=True
    )
    session.commit()
    if won:
        notify(session, attempt_id, on_exam_passed)
    return won


def expire_overdue(*, session: Session, now: datetime, on_exam_passed: OnExamPassed = no_op) -> int:
    """The sweep: score and close every open attempt whose deadline has passed."""
    ids = session.exec(
        select(ExamAttempt.id).where(
            ExamAttempt.status == "open", ExamAttempt.deadline_at <= to_db(now)
        )
    ).all()
    return sum(
        expire_one(session, attempt_id=i, now=now, on_exam_passed=on_exam_passed) for i in ids
    )


def expire_for_user(session, *, user_id, now, on_exam_passed) -> None:
    overdue = session.exec(
        select(ExamAttempt.id).where(
            ExamAttempt.user_id == user_id,
            ExamAttempt.status == "open",
            ExamAttempt.deadline_at <= to_db(now),
        )
    ).all()
    for attempt_id in overdue:
        expire_one(session, attempt_id=attempt_id, now=now, on_exam_passed=on_exam_passed)
