"""What the appeal pages show: a candidate's cases and attempt, an administrator's review."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.accounts.models import User
from app.appeals.models import Case, ItemFlag
from app.appeals.service import get_case
from app.core.clock import as_utc
from app.core.config import Settings
from app.exams import service as exams
from app.exams.models import ExamAttempt, ExamDecision
from app.itembank import service as itembank


def my_cases(session: Session, *, user: User) -> list[Case]:
    query = select(Case).where(Case.user_id == user.id).order_by(Case.id.desc())
    return list(session.exec(query))


@dataclass(frozen=True)
class AttemptAppeal:
    """A candidate's closed attempt: the appeal and flag windows, their flags and cases, the
    decision in force, and the questions they may flag (position and the start of the stem)."""

    attempt: ExamAttempt
    appeal_until: datetime
    flag_until: datetime
    questions: list[tuple[int, str]]
    flags: list[ItemFlag]
    cases: list[Case]
    decision: ExamDecision | None


def attempt_appeal(
    session: Session, *, settings: Settings, user: User, attempt_id: int
) -> AttemptAppeal:
    attempt = exams.get_attempt(session, user_id=user.id, attempt_id=attempt_id)
    ended = as_utc(attempt.finished_at or attempt.started_at)
    responses = exams.responses_of(session, attempt.id) if attempt.status != "open" else []
    questions = [
        (r.position, itembank.delivery_item(session, r.item_version_id).stem[:120])
        for r in responses
    ]
    flags = session.exec(select(ItemFlag).where(ItemFlag.attempt_id == attempt.id)).all()
    cases = session.exec(select(Case).where(Case.attempt_id == attempt.id)).all()
    return AttemptAppeal(
        attempt=attempt,
        appeal_until=ended + timedelta(days=settings.appeal_window_days),
        flag_until=ended + timedelta(hours=settings.item_flag_window_hours),
        questions=questions,
        flags=list(flags),
        cases=list(cases),
        decision=exams.in_force(session, attempt.id).decision,
    )


@dataclass(frozen=True)
class FlagRow:
    flag: ItemFlag
    code: str
    p_value: float | None
    responses: int


@dataclass(frozen=True)
class CaseReview:
    """An administrator's view of a case: the person, the attempt's log, its flags with each
    item's statistics, and every decision on the attempt."""

    case: Case
    person: User
    log: object | None  # exams.AttemptLog
    flags: list[FlagRow]
    decisions: list[ExamDecision]


def case_review(session: Session, *, case_id: int) -> CaseReview:
    case = get_case(session, case_id)
    log = exams.admin_attempt(session, attempt_id=case.attempt_id) if case.attempt_id else None
    rows = []
    if case.attempt_id:
        flags = session.exec(
            select(ItemFlag)
            .where(ItemFlag.attempt_id == case.attempt_id)
            .order_by(ItemFlag.position)
        ).all()
        stats = exams.p_values(session, [f.item_version_id for f in flags])
        codes = {r.response.item_version_id: r.code for r in log.responses}
        for f in flags:
            p, n = stats.get(f.item_version_id, (None, 0))
            rows.append(FlagRow(f, codes.get(f.item_version_id, "?"), p, n))
    return CaseReview(
        case=case,
        person=session.get(User, case.user_id),
        log=log,
        flags=rows,
        decisions=exams.decisions(session, case.attempt_id) if case.attempt_id else [],
    )


def open_cases(session: Session) -> list[tuple[Case, User]]:
    rows = session.exec(
        select(Case, User)
        .join(User, User.id == Case.user_id)
        .order_by(Case.status.desc(), Case.id.desc())
        .limit(200)
    ).all()
    return list(rows)


def recent_flags(session: Session, *, limit: int = 100) -> list[ItemFlag]:
    return list(session.exec(select(ItemFlag).order_by(ItemFlag.id.desc()).limit(limit)))
