"""What a candidate sees of an attempt: the pending question (never its key, parameters or
pool), the time left and its warnings. Pure functions of an attempt and a clock, but for the
pending item's text (itembank's per-process cache)."""

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import Session

from app.core.clock import as_utc
from app.exams.errors import StaleItem
from app.exams.models import ExamAttempt
from app.exams.store import Live
from app.itembank import service as itembank

WARNING_MARKS = (60, 300, 600)  # seconds: the 1, 5 and 10 minute warnings


def seconds_left(attempt: Live | ExamAttempt, now: datetime) -> int:
    return max(0, int((as_utc(attempt.deadline_at) - as_utc(now)).total_seconds()))


def time_warning(left: int) -> str | None:
    """The 10, 5 and 1 minute warnings, in words."""
    for mark in WARNING_MARKS:
        if left <= mark:
            minutes = mark // 60
            return f"Less than {minutes} minute{'s' if minutes > 1 else ''} left."
    return None


def overdue(live: Live, now: datetime) -> bool:
    """Open with its deadline passed: the next request (or the sweep) expires it."""
    return live.status == "open" and as_utc(live.deadline_at) <= as_utc(now)


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


def pending_item(session: Session, attempt: Live | ExamAttempt) -> PendingItem | None:
    if attempt.status != "open" or attempt.pending_item_id is None:
        return None
    item = itembank.delivery_item(session, attempt.pending_item_id)
    return PendingItem(
        position=attempt.step + 1,
        token=attempt.pending_token or "",
        type=item.type,
        stem=item.stem,
        options=list(item.options),
    )


def view(session: Session, attempt: Live | ExamAttempt, now: datetime) -> AttemptView:
    left = seconds_left(attempt, now) if attempt.status == "open" else 0
    return AttemptView(
        attempt=attempt,
        item=pending_item(session, attempt),
        answered=attempt.step,
        seconds_left=left,
        warning=time_warning(left) if attempt.status == "open" else None,
    )


def stale(session: Session, attempt: Live, message: str) -> StaleItem:
    """409 that carries the item now pending (or says the attempt has ended)."""
    item = pending_item(session, attempt)
    current = None if item is None else asdict(item)
    return StaleItem(
        message, extra={"attempt_id": attempt.id, "status": attempt.status, "current": current}
    )
