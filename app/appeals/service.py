"""Appeals, item flags and complaints: what candidates raise and how administrators decide.

A decision on an appeal commits the case, the exam decision (a rescore or a void: a new record,
never a change to the attempt), the candidate's mail and a job that makes the certificate follow
the decision (app/appeals/jobs.py), all in one transaction.
"""

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.appeals.errors import WindowClosed
from app.appeals.models import Case, ItemFlag
from app.core import audit, db, jobs, mail, webhooks
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.exams import service as exams
from app.exams.models import ExamAttempt

APPEAL_OUTCOMES = ("dismissed", "rescored", "voided")
COMPLAINT_OUTCOMES = ("upheld", "not_upheld")
CERTIFICATE_JOB = "appeals.certificate"


def _window(attempt: ExamAttempt, length: timedelta, what: str, now: datetime) -> None:
    opened = as_utc(attempt.finished_at or attempt.started_at)
    closes = opened + length
    if as_utc(now) > closes:
        raise WindowClosed(
            f"The window for {what} attempt {attempt.id} ran from {opened:%d %B %Y %H:%M} to "
            f"{closes:%d %B %Y %H:%M} UTC; it has closed."
        )


def _closed_attempt(session: Session, user: User, attempt_id: int) -> ExamAttempt:
    attempt = exams.get_attempt(session, user_id=user.id, attempt_id=attempt_id)  # others': 404
    if attempt.status == "open":
        raise Conflict("This attempt is still in progress; you can appeal once it has ended.")
    return attempt


def _text(value: str, label: str, low: int, high: int) -> str:
    value = value.strip()
    if not low <= len(value) <= high:
        raise InvalidInput(f"{label} must be {low} to {high} characters.")
    return value


def submit_appeal(
    *, session: Session, settings: Settings, user: User, attempt_id: int, grounds: str, now
) -> Case:
    """A candidate appeals their result, with grounds, within the appeal window."""
    grounds = _text(grounds, "The grounds of an appeal", 20, 5000)
    attempt = _closed_attempt(session, user, attempt_id)
    _window(attempt, timedelta(days=settings.appeal_window_days), "appealing", now)
    pending = session.exec(
        select(Case.id).where(Case.attempt_id == attempt.id, Case.status == "open")
    ).first()
    if pending is not None:
        raise Conflict(f"Your appeal {pending} against this result is still being reviewed.")
    case = Case(
        kind="appeal",
        user_id=user.id,
        attempt_id=attempt.id,
        grounds=grounds,
        subject=f"Result of attempt {attempt.id} ({attempt.track})",
        submitted_at=to_db(now),
    )
    session.add(case)
    session.flush()
    _record(session, case, "appeal.submitted", user.id, now)
    db.commit(session)
    return case


def submit_complaint(*, session: Session, user: User, subject: str, grounds: str, now) -> Case:
    """A complaint about the process (not a result)."""
    case = Case(
        kind="complaint",
        user_id=user.id,
        subject=_text(subject, "The subject", 3, 200),
        grounds=_text(grounds, "A complaint", 20, 5000),
        submitted_at=to_db(now),
    )
    session.add(case)
    session.flush()
    _record(session, case, "complaint.submitted", user.id, now)
    db.commit(session)
    return case


def flag_item(
    *,
    session: Session,
    settings: Settings,
    user: User,
    attempt_id: int,
    position: int,
    comment: str,
    now: datetime,
) -> ItemFlag:
    """Right after an exam, the candidate reports one of its items as faulty."""
    comment = _text(comment, "What is wrong with the question", 5, 2000)
    attempt = _closed_attempt(session, user, attempt_id)
    _window(attempt, timedelta(hours=settings.item_flag_window_hours), "flagging items of", now)
    line = next(
        (r for r in exams.responses_of(session, attempt.id) if r.position == position), None
    )
    if line is None:
        raise NotFound(f"Your attempt has no question {position}.")
    flag = ItemFlag(
        attempt_id=attempt.id,
        user_id=user.id,
        position=position,
        item_version_id=line.item_version_id,
        comment=comment,
        flagged_at=to_db(now),
    )
    try:
        with session.begin_nested():
            session.add(flag)
    except IntegrityError as exc:
        raise Conflict(f"You have already flagged question {position}.") from exc
    audit.record(
        session,
        action="appeal.item_flagged",
        at=now,
        actor_id=user.id,
        subject=f"attempt:{attempt.id}",
        data={"position": position},
    )
    db.commit(session)
    return flag


