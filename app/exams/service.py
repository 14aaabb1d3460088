"""Exam use cases: eligibility, start, and reading a candidate's attempts.

The answer loop (present, answer, choose the next item) is in app/exams/delivery.py, its
statements in app/exams/store.py; closing and expiry in app/exams/closing.py. This module also
names what code outside the exams domain calls (appeals, credentials, standards, the sweep,
the tests), so they import one module.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.core import audit, db
from app.core.clock import as_utc, to_db
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.courses.models import Track
from app.exams import agreement as candidate_agreement
from app.exams import analytics, closing, delivery, eligibility, exposure, rescoring, results
from app.exams import engine_bridge as bridge
from app.exams.errors import AgreementNeeded, NotEligible
from app.exams.models import ExamAttempt, ExamResponse
from app.exams.ports import NO_PORTS, Ports
from app.itembank import service as itembank
from app.itembank.models import ItemVersion
from app.psychometrics import engine

# Called from outside the domain (each defined in the module named).
EXPIRED = closing.EXPIRED
EXAM_PASSED = closing.EXAM_PASSED  # the job kind the credentials layer handles
passed_key = closing.passed_key
expire_overdue = closing.expire_overdue  # the sweep (app/cli/sweep.py)
present = delivery.present
Answer = delivery.Answer
submit_answer = delivery.submit_answer
answer_and_next = delivery.answer_and_next
started_view = delivery.started_view
admin_attempt = results.admin_attempt
attempt_by_id = results.attempt_by_id  # read by the credentials layer's on_exam_passed
get_attempt = results.own_attempt
AttemptLog = results.AttemptLog
final_thetas = analytics.final_thetas  # standard setting's impact data, reports
p_values = analytics.p_values
# Decisions after a result (appeals, withdrawn items): app/exams/rescoring.py
in_force = rescoring.in_force
latest_decisions = rescoring.latest_decisions
decisions = rescoring.decisions
rescore = rescoring.rescore
void = rescoring.void
attempts_that_saw = rescoring.attempts_that_saw


def history(session: Session, *, user_id: int, track: str | None = None) -> list[ExamAttempt]:
    """The user's attempts (on one track, if given), newest first."""
    query = select(ExamAttempt).where(ExamAttempt.user_id == user_id)
    if track:
        query = query.where(ExamAttempt.track == track.upper())
    return list(session.exec(query.order_by(col(ExamAttempt.started_at).desc())))


def responses_of(session: Session, attempt_id: int) -> list[ExamResponse]:
    """An attempt's response log, in order."""
    return list(
        session.exec(
            select(ExamResponse)
            .where(ExamResponse.attempt_id == attempt_id)
            .order_by(col(ExamResponse.position))
        )
    )


def eligibility_for(
    *, session: Session, user_id: int, track: str, now: datetime, ports: Ports = NO_PORTS
) -> eligibility.Eligibility:
    """Expire the user's overdue attempts first, so the rules see the true state."""
    closing.expire_for_user(session, user_id=user_id, now=now, ports=ports)
    return eligibility.check(
        session, user_id=user_id, track=track, now=now, certified_tracks=ports.certified_tracks
    )


def _seen_items(session: Session, user_id: int, track: str) -> set[int]:
    """Items (any version) this candidate met in earlier attempts of the track."""
    rows = session.exec(
        select(ItemVersion.item_id)
        .join(ExamResponse, ExamResponse.item_version_id == ItemVersion.id)
        .join(ExamAttempt, ExamAttempt.id == ExamResponse.attempt_id)
        .where(ExamAttempt.user_id == user_id, ExamAttempt.track == track)
    ).all()
    return set(rows)


@dataclass(frozen=True)
class _Start:
    """What an attempt freezes at its start: policy (with the cut in force), pool, state and
    the first item."""

    policy: dict[str, Any]
    pool_size: int
    pool_id: int
    pool_revision_id: int | None  # the revision in force, with its exposure control
    cat_policy: engine.CatPolicy
    item_pool: engine.ItemPool
    state: engine.AttemptState
    first: int | None


