"""Exam use cases: start, present, answer, expire, finish and read attempts.

Every write that moves an attempt on is a conditional UPDATE on (id, step) or on the pending
item, so concurrent requests on one attempt (two tabs, retries, many workers) serialise on
the attempt row and only one of them wins, on SQLite and PostgreSQL alike.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit
from app.core.clock import as_utc, to_db
from app.core.errors import InvalidInput, NotFound
from app.courses import service as courses
from app.exams import closing, eligibility, results
from app.exams import engine_bridge as bridge
from app.exams.errors import AttemptClosed, NotEligible, StaleItem
from app.exams.models import ExamAttempt, ExamResponse
from app.itembank.files import LETTERS
from app.itembank.models import ItemVersion
from app.psychometrics import engine

WARNING_MARKS = (60, 300, 600)  # seconds: the 1, 5 and 10 minute warnings
EXPIRED = closing.EXPIRED
OnExamPassed = closing.OnExamPassed
_no_op = closing.no_op
expire_overdue = closing.expire_overdue  # the sweep (app/cli.py run_sweep)
admin_attempt = results.admin_attempt  # read by the credentials layer's on_exam_passed
admin_attempts = results.admin_attempts
domain_results = results.domain_results


# ---------------------------------------------------------------- reading


def get_attempt(session: Session, *, user: User, attempt_id: int) -> ExamAttempt:
    """The user's own attempt; anyone else's is reported as not existing."""
    attempt = session.exec(
        select(ExamAttempt).where(ExamAttempt.id == attempt_id).options(defer(ExamAttempt.pool))
    ).first()
    if attempt is None or attempt.user_id != user.id:
        raise NotFound("There is no such exam attempt.")
    return attempt


def history(session: Session, *, user: User, track: str | None = None) -> list[ExamAttempt]:
    query = select(ExamAttempt).where(ExamAttempt.user_id == user.id)
    if track:
        query = query.where(ExamAttempt.track == track.upper())
    return list(session.exec(query.order_by(ExamAttempt.started_at.desc())))


def responses_of(session: Session, attempt_id: int) -> list[ExamResponse]:
    return list(
        session.exec(
            select(ExamResponse)
            .where(ExamResponse.attempt_id == attempt_id)
            .order_by(ExamResponse.position)
        )
    )


def seconds_left(attempt: ExamAttempt, now: datetime) -> int:
    return max(0, int((as_utc(attempt.deadline_at) - as_utc(now)).total_seconds()))


def time_warning(left: int) -> str | None:
    """The 10, 5 and 1 minute warnings, in words."""
    for mark in WARNING_MARKS:
        if left <= mark:
            minutes = mark // 60
            return f"Less than {minutes} minute{'s' if minutes > 1 else ''} left."
    return None


# ---------------------------------------------------------------- eligibility


def eligibility_for(
    *,
    session: Session,
    user: User,
    track: str,
    now: datetime,
    certified_tracks: eligibility.CertifiedTracks,
    on_exam_passed: OnExamPassed = _no_op,
) -> eligibility.Eligibility:
    """Expire the user's overdue attempts first, so the rules see the true state."""
    closing.expire_for_user(session, user_id=user.id, now=now, on_exam_passed=on_exam_passed)
    return eligibility.check(
        session, user=user, track=track, now=now, certified_tracks=certified_tracks
    )


# ---------------------------------------------------------------- start


def _seen_items(session: Session, user_id: int, track: str) -> set[int]:
    """Items (any version) this candidate met in earlier attempts of the track."""
    rows = session.exec(
        select(ItemVersion.item_id)
        .join(ExamResponse, ExamResponse.item_version_id == ItemVersion.id)
        .join(ExamAttempt, ExamAttempt.id == ExamResponse.attempt_id)
        .where(ExamAttempt.user_id == user_id, ExamAttempt.track == track)
    ).all()
    return set(rows)