def _record(session, case: Case, action: str, actor_id: int, now, **data) -> None:
    audit.record(
        session,
        action=action,
        at=now,
        actor_id=actor_id,
        subject=f"case:{case.id}",
        data={"kind": case.kind, "attempt_id": case.attempt_id, **data},
    )


def get_case(session: Session, case_id: int, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    case = session.exec(query.with_for_update() if lock else query).first()
    if case is None:
        raise NotFound("There is no such appeal or complaint.")
    return case


def _apply(session, case: Case, outcome: str, exclude: list[int], reasons: str, admin, now):
    """The exam decision an appeal's outcome needs (None for a dismissal)."""
    source = f"appeal {case.id}"
    if outcome == "voided":
        return exams.void(
            session,
            attempt_id=case.attempt_id,
            reason=reasons,
            source=source,
            actor_id=admin.id,
            now=now,
        )
    if outcome != "rescored":
        return None
    logged = {r.item_version_id for r in exams.responses_of(session, case.attempt_id)}
    if not exclude or not set(exclude) <= logged:
        raise InvalidInput("A rescore withdraws one or more items of this attempt; choose them.")
    return exams.rescore(
        session,
        attempt_id=case.attempt_id,
        exclude=exclude,
        reason=reasons,
        source=source,
        actor_id=admin.id,
        now=now,
    )


def decide(
    *,
    session: Session,
    admin: User,
    case_id: int,
    outcome: str,
    reasons: str,
    now: datetime,
    exclude: list[int] = (),
) -> Case:
    """An administrator (never the person who raised it) decides an appeal or a complaint; the
    candidate is told by mail, and a certificate follows a changed decision (a job)."""
    case = get_case(session, case_id, lock=True)
    if case.user_id == admin.id:
        raise Forbidden("You raised this case; another administrator must review it.")
    if case.status != "open":
        raise Conflict(f"Case {case.id} was decided on {as_utc(case.decided_at):%d %B %Y}.")
    allowed = APPEAL_OUTCOMES if case.kind == "appeal" else COMPLAINT_OUTCOMES
    if outcome not in allowed:
        raise InvalidInput(f"Choose an outcome: {', '.join(allowed)}.")
    reasons = _text(reasons, "The reasons for the decision", 10, 5000)
    decision = _apply(session, case, outcome, list(exclude), reasons, admin, now)
    case.status, case.outcome, case.reasons = "decided", outcome, reasons
    case.decided_by, case.decided_at = admin.id, to_db(now)
    case.decision_id = decision.id if decision else None
    session.add(case)
    if decision is not None:
        jobs.enqueue(
            session,
            CERTIFICATE_JOB,
            {"decision_id": decision.id},
            at=now,
            key=f"decision:{decision.id}",
        )
    _tell(session, case, decision, now)
    webhooks.emit(session, "appeal.decided", _event_data(case, decision), at=now,
                  key=f"appeal.decided:{case.id}")  # fmt: skip
    _record(
        session, case, "appeal.decided", admin.id, now, outcome=outcome, decision=case.decision_id
    )
    db.commit(session)
    return case


def _event_data(case: Case, decision) -> dict:
    """What the appeal.decided webhook says: the case, its outcome, the new result if any."""
    return {
        "case_id": case.id,
        "kind": case.kind,
        "attempt_id": case.attempt_id,
        "candidate": {"id": case.user_id},
        "outcome": case.outcome,
        "decided_at": as_utc(case.decided_at).isoformat(),
        "decision": None
        if decision is None
        else {"kind": decision.kind, "passed": decision.passed},
    }


def _tell(session: Session, case: Case, decision, now) -> None:
    user = session.get(User, case.user_id)
    what = "appeal" if case.kind == "appeal" else "complaint"
    lines = [
        f"Hello {user.name},",
        "",
        f"Your {what} '{case.subject}' has been decided: {case.outcome.replace('_', ' ')}.",
        "",
        case.reasons,
        "",
    ]
    if decision is not None and decision.kind == "rescore":
        verdict = "pass" if decision.passed else "fail"
        lines += [
            f"Your result now stands as a {verdict} with a scaled score of "
            f"{decision.scaled_score}.",
            "",
        ]
    elif decision is not None:
        lines += ["The attempt no longer counts, and you may take the exam again at once.", ""]
    lines += ["You can follow your cases on your appeals page."]
    mail.queue(
        session,
        to=user.email,
        subject=f"Your {what} has been decided",
        kind="appeal",
        body="\n".join(lines),
        at=now,
    )
