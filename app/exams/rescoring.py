"""Decisions after a result: rescore an attempt from its stored log, or void it.

The attempt row and its response log are immutable (database triggers refuse changes); a
decision is a new exam_decision row that supersedes the result, and the newest one is in force.
A rescore scores the recorded responses again with the attempt's frozen policy and pool (so
its cut and scale), leaving out withdrawn items: every exclusion made so far stays excluded.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.core import audit
from app.core.clock import to_db
from app.core.errors import Conflict
from app.exams import engine_bridge as bridge
from app.exams import store
from app.exams.models import ExamAttempt, ExamDecision, ExamResponse
from app.exams.results import attempt_by_id
from app.psychometrics import engine


@dataclass(frozen=True)
class InForce:
    """An attempt's result as it now stands: the newest decision's, else its own."""

    attempt: ExamAttempt
    decision: ExamDecision | None

    @property
    def voided(self) -> bool:
        return self.decision is not None and self.decision.kind == "void"

    @property
    def passed(self) -> bool | None:
        return self.decision.passed if self.decision is not None else self.attempt.passed

    @property
    def scaled_score(self) -> int | None:
        return (
            self.decision.scaled_score if self.decision is not None else self.attempt.scaled_score
        )


def latest_decisions(session: Session, attempt_ids: list[int]) -> dict[int, ExamDecision]:
    """The decision in force per attempt (attempts without one are left out)."""
    if not attempt_ids:
        return {}
    newest = (
        select(func.max(ExamDecision.id))
        .where(col(ExamDecision.attempt_id).in_(attempt_ids))
        .group_by(ExamDecision.attempt_id)
    )
    rows = session.exec(select(ExamDecision).where(col(ExamDecision.id).in_(newest))).all()
    return {d.attempt_id: d for d in rows}


def in_force(session: Session, attempt_id: int) -> InForce:
    attempt = attempt_by_id(session, attempt_id)
    return InForce(attempt, latest_decisions(session, [attempt_id]).get(attempt_id))


def decisions(session: Session, attempt_id: int) -> list[ExamDecision]:
    """Every decision on the attempt, oldest first."""
    query = select(ExamDecision).where(ExamDecision.attempt_id == attempt_id)
    return list(session.exec(query.order_by(ExamDecision.id)))


def voided_attempts(session: Session, *, user_id: int, track: str) -> set[int]:
    """The user's attempts on the track whose decision in force is a void (free retakes)."""
    ids = session.exec(
        select(ExamAttempt.id).where(ExamAttempt.user_id == user_id, ExamAttempt.track == track)
    ).all()
    return {a for a, d in latest_decisions(session, list(ids)).items() if d.kind == "void"}


def attempts_that_saw(session: Session, version_ids: list[int]) -> list[int]:
    """Closed attempts whose response log holds any of these item versions, oldest first."""
    if not version_ids:
        return []
    rows = session.exec(
        select(ExamResponse.attempt_id)
        .join(ExamAttempt, ExamAttempt.id == ExamResponse.attempt_id)
        .where(col(ExamResponse.item_version_id).in_(version_ids), ExamAttempt.status != "open")
        .distinct()
    ).all()
    return sorted(rows)


def _closed(session: Session, attempt_id: int) -> InForce:
    state = in_force(session, attempt_id)
    if state.attempt.status == "open":
        raise Conflict(f"Attempt {attempt_id} is still in progress; decide once it has ended.")
    if state.voided:
        raise Conflict(f"Attempt {attempt_id} has been voided; there is no result to change.")
    return state


def rescore(
    session: Session,
    *,
    attempt_id: int,
    exclude: list[int],
    reason: str,
    source: str,
    actor_id: int,
    now: datetime,
) -> ExamDecision:
    """Score the attempt's stored responses again without the excluded item versions (and
    without those excluded before). Helper: flushes and audits, the caller commits."""
    state = _closed(session, attempt_id)
    excluded = set(exclude) | set(state.decision.excluded if state.decision else ())
    policy, pool = bridge.frozen_parts(session, attempt_id)
    kept = [
        (i, ok) for i, ok in store.recorded_responses(session, attempt_id) if int(i) not in excluded
    ]
    result = engine.score_responses(kept, policy, pool, state.attempt.end_reason)
    return _decide(
        session, state, "rescore", result, sorted(excluded), reason, source, actor_id, now
    )


def void(
    session: Session, *, attempt_id: int, reason: str, source: str, actor_id: int, now: datetime
) -> ExamDecision:
    """The attempt no longer counts: no result, and the retake rules ignore it (helper)."""
    state = _closed(session, attempt_id)
    return _decide(session, state, "void", None, [], reason, source, actor_id, now)


def _decide(session, state: InForce, kind, result, excluded, reason, source, actor_id, now):
    decision = ExamDecision(
        attempt_id=state.attempt.id,
        kind=kind,
        excluded=excluded,
        reason=reason,
        source=source,
        passed=None if result is None else result.passed,
        scaled_score=None if result is None else result.scaled_score,
        result=None if result is None else result.to_dict(),
        previous_passed=state.passed,
        decided_by=actor_id,
        decided_at=to_db(now),
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        action=f"exam.{'rescored' if kind == 'rescore' else 'voided'}",
        at=now,
        actor_id=actor_id,
        subject=f"attempt:{state.attempt.id}",
        data={
            "decision": decision.id,
            "source": source,
            "passed": decision.passed,
            "previous_passed": state.passed,
            "excluded": excluded,
            "scaled_score": decision.scaled_score,
        },
    )
    return decision
