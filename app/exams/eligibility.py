"""Who may start an exam and from when: prerequisites, waivers, retakes, accommodations."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.core import audit, db
from app.core.clock import as_utc, to_db
from app.core.errors import InvalidInput, NotFound
from app.courses import service as courses
from app.exams import rescoring
from app.exams.models import Accommodation, ExamAttempt, ExamWaiver
from app.exams.ports import CertifiedTracks

FACTOR_MIN, FACTOR_MAX = 1.0, 4.0


@dataclass(frozen=True)
class Eligibility:
    """Whether the user may start the track's exam now; if not, why and from when."""

    track: str
    eligible: bool
    reasons: list[str] = field(default_factory=list)
    available_from: datetime | None = None
    open_attempt_id: int | None = None
    attempts_last_12_months: int = 0
    max_attempts_per_12_months: int = 0
    waiver: bool = False
    time_factor: float = 1.0


def active_waiver(session: Session, *, user_id: int, track: str) -> ExamWaiver | None:
    return session.exec(
        select(ExamWaiver)
        .where(
            ExamWaiver.user_id == user_id,
            ExamWaiver.track == track,
            ExamWaiver.withdrawn_at.is_(None),
        )
        .order_by(ExamWaiver.id.desc())
    ).first()


def active_accommodation(session: Session, *, user_id: int) -> Accommodation | None:
    return session.exec(
        select(Accommodation)
        .where(Accommodation.user_id == user_id, Accommodation.withdrawn_at.is_(None))
        .order_by(Accommodation.id.desc())
    ).first()


def time_factor(session: Session, *, user_id: int) -> float:
    row = active_accommodation(session, user_id=user_id)
    return row.time_factor if row else 1.0


def _attempts(session: Session, user_id: int, track: str) -> list[ExamAttempt]:
    """The user's attempts on the track: only the columns the rules read (no JSON columns)."""
    return list(
        session.exec(
            select(ExamAttempt)
            .options(
                load_only(
                    ExamAttempt.id,
                    ExamAttempt.status,
                    ExamAttempt.started_at,
                    ExamAttempt.finished_at,
                )
            )
            .where(ExamAttempt.user_id == user_id, ExamAttempt.track == track)
            .order_by(ExamAttempt.started_at)
            .execution_options(populate_existing=True)  # the exam loop writes with Core
        )
    )


def _prerequisite_reason(session, user_id, code, policy, certified_tracks) -> tuple:
    pre = policy["prerequisites"]
    needed = list(pre.get("any_of") or [])
    if not needed or set(certified_tracks(session, user_id)) & set(needed):
        return None, False
    if pre.get("waiver_allowed") and active_waiver(session, user_id=user_id, track=code):
        return None, True
    names = " or ".join(needed)
    how = " or an administrator's waiver" if pre.get("waiver_allowed") else ""
    return f"The {code} exam requires an active {names} certificate{how}.", False


def check(
    session: Session, *, user_id: int, track: str, now: datetime, certified_tracks: CertifiedTracks
) -> Eligibility:
    """Apply the track's rules in order; every rule that blocks adds its reason."""
    row = courses.get_track(session, track)
    policy, exam = row.policy, row.policy["exam"]
    now = as_utc(now)
    reasons: list[str] = []
    dates: list[datetime] = []
    attempts = _attempts(session, user_id, row.code)
    voided = rescoring.voided_attempts(session, user_id=user_id, track=row.code)
    attempts = [a for a in attempts if a.id not in voided]  # a voided attempt is retaken free
    open_attempt = next((a for a in attempts if a.status == "open"), None)
    if open_attempt is not None:
        reasons.append("You have an attempt in progress on this exam; resume it.")
    prereq, waived = _prerequisite_reason(session, user_id, row.code, policy, certified_tracks)
    if prereq:
        reasons.append(prereq)
    closed = [a for a in attempts if a.status != "open"]
    if closed:
        last = as_utc(closed[-1].finished_at or closed[-1].started_at)
        retake_at = last + timedelta(days=exam["retake_wait_days"])
        if retake_at > now:
            # the date is available_from, shown once in the reader's time zone
            reasons.append(
                f"After an attempt you wait {exam['retake_wait_days']} days before the next."
            )
            dates.append(retake_at)
    since = now - relativedelta(months=12)
    window = [as_utc(a.started_at) for a in attempts if as_utc(a.started_at) > since]
    limit = exam["max_attempts_per_12_months"]
    if len(window) >= limit:
        free_at = window[len(window) - limit] + relativedelta(months=12)
        reasons.append(f"You may start at most {limit} attempts in 12 months.")
        dates.append(free_at)
    return Eligibility(
        track=row.code,
        eligible=not reasons,
        reasons=reasons,
        available_from=max(dates) if dates and not prereq and open_attempt is None else None,
        open_attempt_id=open_attempt.id if open_attempt else None,
        attempts_last_12_months=len(window),
        max_attempts_per_12_months=limit,
        waiver=waived,
        time_factor=time_factor(session, user_id=user_id),
    )