def _freeze(
    session: Session, row: Track, *, user_id: int, now: datetime, seed: int | None = None
) -> _Start:
    """Freeze the track's policy and the cut in force with the pool revision in force (its
    items and exposure control), store the pool, choose the first item (items this candidate
    met before are left out)."""
    parts = exposure.start_parts(session, track=row.code, now=now)  # the revision in force
    if parts is None:  # none derived yet (a new installation): the bank as is, no exposure control
        policy = exposure.attempt_policy(session, track=row.code, now=now)
        pool, cat_policy = bridge.snapshot_pool(session, track=row.code), bridge.cat_policy(policy)
    else:
        policy, pool, cat_policy = parts.policy, parts.items, parts.cat_policy
    if not pool:
        raise InvalidInput(f"The {row.code} exam has no items yet.")
    seen = _seen_items(session, user_id, row.code)
    excluded = [str(p["id"]) for p in pool if p["item"] in seen]
    pool_id, item_pool = bridge.frozen_pool(session, track=row.code, items=pool, now=now)
    seed = secrets.randbits(31) if seed is None else seed
    state = engine.start_attempt(cat_policy, item_pool, seed, excluded_ids=excluded)
    first = engine.select_next(state, cat_policy, item_pool)  # recorded with the attempt
    return _Start(
        policy={**policy, "track_version": row.version, "track_digest": row.digest},
        pool_size=len(pool),
        pool_id=pool_id,
        pool_revision_id=None if parts is None else parts.revision_id,
        cat_policy=cat_policy,
        item_pool=item_pool,
        state=state,
        first=None if first is None else int(first),
    )


def _open(
    session: Session,
    start: _Start,
    *,
    user_id: int,
    track: str,
    factor: float,
    agreement: str,
    now: datetime,
) -> ExamAttempt:
    """Add the attempt with its first item pending and its deadline; flushed. A second open
    attempt on the track (another tab a moment earlier) is refused by the open-slot key."""
    minutes = start.policy["exam"]["time_limit_minutes"] * factor
    attempt = ExamAttempt(
        user_id=user_id,
        track=track,
        status="open",
        open_slot=f"{user_id}:{track}",
        started_at=to_db(now),
        deadline_at=to_db(as_utc(now) + timedelta(minutes=minutes)),
        time_factor=factor,
        policy=start.policy,
        pool_id=start.pool_id,
        pool_revision_id=start.pool_revision_id,
        state=start.state.to_dict(),
        pending_item_id=start.first,
        pending_token=None if start.first is None else secrets.token_urlsafe(18),
        pending_presented_at=None if start.first is None else to_db(now),
        agreement=agreement,
    )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError as exc:
        db.rollback(session)
        raise NotEligible("You have an attempt in progress on this exam; resume it.") from exc
    return attempt


def start_attempt(
    *,
    session: Session,
    user_id: int,
    track: str,
    now: datetime,
    agreement: str | None,
    ports: Ports = NO_PORTS,
    seed: int | None = None,
) -> ExamAttempt:
    """Check eligibility and the candidate agreement (the version accepted), freeze policy
    and pool, start the clock (limit x the user's factor).

    seed: the attempt's random seed (its item lottery under exposure control); None, as in
    production, draws one from the operating system. A seed makes an attempt replayable for
    the same answers (tests, simulations through the service)."""
    verdict = eligibility_for(session=session, user_id=user_id, track=track, now=now, ports=ports)
    if not verdict.eligible:
        raise NotEligible(" ".join(verdict.reasons))
    if problem := candidate_agreement.refused(agreement):
        raise AgreementNeeded(problem)
    row = courses.get_track(session, track)
    start = _freeze(session, row, user_id=user_id, now=now, seed=seed)
    attempt = _open(
        session,
        start,
        user_id=user_id,
        track=row.code,
        factor=verdict.time_factor,
        agreement=agreement,
        now=now,
    )
    # the first item's stamp before the audit entry: every transaction takes shared rows
    # before the audit chain's head (docs/EXAMS.md), or a start and an answer stamping the same
    # item wait for each other (a deadlock on PostgreSQL; CI, 2026-12-07)
    if start.first is not None:
        itembank.mark_delivered(session, start.first, now)
    audit.record(
        session,
        action="exam.start",
        at=now,
        actor_id=user_id,
        subject=f"attempt:{attempt.id}",
        data={
            "track": row.code,
            "deadline": attempt.deadline_at.isoformat(),
            "time_factor": verdict.time_factor,
            "waiver": verdict.waiver,
            "pool_size": start.pool_size,
            "agreement": agreement,
        },
    )
    db.commit(session)
    bridge.remember_frozen(session, attempt.id, start.pool_id, start.cat_policy, start.item_pool)
    if start.first is not None:
        itembank.marked_committed(session, start.first)
    return attempt