def start_attempt(
    *,
    session: Session,
    user: User,
    track: str,
    now: datetime,
    certified_tracks: eligibility.CertifiedTracks,
    on_exam_passed: OnExamPassed = _no_op,
) -> ExamAttempt:
    """Check eligibility, freeze policy and pool, start the clock (limit x the user's factor)."""
    verdict = eligibility_for(
        session=session,
        user=user,
        track=track,
        now=now,
        certified_tracks=certified_tracks,
        on_exam_passed=on_exam_passed,
    )
    if not verdict.eligible:
        raise NotEligible(" ".join(verdict.reasons))
    row = courses.get_track(session, track)
    policy = bridge.freeze_policy(row.policy)
    pool = bridge.snapshot_pool(session, track=row.code)
    if not pool:
        raise InvalidInput(f"The {row.code} exam has no items yet.")
    seen = _seen_items(session, user.id, row.code)
    excluded = [str(p["id"]) for p in pool if p["item"] in seen]
    seed = secrets.randbits(31)
    state = engine.start_attempt(
        bridge.cat_policy(policy), bridge.item_pool(pool), seed, excluded_ids=excluded
    )
    factor = verdict.time_factor
    minutes = policy["exam"]["time_limit_minutes"] * factor
    attempt = ExamAttempt(
        user_id=user.id,
        track=row.code,
        status="open",
        open_slot=f"{user.id}:{row.code}",
        started_at=to_db(now),
        deadline_at=to_db(as_utc(now) + timedelta(minutes=minutes)),
        time_factor=factor,
        policy={**policy, "track_version": row.version, "track_digest": row.digest},
        pool=pool,
        state=state.to_dict(),
    )
    session.add(attempt)
    try:
        session.flush()
    except IntegrityError as exc:  # a second tab started the same exam a moment earlier
        session.rollback()
        raise NotEligible("You have an attempt in progress on this exam; resume it.") from exc
    audit.record(
        session,
        action="exam.start",
        at=now,
        actor_id=user.id,
        subject=f"attempt:{attempt.id}",
        data={
            "track": row.code,
            "deadline": attempt.deadline_at.isoformat(),
            "time_factor": factor,
            "waiver": verdict.waiver,
            "pool_size": len(pool),
        },
    )
    session.commit()
    return attempt


# ---------------------------------------------------------------- present


@dataclass(frozen=True)
class PendingItem:
    """What the candidate sees of the pending item: never its id, key, parameters or pool."""

    position: int
    token: str
    type: str
    stem: str
    options: list[str]


@dataclass(frozen=True)
class AttemptView:
    attempt: ExamAttempt
    item: PendingItem | None
    answered: int
    seconds_left: int
    warning: str | None


def _pending(session: Session, attempt: ExamAttempt) -> PendingItem | None:
    if attempt.status != "open" or attempt.pending_item_id is None:
        return None
    version = session.get(ItemVersion, attempt.pending_item_id)
    return PendingItem(
        position=attempt.step + 1,
        token=attempt.pending_token,
        type=version.type,
        stem=version.stem,
        options=[o["text"] for o in version.options],
    )


def view(session: Session, attempt: ExamAttempt, now: datetime) -> AttemptView:
    left = seconds_left(attempt, now) if attempt.status == "open" else 0
    return AttemptView(
        attempt=attempt,
        item=_pending(session, attempt),
        answered=attempt.step,
        seconds_left=left,
        warning=time_warning(left) if attempt.status == "open" else None,
    )


def _expire_if_due(session, attempt, now, on_exam_passed) -> bool:
    if attempt.status == "open" and as_utc(attempt.deadline_at) <= as_utc(now):
        closing.expire_one(session, attempt_id=attempt.id, now=now, on_exam_passed=on_exam_passed)
        session.refresh(attempt)
        return True
    return False


def present(
    *,
    session: Session,
    user: User,
    attempt_id: int,
    now: datetime,
    on_exam_passed: OnExamPassed = _no_op,
) -> AttemptView:
    """The pending item, choosing and recording it first if there is none (resume-safe)."""
    attempt = get_attempt(session, user=user, attempt_id=attempt_id)
    if _expire_if_due(session, attempt, now, on_exam_passed) or attempt.status != "open":
        return view(session, attempt, now)
    if attempt.pending_item_id is None:
        _choose_next(session, attempt, now, on_exam_passed)
        session.refresh(attempt)
    return view(session, attempt, now)


