"""Certificates: issue and approve, the status list, and the hooks the exams domain calls.
Revoking and reinstating are in revocation.py."""

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit, db
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.errors import Conflict, NotFound
from app.courses import service as courses
from app.credentials import did, notices, openbadge, signing, statuslist
from app.credentials.models import Certificate, CertificateStatus, StatusList
from app.credentials.schemas import Standing

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
EXPIRING_SOON = timedelta(days=90)
STATUS_PURPOSE = "revocation"


# ---- names and addresses -------------------------------------------------------------------


def new_number(track: str, year: int) -> str:
    """An unguessable, readable number: WMI-CAWM-2026-K7Q4-M2XD (40 random bits)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"WMI-{track}-{year}-{body[:4]}-{body[4:]}"


def normalise_number(number: str) -> str:
    """Accept lower case and the look-alikes people type (O for 0, I or L for 1)."""
    parts = number.strip().upper().split("-")
    if len(parts) != 5:
        return "-".join(parts)
    fix = str.maketrans({"O": "0", "I": "1", "L": "1"})
    return "-".join(parts[:2] + [p.translate(fix) for p in parts[2:]])


@dataclass(frozen=True)
class Urls:
    base: str

    def verify(self, number: str) -> str:
        return f"{self.base}/verify/{number}"

    def credential(self, number: str) -> str:
        return f"{self.base}/credentials/{number}.json"

    def pdf(self, number: str) -> str:
        return f"{self.base}/certificates/{number}.pdf"

    def status_list(self, list_id: int) -> str:
        return f"{self.base}/credentials/status/{list_id}"

    def badge(self, track: str) -> str:
        return f"{self.base}/badges/{track}.png"

    def preview(self, track: str) -> str:
        return f"{self.base}/badges/{track}/preview.png"


def urls(settings: Settings) -> Urls:
    return Urls(settings.base_url.rstrip("/"))


def add_years(value: datetime, years: int) -> datetime:
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


# ---- standing --------------------------------------------------------------------------------


def standing(cert: Certificate, now: datetime) -> Standing:
    """What a verifier should be told about the certificate right now."""
    if cert.status == CertificateStatus.pending:
        return Standing.pending
    if cert.status == CertificateStatus.revoked:
        return Standing.revoked
    if cert.status == CertificateStatus.superseded:
        return Standing.superseded
    expires = as_utc(cert.expires_at)
    if expires <= as_utc(now):
        return Standing.expired
    if expires - as_utc(now) <= EXPIRING_SOON:
        return Standing.expiring_soon
    return Standing.valid


def certified_tracks(session: Session, user_id: int, *, now: datetime) -> set[str]:
    """Tracks on which the user holds a certificate in force (for exam prerequisites)."""
    rows = session.exec(
        select(Certificate).where(
            Certificate.user_id == user_id, Certificate.status == CertificateStatus.active
        )
    ).all()
    return {c.track for c in rows if as_utc(c.expires_at) > as_utc(now)}


def get_certificate(session: Session, number: str, *, lock: bool = False) -> Certificate:
    """An issued certificate by number (pending ones are not public); lock it for a change."""
    query = select(Certificate).where(Certificate.number == normalise_number(number))
    if lock:  # two administrators (or two CEU entries) at once: the second waits, then re-reads
        query = query.with_for_update().execution_options(populate_existing=True)
    cert = session.exec(query).first()
    if cert is None or cert.status == CertificateStatus.pending:
        raise NotFound("There is no certificate with this number.")
    return cert


# ---- the status list -------------------------------------------------------------------------


def sign_status_list(session: Session, settings: Settings, sl: StatusList, now: datetime) -> None:
    key = did.active_key(session, settings)
    unsigned = statuslist.list_credential(
        url=urls(settings).status_list(sl.id),
        issuer=did.did_web(settings.base_url),
        purpose=sl.purpose,
        bits=sl.bits,
        valid_from=openbadge.xsd(as_utc(now)),
    )
    signed = signing.sign(
        unsigned,
        private_key=key.private_key,
        verification_method=key.verification_method,
        created=openbadge.xsd(as_utc(now)),
    )
    sl.credential = json.dumps(signed, ensure_ascii=False)
    sl.updated_at = to_db(now)


def _current_list(session: Session, settings: Settings, now: datetime) -> StatusList:
    """The newest list; a new one once half its positions are taken (random picks stay fast)."""
    sl = session.exec(select(StatusList).order_by(StatusList.id.desc())).first()
    if sl is not None:
        used = session.exec(
            select(func.count(Certificate.id)).where(Certificate.status_list_id == sl.id)
        ).one()
        if used < sl.size // 2:
            return sl
    sl = StatusList(
        purpose=STATUS_PURPOSE,
        size=statuslist.MIN_SIZE,
        bits=statuslist.empty(),
        updated_at=to_db(now),
    )
    session.add(sl)
    session.flush()
    sign_status_list(session, settings, sl, now)
    session.add(sl)
    session.flush()
    return sl


def status_list_credential(session: Session, settings: Settings, list_id: int) -> dict:
    """The signed BitstringStatusListCredential of a list."""
    sl = session.get(StatusList, list_id)
    if sl is None or not sl.credential:
        raise NotFound("There is no such status list.")
    return json.loads(sl.credential)


def _allocate_index(session: Session, sl: StatusList, cert: Certificate) -> None:
    """A random free position; the unique (list, index) pair settles races between workers."""
    for _ in range(50):
        index = statuslist.random_index(sl.size)
        taken = session.exec(
            select(Certificate.id).where(
                Certificate.status_list_id == sl.id, Certificate.status_index == index
            )
        ).first()
        if taken is not None:
            continue
        cert.status_list_id, cert.status_index = sl.id, index
        try:
            with session.begin_nested():
                session.add(cert)
                session.flush()
            return
        except IntegrityError:
            continue
    raise Conflict("The status list is full; try again.")


# ---- issuing ---------------------------------------------------------------------------------


def _sign_certificate(session, settings, cert: Certificate, user: User, now, valid_until) -> None:
    track = courses.get_track(session, cert.track)
    u = urls(settings)
    sl = _current_list(session, settings, now)
    _allocate_index(session, sl, cert)
    unsigned = openbadge.build(
        openbadge.BadgeInput(
            credential_url=u.credential(cert.number),
            verify_url=u.verify(cert.number),
            number=cert.number,
            issuer_did=did.did_web(settings.base_url),
            base_url=u.base,
            track_code=track.code,
            track_title=track.title,
            track_summary=" ".join(track.summary.split()),
            image_url=u.badge(track.code),
            holder_name=cert.holder_name,
            valid_from=as_utc(now),
            valid_until=as_utc(valid_until),
            status=statuslist.entry(list_url=u.status_list(sl.id), index=cert.status_index),
        )
    )
    key = did.active_key(session, settings)
    signed = signing.sign(
        unsigned,
        private_key=key.private_key,
        verification_method=key.verification_method,
        created=openbadge.xsd(as_utc(now)),
    )
    cert.credential = json.dumps(signed, ensure_ascii=False)
    cert.verification_method = key.verification_method


def active_certificates(session: Session, user_id: int, track: str, exclude: int | None) -> list:
    return [
        c
        for c in session.exec(
            select(Certificate).where(
                Certificate.user_id == user_id,
                Certificate.track == track,
                Certificate.status == CertificateStatus.active,
            )
        ).all()
        if c.id != exclude
    ]


def issue(session, settings, cert: Certificate, *, now, actor_id=None) -> Certificate:
    """Sign and activate a certificate; a renewal supersedes the holder's earlier one (helper)."""
    user = session.get(User, cert.user_id)
    track = courses.get_track(session, cert.track)
    years = int(track.policy.get("validity", {}).get("years", 3))
    # only certificates still in force are superseded; an expired one stays expired
    earlier = [
        c
        for c in active_certificates(session, cert.user_id, cert.track, cert.id)
        if as_utc(c.expires_at) > as_utc(now)
    ]
    # renewing before expiry keeps the rest of the running cycle
    start = max([as_utc(now)] + [as_utc(c.expires_at) for c in earlier])
    valid_until = add_years(start, years)
    cert.holder_name = user.name
    _sign_certificate(session, settings, cert, user, now, valid_until)
    cert.status = CertificateStatus.active.value
    cert.issued_at, cert.expires_at = to_db(now), to_db(valid_until)
    cert.issued_by = actor_id
    session.add(cert)
    session.flush()
    for old in earlier:
        old.status = CertificateStatus.superseded.value
        old.superseded_at, old.superseded_by_id = to_db(now), cert.id
        session.add(old)
    audit.record(
        session,
        action="certificate.issued",
        at=now,
        actor_id=actor_id,
        subject=cert.number,
        data={"user_id": cert.user_id, "track": cert.track, "route": cert.route,
              "supersedes": [c.number for c in earlier]},
    )  # fmt: skip
    notices.issued(session, settings, cert, at=now, supersedes=[c.number for c in earlier])
    session.flush()
    return cert


