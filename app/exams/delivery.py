"""The answer loop's use cases: present the pending question, accept an answer, choose the next.

Each reads the attempt one way (`store.live_attempt`, or the process's last view of it,
`store.recall`, which a conditional write checks), runs the statements of app/exams/store.py
as steps and ends with `db.commit(session)`, in the exam lane or not. Every write that moves an
attempt on is conditional on its step, so concurrent requests on one attempt (two tabs,
retries, many workers) serialise on the attempt row and only one of them wins.

An answer from the API or the question page (`answer_and_next`, `submit_answer(and_next=True)`)
chooses the next item before it writes anything and records it in the answer's own transaction:
one UPDATE of the attempt and one commit for both (docs/BENCHMARKS.md, issue 22).
"""

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from app.core import audit, db, prepared
from app.core.clock import to_db
from app.core.errors import InvalidInput
from app.exams import closing, results, store
from app.exams import engine_bridge as bridge
from app.exams.errors import AttemptClosed
from app.exams.models import ExamAttempt
from app.exams.ports import NO_PORTS, Ports
from app.exams.store import Live
from app.exams.views import AttemptView, overdue, stale, view
from app.itembank import service as itembank
from app.itembank.files import LETTERS
from app.psychometrics import engine

Pending = tuple[int, str, datetime] | tuple[None, None, None]  # item version, token, shown at


def closed_view(session: Session, *, user_id: int, attempt_id: int, now: datetime) -> AttemptView:
    """The view of an attempt that has ended: its record with the result."""
    return view(session, results.own_attempt(session, user_id=user_id, attempt_id=attempt_id), now)


def present(
    *, session: Session, user_id: int, attempt_id: int, now: datetime, ports: Ports = NO_PORTS
) -> AttemptView:
    """The pending item, choosing and recording it first if there is none (resume-safe); the
    attempt is read fresh, and closed first if its time is up."""
    read = store.live_attempt(session, user_id=user_id, attempt_id=attempt_id)
    live: Live | None = read
    if overdue(read, now):
        closing.expire_one(session, read, now=now, ports=ports)
        live = None
    elif read.status == "open" and read.pending_item_id is None:
        live = choose_next(session, read, now, ports)
    if live is None or live.status != "open":
        return closed_view(session, user_id=user_id, attempt_id=attempt_id, now=now)
    return view(session, live, now)


def started_view(
    session: Session, *, attempt: ExamAttempt, now: datetime, ports: Ports = NO_PORTS
) -> AttemptView:
    """The view of an attempt start_attempt has just committed (its first item is recorded),
    without reading it back."""
    live = store.live_of(attempt)
    if live.pending_item_id is None:  # nothing eligible: present() closes it properly
        return present(
            session=session, user_id=live.user_id, attempt_id=live.id, now=now, ports=ports
        )
    return view(session, store.remember(session, live), now)


def choose_next(session: Session, live: Live, now: datetime, ports: Ports) -> Live | None:
    """Choose, record and commit the next item; None when the attempt has ended instead."""
    frozen = bridge.thaw(session, live.id, live.engine_state or live.state)
    item_id = engine.select_next(frozen.state, frozen.policy, frozen.pool)  # None: stop
    if item_id is None:
        decision = engine.stop_decision(frozen.state, frozen.policy)
        reason = decision.reason if decision.stop else engine.StopReason.BANK_EXHAUSTED
        result = closing.finish(session, live, step=live.step, reason=str(reason), now=now)
        db.commit(session)
        store.forget(session, live.id)
        if result is not None:
            closing.notify(session, live.id, ports.on_exam_passed, passed=result.passed)
        return None
    version_id, token, at = int(item_id), secrets.token_urlsafe(18), to_db(now)
    # The server records the item before it is sent, and marks a version's first delivery.
    # Both go with the COMMIT in one round trip on PostgreSQL; the count is read after it. The
    # mark is right even when another request recorded first: the choice is a function of the
    # state at this step, so that request chose this same version.
    with prepared.pipelined(session):
        recorded = store.record_pending(session, live, item_id=version_id, token=token, at=at)
        itembank.mark_delivered(session, version_id, now)
        db.commit(session)
        won = recorded.rowcount
    if not won:  # another request chose it a moment earlier: show what it recorded
        return store.live_attempt(session, user_id=live.user_id, attempt_id=live.id)
    itembank.marked_committed(session, version_id)
    chosen = replace(live, pending_item_id=version_id, pending_token=token, pending_presented_at=at)
    return store.remember(session, chosen)


