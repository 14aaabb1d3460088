"""Closing an attempt: score the recorded responses, expire overdue attempts, notify.

Scoring reads the immutable response log (not the incremental state), so a result always
equals the engine's score of what was recorded.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.core import audit, lane, prepared
from app.core.clock import to_db
from app.core.prepared import Prepared
from app.exams import engine_bridge as bridge
from app.exams.models import ExamAttempt
from app.psychometrics import engine

log = logging.getLogger("wmi.exams")

OnExamPassed = Callable[[Session, int], None]
EXPIRED = "time_expired"


def no_op(session: Session, attempt_id: int) -> None:
    return None


_ATTEMPTS = ExamAttempt.__table__
# Core statements compiled once: finishing runs at the end of every attempt, often for many
# candidates at once (a cohort that started together, a sweep after a deadline).
_OWNER = Prepared(
    sa_select(_ATTEMPTS.c.user_id, _ATTEMPTS.c.track).where(_ATTEMPTS.c.id == bindparam("id"))
)


def open_at_step(*conditions):
    """UPDATE of the attempt w_id while it is open at step w_step (and the conditions): the form
    of every write that moves an attempt on, so of two racing requests one changes the row."""
    return _ATTEMPTS.update().where(
        _ATTEMPTS.c.id == bindparam("w_id"),
        _ATTEMPTS.c.step == bindparam("w_step"),
        _ATTEMPTS.c.status == "open",
        *conditions,
    )


_CLOSE = Prepared(
    open_at_step().values(
        status=bindparam("v_status"),
        open_slot=None,
        pending_item_id=None,
        pending_token=None,
        pending_presented_at=None,
        finished_at=bindparam("v_at"),
        end_reason=bindparam("v_reason"),
        passed=bindparam("v_passed"),
        scaled_score=bindparam("v_score"),
        result=bindparam("v_result", type_=_ATTEMPTS.c.result.type),
    )
)


def finish(
    session,
    *,
    attempt_id: int,
    step: int,
    reason: str,
    now,
    expired=False,
    owner: tuple[int, str] | None = None,
) -> engine.ExamResult | None:
    """Score the recorded responses and close the attempt (conditional on the step); the
    result, or None when another request closed it first. owner: (user id, track), when the
    caller knows them."""
    user_id, track = owner or _OWNER.execute(session, {"id": attempt_id}).one()
    policy, pool = bridge.frozen_parts(session, attempt_id)
    responses = bridge.recorded_responses(session, attempt_id)
    result = engine.score_responses(responses, policy, pool, reason)
    won = _CLOSE.execute(
        session,
        {
            "w_id": attempt_id,
            "w_step": step,
            "v_status": "expired" if expired else "finished",
            "v_at": to_db(now),
            "v_reason": reason,
            "v_passed": result.passed,
            "v_score": result.scaled_score,
            "v_result": result.to_dict(),
        },
    ).rowcount
    if not won:
        return None
    audit.record(
        session,
        action="exam.expire" if expired else "exam.finish",
        at=now,
        actor_id=user_id,
        subject=f"attempt:{attempt_id}",
        data={
            "track": track,
            "reason": reason,
            "passed": result.passed,
            "scaled_score": result.scaled_score,
            "answered": len(responses),
        },
    )
    return result


def notify(
    session: Session, attempt_id: int, on_exam_passed: OnExamPassed, *, passed: bool | None = None
) -> None:
    """Tell the layer above about a pass, after the result is committed (passed: the result's
    verdict when the caller has it; a fail needs nothing more).

    In the exam lane this runs after the lane's job, on a session of its own (issuing a
    certificate signs it, which must not hold up the other candidates' answers).
    """
    if passed is False:
        return
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
    result = finish(
        session,
        attempt_id=attempt_id,
        step=attempt.step,
        reason=EXPIRED,
        now=now,
        expired=True,
        owner=(attempt.user_id, attempt.track),
    )
    prepared.commit(session)
    if result is not None:
        notify(session, attempt_id, on_exam_passed, passed=result.passed)
    return result is not None


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
