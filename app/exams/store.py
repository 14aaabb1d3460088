"""The exam statements: every statement that runs on an exam answer, each a `Prepared` constant
next to the small function that runs it, and the one way the answer loop reads an attempt.

Every write that moves an attempt on is `open_at_step(...)`: an UPDATE conditional on the
attempt being open at a given step (and on the pending item), so of two requests racing on one
attempt (two tabs, retries, many workers, the sweep) exactly one changes the row, and the row
count says which. The functions add and flush nothing else and never commit: the use case
(app/exams/delivery.py, closing.py) runs them as steps and ends with `db.commit(session)`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from app.core import db
from app.core.clock import to_db
from app.core.errors import NotFound
from app.core.lru import LRU
from app.core.prepared import Prepared
from app.exams.models import ExamAttempt, ExamResponse
from app.psychometrics import engine

_ATTEMPTS = db.table(ExamAttempt)
_RESPONSES = db.table(ExamResponse)


def open_at_step(*conditions: ColumnElement[bool]) -> Update:
    """UPDATE of the attempt w_id while it is open at step w_step (and the conditions): the form
    of every write that moves an attempt on, so of two racing requests one changes the row."""
    update: Update = _ATTEMPTS.update()
    return update.where(
        _ATTEMPTS.c.id == bindparam("w_id"),
        _ATTEMPTS.c.step == bindparam("w_step"),
        _ATTEMPTS.c.status == "open",
        *conditions,
    )


# ---------------------------------------------------------------- reading an attempt


@dataclass(frozen=True)
class Live:
    """The moving parts of an attempt, as the answer loop reads them (one statement).

    The answer loop never loads the ORM row (nor its frozen policy and pool, which the engine
    bridge caches per process); a finished attempt's record and result are ORM rows
    (app/exams/results.py). engine_state: the state as an engine value, when this process
    has just computed it (spares a decode).
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
    state: dict[str, Any]
    engine_state: engine.AttemptState | None = field(default=None, compare=False, repr=False)


_LIVE_COLUMNS = (
    "id", "user_id", "track", "status", "started_at", "deadline_at", "step", "pending_item_id",
    "pending_token", "pending_presented_at", "state",
)  # fmt: skip
_READ_LIVE = Prepared(
    sa_select(*(_ATTEMPTS.c[name] for name in _LIVE_COLUMNS)).where(
        _ATTEMPTS.c.id == bindparam("id")
    )
)


def read_live(session: Session, attempt_id: int) -> Live | None:
    """The attempt as it is in the database now (None if there is no such attempt)."""
    row = _READ_LIVE.execute(session, {"id": attempt_id}).first()
    return None if row is None else Live(*row)


def live_of(attempt: ExamAttempt) -> Live:
    """The Live of an attempt row this request has just written (start_attempt), unread."""
    return Live(*(getattr(attempt, name) for name in _LIVE_COLUMNS))


def live_attempt(session: Session, *, user_id: int, attempt_id: int) -> Live:
    """The user's own attempt, read from the database (and remembered while it is open);
    anyone else's does not exist."""
    live = read_live(session, attempt_id)
    if live is None or live.user_id != user_id:
        raise NotFound("There is no such exam attempt.")
    return remember(session, live)


# What this process last wrote or read of each open attempt. An answer is checked against it
# and then written with an UPDATE conditional on (step, pending token, open): if another
# process moved the attempt on (a second worker, the sweep), that UPDATE changes nothing and
# the answer falls back to a fresh read. The state at a given step never changes, so a hit
# whose conditional UPDATE succeeds was current. Spares the answer loop a read and a decode.
_RECENT: LRU[tuple[str, int], Live] = LRU(4096)


def remember(session: Session, live: Live) -> Live:
    """Keep an open attempt as this process left it (a closed one is dropped)."""
    key = (db.cache_scope(session), live.id)
    if live.status != "open":
        _RECENT.pop(key)
        return live
    return _RECENT.put(key, live)


def recall(session: Session, *, user_id: int, attempt_id: int) -> Live | None:
    """The user's attempt as this process last saw it, if it did; only ever a hint (see above)."""
    live = _RECENT.get((db.cache_scope(session), attempt_id))
    return live if live is not None and live.user_id == user_id else None


def forget(session: Session, attempt_id: int) -> None:
    _RECENT.pop((db.cache_scope(session), attempt_id))


# ---------------------------------------------------------------- the answer loop's writes

_RECORD_PENDING = Prepared(
    open_at_step(_ATTEMPTS.c.pending_item_id.is_(None)).values(
        pending_item_id=bindparam("v_item"),
        pending_token=bindparam("v_token"),
        pending_presented_at=bindparam("v_at"),
    )
)