@dataclass(frozen=True)
class AnswerOutcome:
    """accepted: this request recorded the answer; duplicate: an identical one already had.

    attempt: the attempt as this request left it (when accepted, with the next item pending
    if it was chosen with the answer, else none yet).
    """

    attempt: Live
    position: int
    accepted: bool
    duplicate: bool


def normalise(answer: list[str]) -> list[str]:
    """The letters as the candidate meant them: trimmed, upper case."""
    return [str(a).strip().upper() for a in answer]


def check_answer(item: itembank.DeliveryItem, answer: list[str]) -> list[str]:
    """The answer, normalised, if it is a possible answer to the item; else InvalidInput."""
    letters = LETTERS[: len(item.options)]
    answer = normalise(answer)
    if not answer:
        raise InvalidInput("Choose an answer before you continue.")
    if any(a not in letters for a in answer) or len(set(answer)) != len(answer):
        raise InvalidInput("The answer names an option that does not exist.")
    if item.type == "single" and len(answer) != 1:
        raise InvalidInput("Choose exactly one option.")
    if item.type == "ordering" and sorted(answer) != sorted(letters):
        raise InvalidInput("Put every element in a position of its own.")
    return answer


def answerable(live: Live, position: int, token: str, now: datetime) -> bool:
    """Whether this answer is for the item pending now, in time."""
    return (
        live.status == "open"
        and live.pending_item_id is not None
        and position == live.step + 1
        and token == live.pending_token
        and not overdue(live, now)
    )


def _replay(
    session: Session, live: Live, position: int, token: str, answer: list[str], now: datetime,
    ports: Ports,
) -> AnswerOutcome:  # fmt: skip
    """A repeated submission: the same outcome if identical, else a 409 that changes nothing."""
    if store.prior_response(session, live.id, position) == (token, answer):
        return AnswerOutcome(attempt=live, position=position, accepted=False, duplicate=True)
    moved: Live | None = live
    if live.status == "open" and live.pending_item_id is None:
        moved = choose_next(session, live, now, ports)  # so the 409 can carry it
    if moved is None or moved.status != "open":
        raise AttemptClosed("This attempt has ended; no more answers are accepted.")
    raise stale(
        session,
        moved,
        "That answer was for a question that is no longer current; nothing was changed. "
        "Here is the current question.",
    )


@dataclass(frozen=True)
class Answer:
    """An answer as the candidate sent it: for the item shown at position with token, the
    chosen letters (in order, for an ordering item)."""

    user_id: int
    attempt_id: int
    position: int
    token: str
    letters: list[str]


