"""Exam use cases: start, present, answer, expire, finish and read attempts.

Every write that moves an attempt on is a conditional UPDATE on (id, step) or on the pending
item, so concurrent requests on one attempt (two tabs, retries, many workers) serialise on
the attempt row and only one of them wins, on SQLite and PostgreSQL alike.
"""

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit, db, prepared
from app.core.clock import as_utc, to_db
from app.core.errors import InvalidInput, NotFound
from app.core.lru import LRU
from app.core.prepared import Prepared
from app.courses import service as courses
from app.exams import closing, eligibility, results
from app.exams import engine_bridge as bridge
from app.exams.errors import AttemptClosed, NotEligible, StaleItem
from app.exams.models import ExamAttempt, ExamResponse
from app.itembank import service as itembank
from app.itembank.files import LETTERS
from app.itembank.models import ItemVersion
from app.psychometrics import engine

WARNING_MARKS = (60, 300, 600)  # seconds: the 1, 5 and 10 minute warnings
EXPIRED = closing.EXPIRED
OnExamPassed = closing.OnExamPassed
_no_op = closing.no_op
expire_overdue = closing.expire_overdue  # the sweep (app/cli.py run_sweep)
admin_attempt = results.admin_attempt
attempt_by_id = results.attempt_by_id  # read by the credentials layer's on_exam_passed
admin_attempts = results.admin_attempts
domain_results = results.domain_results


# ---------------------------------------------------------------- reading