def _choose_next(session, attempt: ExamAttempt, now, on_exam_passed) -> None:
    frozen = bridge.thaw(attempt)
    decision = engine.stop_decision(frozen.state, frozen.policy)
    item_id = None
    if not decision.stop:
        item_id = engine.select_next(frozen.state, frozen.policy, frozen.pool)
    if item_id is None:
        reason = decision.reason if decision.stop else engine.StopReason.BANK_EXHAUSTED
        closing.finish(
            session, attempt_id=attempt.id, step=attempt.step, reason=str(reason), now=now
        )
        session.commit()
        closing.notify(session, attempt.id, on_exam_passed)
        return
    token = secrets.token_urlsafe(18)
    won = session.execute(
        update(ExamAttempt)
        .where(
            ExamAttempt.id == attempt.id,
            ExamAttempt.step == attempt.step,
            ExamAttempt.status == "open",
            ExamAttempt.pending_item_id.is_(None),
        )
        .values(pending_item_id=int(item_id), pending_token=token, pending_presented_at=to_db(now))
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:  # the server records the item before it is sent; the first delivery is marked
        session.execute(
            update(ItemVersion)
            .where(ItemVersion.id == int(item_id), ItemVersion.first_delivered_at.is_(None))
            .values(first_delivered_at=to_db(now))
            .execution_options(synchronize_session=False)
        )
    session.commit()


# ---------------------------------------------------------------- answer


@dataclass(frozen=True)
class AnswerOutcome:
    """accepted: this request recorded the answer; duplicate: an identical one already had."""

    attempt: ExamAttempt
    position: int
    accepted: bool
    duplicate: bool


def _check_answer(version: ItemVersion, answer: list[str]) -> list[str]:
    letters = LETTERS[: len(version.options)]
    answer = [str(a).strip().upper() for a in answer]
    if not answer:
        raise InvalidInput("Choose an answer before you continue.")
    if any(a not in letters for a in answer) or len(set(answer)) != len(answer):
        raise InvalidInput("The answer names an option that does not exist.")
    if version.type == "single" and len(answer) != 1:
        raise InvalidInput("Choose exactly one option.")
    if version.type == "ordering" and sorted(answer) != sorted(letters):
        raise InvalidInput("Put every element in a position of its own.")
    return answer


def _stale(session, attempt: ExamAttempt, message: str) -> StaleItem:
    """409 that carries the item now pending (or says the attempt has ended)."""
    item = _pending(session, attempt)
    current = (
        {
            "position": item.position,
            "token": item.token,
            "type": item.type,
            "stem": item.stem,
            "options": item.options,
        }
        if item
        else None
    )
    return StaleItem(
        message, extra={"attempt_id": attempt.id, "status": attempt.status, "current": current}
    )


def _replay(session, attempt, position, token, answer, now, on_exam_passed) -> AnswerOutcome:
    """A repeated submission: the same outcome if identical, else a 409 that changes nothing."""
    prior = session.exec(
        select(ExamResponse).where(
            ExamResponse.attempt_id == attempt.id, ExamResponse.position == position
        )
    ).first()
    if prior is not None and prior.token == token and list(prior.answer) == list(answer):
        return AnswerOutcome(attempt=attempt, position=position, accepted=False, duplicate=True)
    if attempt.status == "open" and attempt.pending_item_id is None:
        _choose_next(session, attempt, now, on_exam_passed)  # so the 409 can carry it
        session.refresh(attempt)
    if attempt.status != "open":
        raise AttemptClosed("This attempt has ended; no more answers are accepted.")
    raise _stale(
        session,
        attempt,
        "That answer was for a question that is no longer current; nothing was changed. "
        "Here is the current question.",
    )


def submit_answer(
    *,
    session: Session,
    user: User,
    attempt_id: int,
    position: int,
    token: str,
    answer: list[str],
    now: datetime,
    on_exam_passed: OnExamPassed = _no_op,
) -> AnswerOutcome:
    """Accept an answer for the pending item of an open attempt, once; commit it."""
    attempt = get_attempt(session, user=user, attempt_id=attempt_id)
    if _expire_if_due(session, attempt, now, on_exam_passed):
        raise AttemptClosed(
            "Your time ran out before this answer arrived; the attempt was scored on the "
            "answers given before the deadline."
        )
    answer = [str(a).strip().upper() for a in answer]
    if (
        attempt.status != "open"
        or attempt.pending_item_id is None
        or position != attempt.step + 1
        or token != attempt.pending_token
    ):
        return _replay(session, attempt, position, token, answer, now, on_exam_passed)
    version = session.get(ItemVersion, attempt.pending_item_id)
    answer = _check_answer(version, answer)
    step, presented_at = attempt.step, attempt.pending_presented_at
    # Everything is computed before the first write, so the write transaction (which holds
    # SQLite's single write lock) is only the statements and the commit.
    correct = bridge.score(version, answer)
    frozen = bridge.thaw(attempt)
    state = engine.record_response(
        frozen.state, str(version.id), correct, frozen.policy, frozen.pool
    )
    decision = engine.stop_decision(state, frozen.policy)
    won = session.execute(
        update(ExamAttempt)
        .where(
            ExamAttempt.id == attempt.id,
            ExamAttempt.step == step,
            ExamAttempt.status == "open",
            ExamAttempt.pending_token == token,
        )
        .values(
            step=step + 1,
            pending_item_id=None,
            pending_token=None,
            pending_presented_at=None,
            state=state.to_dict(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:  # another request answered this item a moment earlier
        session.rollback()
        session.refresh(attempt)
        return _replay(session, attempt, position, token, answer, now, on_exam_passed)
    session.add(
        ExamResponse(
            attempt_id=attempt.id,
            position=position,
            item_version_id=version.id,
            token=token,
            answer=answer,
            correct=correct,
            presented_at=presented_at,
            answered_at=to_db(now),
        )
    )
    audit.record(
        session,
        action="exam.answer",
        at=now,
        actor_id=user.id,
        subject=f"attempt:{attempt.id}",
        data={"position": position, "item_version_id": version.id},
    )
    if decision.stop:
        closing.finish(
            session, attempt_id=attempt.id, step=step + 1, reason=str(decision.reason), now=now
        )
    session.commit()
    session.refresh(attempt)
    if decision.stop:
        closing.notify(session, attempt.id, on_exam_passed)
    return AnswerOutcome(attempt=attempt, position=position, accepted=True, duplicate=False)