def _reason(text: str) -> str:
    text = (text or "").strip()
    if len(text) < 3:
        raise InvalidInput("Give a reason (a few words at least).")
    return text[:500]


def _withdraw(session: Session, row, *, actor: User, reason: str, now: datetime) -> None:
    """Close a waiver or an accommodation (rows are kept: the history is the record)."""
    row.withdrawn_at, row.withdrawn_by, row.withdraw_reason = to_db(now), actor.id, reason
    session.add(row)


def grant_waiver(
    *, session: Session, actor: User, user_id: int, track: str, reason: str, now: datetime
) -> ExamWaiver:
    """Waive the prerequisite of a track for one user (replaces an active waiver)."""
    reason, user = _reason(reason), accounts.get_user(session, user_id)
    row = courses.get_track(session, track)
    if not row.policy["prerequisites"].get("waiver_allowed"):
        raise InvalidInput(f"The {row.code} exam does not allow prerequisite waivers.")
    old = active_waiver(session, user_id=user.id, track=row.code)
    if old is not None:
        _withdraw(session, old, actor=actor, reason="replaced", now=now)
    waiver = ExamWaiver(
        user_id=user.id, track=row.code, reason=reason, granted_by=actor.id, granted_at=to_db(now)
    )
    session.add(waiver)
    session.flush()
    audit.record(
        session,
        action="exam.waiver.grant",
        at=now,
        actor_id=actor.id,
        subject=f"user:{user.id}",
        data={"track": row.code, "reason": reason, "waiver_id": waiver.id},
    )
    db.commit(session)
    return waiver


def withdraw_waiver(
    *, session: Session, actor: User, user_id: int, track: str, reason: str, now: datetime
) -> ExamWaiver:
    reason = _reason(reason)
    waiver = active_waiver(session, user_id=user_id, track=track.upper())
    if waiver is None:
        raise NotFound("This user has no active waiver for that track.")
    _withdraw(session, waiver, actor=actor, reason=reason, now=now)
    audit.record(
        session,
        action="exam.waiver.withdraw",
        at=now,
        actor_id=actor.id,
        subject=f"user:{user_id}",
        data={"track": waiver.track, "reason": reason, "waiver_id": waiver.id},
    )
    db.commit(session)
    return waiver


def grant_accommodation(
    *, session: Session, actor: User, user_id: int, factor: float, reason: str, now: datetime
) -> Accommodation:
    """Give a candidate extra time (a factor on every later attempt's limit)."""
    reason, user = _reason(reason), accounts.get_user(session, user_id)
    if not FACTOR_MIN < factor <= FACTOR_MAX:
        raise InvalidInput(f"The time factor must be above {FACTOR_MIN} and at most {FACTOR_MAX}.")
    old = active_accommodation(session, user_id=user.id)
    if old is not None:
        _withdraw(session, old, actor=actor, reason="replaced", now=now)
    row = Accommodation(
        user_id=user.id,
        time_factor=round(float(factor), 3),
        reason=reason,
        granted_by=actor.id,
        granted_at=to_db(now),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="exam.accommodation.grant",
        at=now,
        actor_id=actor.id,
        subject=f"user:{user.id}",
        data={"factor": row.time_factor, "reason": reason, "accommodation_id": row.id},
    )
    db.commit(session)
    return row


def withdraw_accommodation(
    *, session: Session, actor: User, user_id: int, reason: str, now: datetime
) -> Accommodation:
    """Withdraw for later attempts; an attempt already started keeps its deadline."""
    reason = _reason(reason)
    row = active_accommodation(session, user_id=user_id)
    if row is None:
        raise NotFound("This user has no active accommodation.")
    _withdraw(session, row, actor=actor, reason=reason, now=now)
    audit.record(
        session,
        action="exam.accommodation.withdraw",
        at=now,
        actor_id=actor.id,
        subject=f"user:{user_id}",
        data={"reason": reason, "accommodation_id": row.id},
    )
    db.commit(session)
    return row


def waivers_and_accommodations(session: Session) -> tuple[list, list]:
    """Every active waiver and accommodation with the holder (administrator pages)."""
    waivers = session.exec(
        select(ExamWaiver, User)
        .join(User, User.id == ExamWaiver.user_id)
        .where(col(ExamWaiver.withdrawn_at).is_(None))
        .order_by(col(ExamWaiver.granted_at).desc())
    ).all()
    accs = session.exec(
        select(Accommodation, User)
        .join(User, User.id == Accommodation.user_id)
        .where(col(Accommodation.withdrawn_at).is_(None))
        .order_by(col(Accommodation.granted_at).desc())
    ).all()
    return list(waivers), list(accs)