def submit_answer(
    session: Session,
    sent: Answer,
    *,
    now: datetime,
    ports: Ports = NO_PORTS,
    and_next: bool = False,
) -> AnswerOutcome:
    """Accept an answer for the pending item of an open attempt, once; commit it.

    and_next: also choose the next item (or end the attempt when none keeps the constraints)
    and record it as pending in the answer's transaction; the outcome's attempt carries it.
    Without it the next item is chosen when the attempt is next presented."""
    user_id, attempt_id, position, token = sent.user_id, sent.attempt_id, sent.position, sent.token
    live = store.recall(session, user_id=user_id, attempt_id=attempt_id)
    if live is None or not answerable(live, position, token, now):
        live = store.live_attempt(session, user_id=user_id, attempt_id=attempt_id)  # authority
    if overdue(live, now):
        closing.expire_one(session, live, now=now, ports=ports)
        raise AttemptClosed(
            "Your time ran out before this answer arrived; the attempt was scored on the "
            "answers given before the deadline."
        )
    if not answerable(live, position, token, now):
        return _replay(session, live, position, token, normalise(sent.letters), now, ports)
    assert live.pending_item_id is not None  # answerable
    item = itembank.delivery_item(session, live.pending_item_id)
    answer = check_answer(item, sent.letters)
    # Everything is computed before the first write, so the write transaction (which holds
    # SQLite's single write lock) is only the statements and the commit.
    correct = item.is_correct(answer)
    frozen = bridge.thaw(session, live.id, live.engine_state or live.state)
    state = engine.record_response(
        frozen.state, str(item.version_id), correct, frozen.policy, frozen.pool
    )
    decision = engine.stop_decision(state, frozen.policy)
    stop = str(decision.reason) if decision.stop else None
    pending: Pending = (None, None, None)
    if and_next and stop is None:
        chosen = engine.select_next(state, frozen.policy, frozen.pool)
        if chosen is None:  # no item keeps the constraints (or the bank is spent): it ends
            stop = str(engine.StopReason.BANK_EXHAUSTED)
        else:
            pending = (int(chosen), secrets.token_urlsafe(18), to_db(now))
    after = replace(
        live,
        step=live.step + 1,
        pending_item_id=pending[0],
        pending_token=pending[1],
        pending_presented_at=pending[2],
        state=state.to_dict(),
        engine_state=state,
        status="open" if stop is None else "finished",
    )
    won, result = _record(session, live, after, item, answer, correct, stop, now)
    if not won:  # another request (or process) moved the attempt on a moment earlier
        db.rollback(session)
        store.forget(session, attempt_id)
        live = store.live_attempt(session, user_id=user_id, attempt_id=attempt_id)
        return _replay(session, live, position, token, answer, now, ports)
    if result is not None:
        closing.notify(session, live.id, ports.on_exam_passed, passed=result.passed)
    store.remember(session, after)
    return AnswerOutcome(attempt=after, position=position, accepted=True, duplicate=False)


def _record(
    session: Session, live: Live, after: Live, item: itembank.DeliveryItem, answer: list[str],
    correct: bool, stop: str | None, now: datetime,
) -> tuple[bool, engine.ExamResult | None]:  # fmt: skip
    """The answer's transaction: the conditional UPDATE of the attempt (to after's state and
    pending item), then (if it won) the response, the next item's first-delivery mark, the
    audit entry and, when the attempt ends here, the result; committed. Returns (won, the
    result when this answer ended the attempt). On PostgreSQL the statements after the UPDATE
    and the COMMIT travel in one round trip."""
    chosen = after.pending_item_id
    with prepared.pipelined(session):
        if not store.record_answer(session, live, after):
            return False, None
        store.insert_response(
            session, live, item_version_id=item.version_id, answer=answer, correct=correct, now=now
        )
        if chosen is not None:
            itembank.mark_delivered(session, chosen, now)
        data = {"position": after.step, "item_version_id": item.version_id}
        audit.record(
            session, action="exam.answer", at=now, actor_id=live.user_id,
            subject=f"attempt:{live.id}", data=data,
        )  # fmt: skip
        result = None
        if stop is not None:
            result = closing.finish(session, live, step=after.step, reason=stop, now=now)
        db.commit(session)
    if chosen is not None:
        itembank.marked_committed(session, chosen)
    return True, result


def answer_and_next(
    session: Session, sent: Answer, *, now: datetime, ports: Ports = NO_PORTS
) -> tuple[AnswerOutcome, AttemptView]:
    """Submit the answer with the next item chosen and recorded in its transaction, and the
    view of the attempt that leaves (the next item, or the end).

    One request per question for the API: the answer's response carries the next item. A
    request whose answer was not accepted (a repeat) gets the attempt as it is.
    """
    outcome = submit_answer(session, sent, now=now, ports=ports, and_next=True)
    if not outcome.accepted:
        return outcome, present(
            session=session, user_id=sent.user_id, attempt_id=sent.attempt_id, now=now, ports=ports
        )
    return outcome, view(session, outcome.attempt, now)
