"""Closing an attempt: score the recorded responses, expire overdue attempts, notify.

Scoring reads the immutable response log (not the incremental state), so a result always
equals the engine's score of what was recorded.
"""

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.core import audit, db, jobs, lane, webhooks
from app.core.clock import as_utc, to_db
from app.exams import engine_bridge as bridge
from app.exams import notices, store
from app.exams.models import ExamAttempt
from app.exams.ports import NO_PORTS, OnExamPassed, Ports
from app.exams.store import Live
from app.psychometrics import engine

log = logging.getLogger("wmi.exams")

EXPIRED = "time_expired"
EXAM_PASSED = "exam.passed"  # the job a passing result records; the credentials layer runs it


def passed_key(attempt_id: int) -> str:
    """The key of the one exam.passed job of an attempt."""
    return f"{EXAM_PASSED}:{attempt_id}"


def finish(
    session: Session, live: Live, *, step: int, reason: str, now: datetime, expired: bool = False
) -> engine.ExamResult | None:
    """Score the recorded responses and close the attempt (conditional on its being open at
    step); the result, or None when another request closed it first. Adds, never commits."""
    policy, pool = bridge.frozen_parts(session, live.id)
    responses = store.recorded_responses(session, live.id)
    result = engine.score_responses(responses, policy, pool, reason)
    won = store.close(
        session, attempt_id=live.id, step=step, expired=expired, reason=reason, result=result,
        cut_theta=policy.cut_theta, now=now,
        unanswered=live.pending_item_id if step == live.step else None,  # shown, never answered
    )  # fmt: skip
    if not won:
        return None
    notices.owe_result_mail(session, live.id, at=now)
    webhooks.emit(session, "exam.completed", _completed(live, result, reason, expired, now),
                  at=now, key=f"exam.completed:{live.id}")  # fmt: skip
    if result.passed:  # issuing the certificate is recorded in the result's transaction (F-01)
        payload = {
            "attempt_id": live.id,
            "user_id": live.user_id,
            "track": live.track,
            "passed_at": as_utc(now).isoformat(),
        }
        jobs.enqueue(session, EXAM_PASSED, payload, at=now, key=passed_key(live.id))
    audit.record(
        session,
        action="exam.expire" if expired else "exam.finish",
        at=now,
        actor_id=live.user_id,
        subject=f"attempt:{live.id}",
        data={
            "track": live.track,
            "reason": reason,
            "passed": result.passed,
            "scaled_score": result.scaled_score,
            "scale_version": result.scale_version,
            "cut_score": result.cut_score,
            "answered": len(responses),
        },
    )
    return result


def _completed(
    live: Live, result: engine.ExamResult, reason: str, expired: bool, now: datetime
) -> dict[str, Any]:
    """What the exam.completed webhook says (no item content, no responses)."""
    return {
        "attempt_id": live.id,
        "candidate": {"id": live.user_id},
        "track": live.track,
        "status": "expired" if expired else "finished",
        "end_reason": reason,
        "passed": result.passed,
        "scaled_score": result.scaled_score,
        "cut_score": result.cut_score,
        "scale_version": result.scale_version,
        "finished_at": as_utc(now).isoformat(),
    }


def notify(
    session: Session, attempt_id: int, on_exam_passed: OnExamPassed, *, passed: bool
) -> None:
    """Tell the layer above about a pass, after the result is committed (a fail needs nothing
    more). The pass is already recorded as an exam.passed job in the result's transaction;
    this runs it now, so the candidate sees the certificate at once, and a crash before or
    during it leaves the job to a runner.

    In the exam lane this runs after the lane's job, on a session of its own (issuing a
    certificate signs it, which must not hold up the other candidates' answers).
    """
    if not passed:
        return
    if lane.defer(session, lambda own: _notify(own, attempt_id, on_exam_passed)):
        return
    _notify(session, attempt_id, on_exam_passed)


def _notify(session: Session, attempt_id: int, on_exam_passed: OnExamPassed) -> None:
    # The layer above reads the attempt's record through this session: refresh what its
    # identity map may hold from before the result (the loop writes with Core statements).
    session.get(ExamAttempt, attempt_id, populate_existing=True)
    try:
        on_exam_passed(session, attempt_id)
    except Exception:  # the result stands; the credentials layer can catch up later
        log.exception("on_exam_passed failed for attempt %s", attempt_id)
        db.rollback(session)


def expire_one(session: Session, live: Live, *, now: datetime, ports: Ports) -> bool:
    """Close an open attempt whose time is up, scored on the answers recorded; committed.
    False when another request closed or moved it first."""
    if live.status != "open":
        return False
    result = finish(session, live, step=live.step, reason=EXPIRED, now=now, expired=True)
    db.commit(session)
    store.forget(session, live.id)
    if result is not None:
        notify(session, live.id, ports.on_exam_passed, passed=result.passed)
    return result is not None


def _expire_by_id(session: Session, attempt_id: int, *, now: datetime, ports: Ports) -> bool:
    live = store.read_live(session, attempt_id)
    return live is not None and expire_one(session, live, now=now, ports=ports)


def expire_overdue(*, session: Session, now: datetime, ports: Ports = NO_PORTS) -> int:
    """The sweep: score and close every open attempt whose deadline has passed."""
    ids = session.exec(
        select(col(ExamAttempt.id)).where(
            ExamAttempt.status == "open", col(ExamAttempt.deadline_at) <= to_db(now)
        )
    ).all()
    return sum(_expire_by_id(session, int(i), now=now, ports=ports) for i in ids if i)


def expire_for_user(session: Session, *, user_id: int, now: datetime, ports: Ports) -> None:
    """Close the user's overdue attempts (before the eligibility rules look at them)."""
    overdue = session.exec(
        select(col(ExamAttempt.id)).where(
            ExamAttempt.user_id == user_id,
            ExamAttempt.status == "open",
            col(ExamAttempt.deadline_at) <= to_db(now),
        )
    ).all()
    for attempt_id in overdue:
        _expire_by_id(session, int(attempt_id or 0), now=now, ports=ports)