def get_attempt(session: Session, *, user: User, attempt_id: int) -> ExamAttempt:
    """The user's own attempt; anyone else's is reported as not existing."""
    attempt = session.exec(
        select(ExamAttempt)
        .where(ExamAttempt.id == attempt_id)
        .execution_options(populate_existing=True)  # the answer loop writes with Core statements
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
    pool_id, item_pool = bridge.frozen_pool(session, track=row.code, items=pool, now=now)
    cat_policy = bridge.cat_policy(policy)
    state = engine.start_attempt(cat_policy, item_pool, seed, excluded_ids=excluded)
    # The first item is chosen and recorded with the attempt itself (no answer precedes it).
    first = engine.select_next(state, cat_policy, item_pool)
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
        pool_id=pool_id,
        state=state.to_dict(),
        pending_item_id=None if first is None else int(first),
        pending_token=None if first is None else secrets.token_urlsafe(18),
        pending_presented_at=None if first is None else to_db(now),
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
    if first is not None:
        itembank.mark_delivered(session, int(first), now)
    attempt_id = attempt.id
    session.commit()
    bridge.remember_frozen(session, attempt_id, pool_id, cat_policy, item_pool)
    if first is not None:
        itembank.marked_committed(session, int(first))
    return attempt


# ---------------------------------------------------------------- present

_ATTEMPTS = ExamAttempt.__table__
_RESPONSES = ExamResponse.__table__
_LIVE_QUERY = sa_select(
    _ATTEMPTS.c.id,
    _ATTEMPTS.c.user_id,
    _ATTEMPTS.c.track,
    _ATTEMPTS.c.status,
    _ATTEMPTS.c.started_at,
    _ATTEMPTS.c.deadline_at,
    _ATTEMPTS.c.step,
    _ATTEMPTS.c.pending_item_id,
    _ATTEMPTS.c.pending_token,
    _ATTEMPTS.c.pending_presented_at,
    _ATTEMPTS.c.state,
).where(_ATTEMPTS.c.id == bindparam("id"))


# The answer loop's writes, built once: conditional on the step (and token or empty slot), so
# of two requests racing on one attempt exactly one changes the row.
_RECORD_PENDING = Prepared(
    closing.open_at_step(_ATTEMPTS.c.pending_item_id.is_(None)).values(
        pending_item_id=bindparam("v_item"),
        pending_token=bindparam("v_token"),
        pending_presented_at=bindparam("v_at"),
    )
)
_RECORD_ANSWER = Prepared(
    closing.open_at_step(_ATTEMPTS.c.pending_token == bindparam("w_token")).values(
        step=_ATTEMPTS.c.step + 1,
        pending_item_id=None,
        pending_token=None,
        pending_presented_at=None,
        state=bindparam("v_state", type_=_ATTEMPTS.c.state.type),
    )
)
_INSERT_RESPONSE = Prepared(
    _RESPONSES.insert(),
    keys=(
        "attempt_id",
        "position",
        "item_version_id",
        "token",
        "answer",
        "correct",
        "presented_at",
        "answered_at",
    ),
)


@dataclass(frozen=True)
class Live:
    """The moving parts of an attempt, read with one Core query.

    The answer loop never loads the ORM row (nor its frozen policy and pool, which the engine
    bridge caches per process); finished attempts are read as ORM rows for their results.
    """

    id: int
    user_id: int
    track: str
    status: str
    started_at: datetime
    deadline_at: datetime
    step: int
    pending_item_id: int | None
    pending_token: str | None
    pending_presented_at: datetime | None
    state: dict
    engine_state: engine.AttemptState | None = field(default=None, compare=False, repr=False)


def _live(session: Session, *, user_id: int, attempt_id: int) -> Live:
    """The user's own attempt, read from the database; anyone else's does not exist."""
    row = session.connection().execute(_LIVE_QUERY, {"id": attempt_id}).one_or_none()
    if row is None or row.user_id != user_id:
        raise NotFound("There is no such exam attempt.")
    return _remember(session, Live(**row._mapping))


# What this process last wrote or read of each open attempt. An answer is checked against it
# and then written with an UPDATE conditional on (step, pending token, open): if another
# process moved the attempt on (a second worker, the sweep), that UPDATE changes nothing and
# the answer falls back to a fresh read. The state at a given step never changes, so a hit
# whose conditional UPDATE succeeds was current. Spares the answer loop a read and a decode.
_RECENT: LRU[tuple[str, int], Live] = LRU(4096)


def _remember(session: Session, live: Live) -> Live:
    key = (db.cache_scope(session), live.id)
    if live.status != "open":
        _RECENT.pop(key)
        return live
    return _RECENT.put(key, live)


def _recall(session: Session, *, user_id: int, attempt_id: int) -> Live | None:
    live = _RECENT.get((db.cache_scope(session), attempt_id))
    return live if live is not None and live.user_id == user_id else None


def _forget(session: Session, attempt_id: int) -> None:
    _RECENT.pop((db.cache_scope(session), attempt_id))


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
    """attempt: a Live while open, the ORM row (with its result) once closed."""

    attempt: Live | ExamAttempt
    item: PendingItem | None
    answered: int
    seconds_left: int
    warning: str | None


def _pending(session: Session, attempt: Live | ExamAttempt) -> PendingItem | None:
    if attempt.status != "open" or attempt.pending_item_id is None:
        return None
    item = itembank.delivery_item(session, attempt.pending_item_id)
    return PendingItem(
        position=attempt.step + 1,
        token=attempt.pending_token,
        type=item.type,
        stem=item.stem,
        options=list(item.options),
    )


def view(session: Session, attempt: Live | ExamAttempt, now: datetime) -> AttemptView:
    left = seconds_left(attempt, now) if attempt.status == "open" else 0
    return AttemptView(
        attempt=attempt,
        item=_pending(session, attempt),
        answered=attempt.step,
        seconds_left=left,
        warning=time_warning(left) if attempt.status == "open" else None,
    )


def _closed_view(session: Session, *, user: User, attempt_id: int, now) -> AttemptView:
    return view(session, get_attempt(session, user=user, attempt_id=attempt_id), now)


def started_view(
    session: Session, *, user: User, attempt: ExamAttempt, now: datetime
) -> AttemptView:
    """The view of an attempt start_attempt has just committed (its first item is recorded),
    without reading it back."""
    live = Live(
        id=attempt.id,
        user_id=attempt.user_id,
        track=attempt.track,
        status=attempt.status,
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        step=attempt.step,
        pending_item_id=attempt.pending_item_id,
        pending_token=attempt.pending_token,
        pending_presented_at=attempt.pending_presented_at,
        state=attempt.state,
    )
    if live.pending_item_id is None:  # nothing eligible: present() closes it properly
        return present(session=session, user=user, attempt_id=attempt.id, now=now)
    return view(session, _remember(session, live), now)


def _overdue(live: Live, now: datetime) -> bool:
    return live.status == "open" and as_utc(live.deadline_at) <= as_utc(now)


def present(
    *,
    session: Session,
    user: User,
    attempt_id: int,
    now: datetime,
    on_exam_passed: OnExamPassed = _no_op,
) -> AttemptView:
    """The pending item, choosing and recording it first if there is none (resume-safe)."""
    live = _live(session, user_id=user.id, attempt_id=attempt_id)
    if _overdue(live, now):
        closing.expire_one(session, attempt_id=live.id, now=now, on_exam_passed=on_exam_passed)
    elif live.status == "open" and live.pending_item_id is None:
        live = _choose_next(session, live, now, on_exam_passed)
    elif live.status == "open":
        return view(session, live, now)
    if live is None or live.status != "open" or _overdue(live, now):
        return _closed_view(session, user=user, attempt_id=attempt_id, now=now)
    return view(session, live, now)


def _choose_next(session, live: Live, now, on_exam_passed) -> Live | None:
    """Choose, record and commit the next item; None when the attempt has ended instead."""
    frozen = bridge.thaw(session, live.id, live.engine_state or live.state)
    item_id = engine.select_next(frozen.state, frozen.policy, frozen.pool)  # None: stop
    if item_id is None:
        decision = engine.stop_decision(frozen.state, frozen.policy)
        reason = decision.reason if decision.stop else engine.StopReason.BANK_EXHAUSTED
        result = closing.finish(
            session,
            attempt_id=live.id,
            step=live.step,
            reason=str(reason),
            now=now,
            owner=(live.user_id, live.track),
        )
        prepared.commit(session)
        _forget(session, live.id)
        if result is not None:
            closing.notify(session, live.id, on_exam_passed, passed=result.passed)
        return None
    version_id, token, at = int(item_id), secrets.token_urlsafe(18), to_db(now)
    # The server records the item before it is sent, and marks a version's first delivery.
    # Both go with the COMMIT in one round trip on PostgreSQL; the count is read after it. The
    # mark is right even when another request recorded first: the choice is a function of the
    # state at this step, so that request chose this same version.
    with prepared.pipelined(session):
        recorded = _RECORD_PENDING.execute(
            session,
            {"w_id": live.id, "w_step": live.step, "v_item": version_id, "v_token": token,
             "v_at": at},
        )  # fmt: skip
        itembank.mark_delivered(session, version_id, now)
        prepared.commit(session)
        won = recorded.rowcount
    if not won:  # another request chose it a moment earlier: show what it recorded
        return _live(session, user_id=live.user_id, attempt_id=live.id)
    itembank.marked_committed(session, version_id)
    chosen = replace(live, pending_item_id=version_id, pending_token=token, pending_presented_at=at)
    return _remember(session, chosen)


# ---------------------------------------------------------------- answer


@dataclass(frozen=True)
class AnswerOutcome:
    """accepted: this request recorded the answer; duplicate: an identical one already had.

    attempt: the attempt as this request left it (no next item chosen yet when accepted).
    """

    attempt: Live
    position: int
    accepted: bool
    duplicate: bool


def _check_answer(item: itembank.DeliveryItem, answer: list[str]) -> list[str]:
    letters = LETTERS[: len(item.options)]
    answer = [str(a).strip().upper() for a in answer]
    if not answer:
        raise InvalidInput("Choose an answer before you continue.")
    if any(a not in letters for a in answer) or len(set(answer)) != len(answer):
        raise InvalidInput("The answer names an option that does not exist.")
    if item.type == "single" and len(answer) != 1:
        raise InvalidInput("Choose exactly one option.")
    if item.type == "ordering" and sorted(answer) != sorted(letters):
        raise InvalidInput("Put every element in a position of its own.")
    return answer


def _stale(session, attempt: Live, message: str) -> StaleItem:
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


def _replay(session, live: Live, position, token, answer, now, on_exam_passed) -> AnswerOutcome:
    """A repeated submission: the same outcome if identical, else a 409 that changes nothing."""
    prior = (
        session.connection()
        .execute(
            sa_select(_RESPONSES.c.token, _RESPONSES.c.answer).where(
                _RESPONSES.c.attempt_id == live.id, _RESPONSES.c.position == position
            )
        )
        .first()
    )
    if prior is not None and prior.token == token and list(prior.answer) == list(answer):
        return AnswerOutcome(attempt=live, position=position, accepted=False, duplicate=True)
    if live.status == "open" and live.pending_item_id is None:
        live = _choose_next(session, live, now, on_exam_passed)  # so the 409 can carry it
    if live is None or live.status != "open":
        raise AttemptClosed("This attempt has ended; no more answers are accepted.")
    raise _stale(
        session,
        live,
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
    live = _recall(session, user_id=user.id, attempt_id=attempt_id)
    if live is None or not _answerable(live, position, token, now):
        live = _live(session, user_id=user.id, attempt_id=attempt_id)  # the authority
    if _overdue(live, now):
        closing.expire_one(session, attempt_id=live.id, now=now, on_exam_passed=on_exam_passed)
        raise AttemptClosed(
            "Your time ran out before this answer arrived; the attempt was scored on the "
            "answers given before the deadline."
        )
    answer = [str(a).strip().upper() for a in answer]
    if (
        live.status != "open"
        or live.pending_item_id is None
        or position != live.step + 1
        or token != live.pending_token
    ):
        return _replay(session, live, position, token, answer, now, on_exam_passed)
    item = itembank.delivery_item(session, live.pending_item_id)
    answer = _check_answer(item, answer)
    step = live.step
    # Everything is computed before the first write, so the write transaction (which holds
    # SQLite's single write lock) is only the statements and the commit.
    correct = item.is_correct(answer)
    frozen = bridge.thaw(session, live.id, live.engine_state or live.state)
    state = engine.record_response(
        frozen.state, str(item.version_id), correct, frozen.policy, frozen.pool
    )
    decision = engine.stop_decision(state, frozen.policy)
    new_state = state.to_dict()
    won, result = _record_answer(
        session, live, position=position, answer=answer, item=item, correct=correct,
        new_state=new_state, stop=decision.reason if decision.stop else None, now=now,
    )  # fmt: skip
    if not won:  # another request (or process) moved the attempt on a moment earlier
        prepared.rollback(session)
        _forget(session, attempt_id)
        live = _live(session, user_id=user.id, attempt_id=attempt_id)
        return _replay(session, live, position, token, answer, now, on_exam_passed)
    if result is not None:
        closing.notify(session, live.id, on_exam_passed, passed=result.passed)
    after = replace(
        live,
        step=step + 1,
        pending_item_id=None,
        pending_token=None,
        pending_presented_at=None,
        state=new_state,
        engine_state=state,
        status="finished" if decision.stop else "open",
    )
    _remember(session, after)
    return AnswerOutcome(attempt=after, position=position, accepted=True, duplicate=False)


def _record_answer(
    session, live: Live, *, position, answer, item, correct, new_state, stop, now
) -> tuple[bool, engine.ExamResult | None]:
    """The answer's transaction: the conditional UPDATE of the attempt, then (if it won) the
    response, its audit entry and, when the engine stops here, the result; committed. Returns
    (won, the result when this answer ended the attempt). On PostgreSQL the statements after
    the UPDATE and the COMMIT travel in one round trip."""
    with prepared.pipelined(session):
        won = _RECORD_ANSWER.execute(
            session,
            {"w_id": live.id, "w_step": live.step, "w_token": live.pending_token,
             "v_state": new_state},
        ).rowcount  # fmt: skip
        if not won:
            return False, None
        _INSERT_RESPONSE.execute(
            session,
            {
                "attempt_id": live.id,
                "position": position,
                "item_version_id": item.version_id,
                "token": live.pending_token,
                "answer": answer,
                "correct": correct,
                "presented_at": live.pending_presented_at,
                "answered_at": to_db(now),
            },
        )
        audit.record(
            session,
            action="exam.answer",
            at=now,
            actor_id=live.user_id,
            subject=f"attempt:{live.id}",
            data={"position": position, "item_version_id": item.version_id},
        )
        result = None
        if stop is not None:
            result = closing.finish(
                session,
                attempt_id=live.id,
                step=live.step + 1,
                reason=str(stop),
                now=now,
                owner=(live.user_id, live.track),
            )
        prepared.commit(session)
    return True, result


def _answerable(live: Live, position: int, token: str, now: datetime) -> bool:
    return (
        live.status == "open"
        and live.pending_item_id is not None
        and position == live.step + 1
        and token == live.pending_token
        and not _overdue(live, now)
    )


def answer_and_next(
    *,
    session: Session,
    user: User,
    attempt_id: int,
    position: int,
    token: str,
    answer: list[str],
    now: datetime,
    on_exam_passed: OnExamPassed = _no_op,
) -> tuple[AnswerOutcome, AttemptView]:
    """Submit (committed first), then choose and record the next item in its own transaction.

    One request per question for the API: the answer's response carries the next item. The
    next item is chosen from the state this request just committed, without reading it back.
    """
    outcome = submit_answer(
        session=session,
        user=user,
        attempt_id=attempt_id,
        position=position,
        token=token,
        answer=answer,
        now=now,
        on_exam_passed=on_exam_passed,
    )
    live = outcome.attempt
    if outcome.accepted and live.status != "open":  # this answer ended it: nothing to read
        return outcome, view(session, live, now)
    if not outcome.accepted or live.status != "open":
        return outcome, present(
            session=session,
            user=user,
            attempt_id=attempt_id,
            now=now,
            on_exam_passed=on_exam_passed,
        )
    live = _choose_next(session, live, now, on_exam_passed)
    if live is None or live.status != "open":
        return outcome, _closed_view(session, user=user, attempt_id=attempt_id, now=now)
    return outcome, view(session, live, now)
