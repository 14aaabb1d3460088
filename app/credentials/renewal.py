"""Renewal: continuing-education units, the certificant's page, and expiry reminders."""

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit, db, mail
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.errors import Conflict, InvalidInput
from app.courses import service as courses
from app.credentials import queries, service
from app.credentials.models import Certificate, CertificateReminder, CertificateStatus, CeuActivity
from app.credentials.schemas import (
    STANDING_LABELS,
    CertificateView,
    CeuCreate,
    RenewalProgress,
    Standing,
)

REMINDER_DAYS = (90, 30, 7)


def _in_force(session: Session, user_id: int, track: str, now: datetime) -> Certificate | None:
    for cert in service.active_certificates(session, user_id, track, None):
        if as_utc(cert.expires_at) > as_utc(now):
            return cert
    return None


def _required_units(session: Session, track: str) -> float:
    policy = courses.get_track(session, track).policy
    return float(policy.get("validity", {}).get("renewal_ceu", 0))


def earned_units(session: Session, certificate_id: int) -> float:
    total = session.exec(
        select(func.sum(CeuActivity.units)).where(CeuActivity.certificate_id == certificate_id)
    ).one()
    return float(total or 0)


def log_activity(
    *, session, settings: Settings, user: User, data: CeuCreate, now
) -> tuple[Certificate, bool]:
    """Log a CEU activity against the certificate in force; renew it when the units are met.

    Returns the certificate in force afterwards and whether it is a renewal.
    """
    track = data.track.upper()
    cert = _in_force(session, user.id, track, now)
    if cert is not None:  # lock it: two entries crossing the threshold at once renew once
        cert = service.get_certificate(session, cert.number, lock=True)
        if cert.status != CertificateStatus.active:
            cert = None
    if cert is None:
        raise Conflict(
            f"You hold no {track} certificate in force; an expired certificate is renewed by "
            "re-examination."
        )
    if not as_utc(cert.issued_at).date() <= data.activity_date <= as_utc(now).date():
        raise InvalidInput("The activity date must fall within the current certification cycle.")
    session.add(
        CeuActivity(
            user_id=user.id,
            track=track,
            certificate_id=cert.id,
            provider=data.provider,
            activity_date=data.activity_date,
            units=data.units,
            category=data.category.value,
            note=data.note,
            created_at=to_db(now),
        )
    )
    session.flush()
    audit.record(
        session, action="ceu.logged", at=now, actor_id=user.id, subject=cert.number,
        data={"units": data.units, "provider": data.provider},
    )  # fmt: skip
    result, renewed = cert, False
    if earned_units(session, cert.id) >= _required_units(session, track):
        fresh = service.new_certificate(
            session, user=user, track=track, route="ceu", earned_at=now, attempt_id=None, now=now
        )
        result = service.issue(session, settings, fresh, now=now)
        renewed = True
    db.commit(session)
    return result, renewed


def my_certificates(session: Session, settings: Settings, user: User, *, now) -> list:
    """The certificant's issued certificates, newest first, with renewal progress."""
    rows = session.exec(
        select(Certificate)
        .where(Certificate.user_id == user.id, Certificate.status != CertificateStatus.pending)
        .order_by(Certificate.id.desc())
    ).all()
    u = service.urls(settings)
    views = []
    for cert in rows:
        track = courses.get_track(session, cert.track)
        state = service.standing(cert, now)
        renewal, activities = None, []
        if state in (Standing.valid, Standing.expiring_soon):
            renewal = RenewalProgress(
                required_units=_required_units(session, cert.track),
                earned_units=earned_units(session, cert.id),
                cycle_ends=as_utc(cert.expires_at),
            )
            activities = [
                {"provider": a.provider, "date": a.activity_date, "units": a.units,
                 "category": a.category, "note": a.note}
                for a in session.exec(
                    select(CeuActivity).where(CeuActivity.certificate_id == cert.id)
                    .order_by(CeuActivity.activity_date)
                ).all()
            ]  # fmt: skip
        views.append(
            CertificateView(
                number=cert.number,
                track=cert.track,
                track_title=track.title,
                standing=state,
                label=STANDING_LABELS[state],
                issued_at=as_utc(cert.issued_at),
                expires_at=as_utc(cert.expires_at),
                revocation_reason=cert.revocation_reason,
                verify_url=u.verify(cert.number),
                credential_url=u.credential(cert.number),
                pdf_url=u.pdf(cert.number),
                linkedin_url=queries.linkedin_url(settings, cert, track.title),
                renewal=renewal,
                activities=activities,
            )
        )
    return views


def _reminder_body(settings: Settings, cert: Certificate, user: User, days_left: int) -> str:
    u = service.urls(settings)
    return (
        f"Dear {user.name},\n\n"
        f"your certificate {cert.number} ({cert.track}) expires on "
        f"{as_utc(cert.expires_at):%d %B %Y}, in {days_left} days.\n\n"
        f"Renew it by logging your continuing-education units, or by passing the exam again:\n"
        f"{u.base}/certificates\n\n"
        f"Public verification page: {u.verify(cert.number)}\n\n"
        "Work Management Institute\n"
    )


def send_reminders(*, session: Session, settings: Settings, now: datetime) -> int:
    """Queue the 90-, 30- and 7-day expiry reminders that are due, each once. Commits."""
    horizon = to_db(as_utc(now) + timedelta(days=max(REMINDER_DAYS)))
    due = session.exec(
        select(Certificate).where(
            Certificate.status == CertificateStatus.active,
            Certificate.expires_at > to_db(now),
            Certificate.expires_at <= horizon,
        )
    ).all()
    queued = 0
    for cert in due:
        left = as_utc(cert.expires_at) - as_utc(now)
        thresholds = [d for d in REMINDER_DAYS if left <= timedelta(days=d)]
        sent = set(
            session.exec(
                select(CertificateReminder.days_before).where(
                    CertificateReminder.certificate_id == cert.id
                )
            ).all()
        )
        if min(thresholds) in sent:
            continue
        # a sweep that was down sends only the most urgent reminder, and marks the rest as done
        try:
            with session.begin_nested():
                for days in thresholds:
                    if days not in sent:
                        session.add(
                            CertificateReminder(
                                certificate_id=cert.id, days_before=days, sent_at=to_db(now)
                            )
                        )
                session.flush()
        except IntegrityError:  # another sweep got there first
            continue
        user = session.get(User, cert.user_id)
        mail.queue(
            session,
            to=user.email,
            subject=f"Your {cert.track} certificate expires in {left.days} days",
            body=_reminder_body(settings, cert, user, left.days),
            at=now,
            kind="certificate_reminder",
        )
        queued += 1
    db.commit(session)
    return queued