def record_pending(session: Session, live: Live, *, item_id: int, token: str, at: datetime) -> Any:
    """Record the chosen item as pending, if nothing is pending at this step. Returns the
    statement's result: read `.rowcount` (1: recorded here) after the commit, so on PostgreSQL
    the UPDATE, the first-delivery mark and the COMMIT travel in one round trip."""
    return _RECORD_PENDING.execute(
        session,
        {"w_id": live.id, "w_step": live.step, "v_item": item_id, "v_token": token, "v_at": at},
    )


_RECORD_ANSWER = Prepared(
    open_at_step(_ATTEMPTS.c.pending_token == bindparam("w_token")).values(
        step=_ATTEMPTS.c.step + 1,
        pending_item_id=bindparam("v_item"),
        pending_token=bindparam("v_token"),
        pending_presented_at=bindparam("v_at"),
        state=bindparam("v_state", type_=_ATTEMPTS.c.state.type),
    )
)


def record_answer(session: Session, live: Live, after: Live) -> bool:
    """Move the attempt one step on, to after's engine state and pending item (the next item
    when it was chosen with the answer, else none), if it is still at live's step with live's
    pending item; False when another request did first."""
    params = {
        "w_id": live.id,
        "w_step": live.step,
        "w_token": live.pending_token,
        "v_item": after.pending_item_id,
        "v_token": after.pending_token,
        "v_at": after.pending_presented_at,
        "v_state": after.state,
    }
    return bool(_RECORD_ANSWER.execute(session, params).rowcount)


_INSERT_RESPONSE = Prepared(
    _RESPONSES.insert(),
    keys=(
        "attempt_id", "position", "item_version_id", "token", "answer", "correct",
        "presented_at", "answered_at",
    ),
)  # fmt: skip


def insert_response(
    session: Session,
    live: Live,
    *,
    item_version_id: int,
    answer: list[str],
    correct: bool,
    now: datetime,
) -> None:
    """Add the response to live's pending item to the attempt's log (position step + 1)."""
    _INSERT_RESPONSE.execute(
        session,
        {
            "attempt_id": live.id,
            "position": live.step + 1,
            "item_version_id": item_version_id,
            "token": live.pending_token,
            "answer": answer,
            "correct": correct,
            "presented_at": live.pending_presented_at,
            "answered_at": to_db(now),
        },
    )


_PRIOR_RESPONSE = Prepared(
    sa_select(_RESPONSES.c.token, _RESPONSES.c.answer).where(
        _RESPONSES.c.attempt_id == bindparam("id"), _RESPONSES.c.position == bindparam("position")
    )
)


def prior_response(
    session: Session, attempt_id: int, position: int
) -> tuple[str, list[str]] | None:
    """(token, answer) of the response recorded at a position, if any (a repeated request)."""
    row = _PRIOR_RESPONSE.execute(session, {"id": attempt_id, "position": position}).first()
    return None if row is None else (row[0], list(row[1]))


# ---------------------------------------------------------------- closing

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
        scale_version=bindparam("v_scale"),
        cut_theta=bindparam("v_cut_theta"),
        cut_score=bindparam("v_cut_score"),
        result=bindparam("v_result", type_=_ATTEMPTS.c.result.type),
    )
)


def close(
    session: Session,
    *,
    attempt_id: int,
    step: int,
    expired: bool,
    reason: str,
    result: engine.ExamResult,
    cut_theta: float,
    now: datetime,
    unanswered: int | None = None,
) -> bool:
    """Close the attempt with its result, if it is still open at step; False when another
    request closed or moved it first. unanswered: the item version shown but not answered when
    the attempt closed (kept in the result as "unanswered_item": the item analysis counts it as
    an omit)."""
    params = {
        "w_id": attempt_id,
        "w_step": step,
        "v_status": "expired" if expired else "finished",
        "v_at": to_db(now),
        "v_reason": reason,
        "v_passed": result.passed,
        "v_score": result.scaled_score,
        "v_scale": result.scale_version,
        "v_cut_theta": cut_theta,
        "v_cut_score": result.cut_score,
        "v_result": result.to_dict()
        | ({} if unanswered is None else {"unanswered_item": unanswered}),
    }
    return bool(_CLOSE.execute(session, params).rowcount)


_LOG = Prepared(
    sa_select(_RESPONSES.c.item_version_id, _RESPONSES.c.correct)
    .where(_RESPONSES.c.attempt_id == bindparam("id"))
    .order_by(_RESPONSES.c.position)
)


def recorded_responses(session: Session, attempt_id: int) -> list[tuple[str, bool]]:
    """(item id, correct) pairs of the response log, in order: what the result is scored on."""
    return [(str(v), bool(ok)) for v, ok in _LOG.execute(session, {"id": attempt_id}).all()]