def new_certificate(session, *, user: User, track: str, route: str, earned_at, attempt_id, now):
    """A pending certificate row with a fresh number (helper)."""
    while True:
        number = new_number(track, as_utc(now).year)
        exists = session.exec(select(Certificate.id).where(Certificate.number == number)).first()
        if exists is None:
            break
    cert = Certificate(
        number=number,
        user_id=user.id,
        track=track,
        attempt_id=attempt_id,
        route=route,
        holder_name=user.name,
        earned_at=to_db(earned_at),
        created_at=to_db(now),
    )
    session.add(cert)
    session.flush()
    return cert


def on_exam_passed(
    session: Session,
    attempt_id: int,
    *,
    settings: Settings,
    now: datetime,
    user_id: int | None = None,
    track: str | None = None,
    passed_at: datetime | None = None,
) -> Certificate | None:
    """Record a passed attempt: issue at once or await approval, per the track's policy. Commits.

    Idempotent: a second call for the same attempt returns the first certificate. Without the
    keyword arguments the attempt is read through the exams service.
    """
    if user_id is None or track is None:
        from app.exams import service as exams  # credentials sits above exams in the layering

        attempt = exams.attempt_by_id(session, attempt_id)
        if not attempt.passed:
            return None
        user_id, track = attempt.user_id, attempt.track
        passed_at = attempt.finished_at or now
    existing = session.exec(select(Certificate).where(Certificate.attempt_id == attempt_id)).first()
    if existing is not None:
        return existing
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("There is no such user.")
    policy = courses.get_track(session, track).policy
    had_one = session.exec(
        select(Certificate.id).where(
            Certificate.user_id == user_id,
            Certificate.track == track,
            Certificate.status != CertificateStatus.pending,
        )
    ).first()
    cert = new_certificate(
        session,
        user=user,
        track=track,
        route="reexam" if had_one else "exam",
        earned_at=passed_at or now,
        attempt_id=attempt_id,
        now=now,
    )
    if policy.get("exam", {}).get("approval", "automatic") == "automatic":
        issue(session, settings, cert, now=now)
    else:
        audit.record(
            session,
            action="certificate.pending",
            at=now,
            subject=cert.number,
            data={"user_id": user_id, "track": track, "attempt_id": attempt_id},
        )
    db.commit(session)
    return cert


def approve_certificate(*, session, settings, certificate_id: int, admin: User, now) -> Certificate:
    """An administrator issues the certificate of an approved pass."""
    cert = session.exec(
        select(Certificate)
        .where(Certificate.id == certificate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if cert is None:
        raise NotFound("There is no such certificate.")
    if cert.status != CertificateStatus.pending:
        raise Conflict(f"Certificate {cert.number} has already been issued.")
    issue(session, settings, cert, now=now, actor_id=admin.id)
    db.commit(session)
    return cert
