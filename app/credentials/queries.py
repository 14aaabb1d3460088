"""Reading certificates: the public verification answer, the signed credential, the PDF,
the LinkedIn link and the administrator's list."""

import json
from urllib.parse import urlencode

from sqlmodel import Session, select

from app.accounts.models import User
from app.core.clock import as_utc
from app.core.config import Settings
from app.courses import service as courses
from app.credentials import openbadge
from app.credentials.models import Certificate, CertificateStatus
from app.credentials.schemas import STANDING_LABELS, AdminCertificateRow, Standing, Verification
from app.credentials.service import get_certificate, standing, urls
from app.exams.ports import CertificateNote, HeldCertificate


def verification(session: Session, settings: Settings, number: str, *, now) -> Verification:
    """The public verification answer for a certificate number."""
    cert = get_certificate(session, number)
    track = courses.get_track(session, cert.track)
    state = standing(cert, now)
    successor = session.get(Certificate, cert.superseded_by_id) if cert.superseded_by_id else None
    u = urls(settings)
    return Verification(
        certificate_number=cert.number,
        standing=state,
        label=STANDING_LABELS[state],
        holder_name=cert.holder_name,
        track=cert.track,
        track_title=track.title,
        issuer=openbadge.ISSUER_NAME,
        issued_at=cert.issued_at and as_utc(cert.issued_at),
        expires_at=cert.expires_at and as_utc(cert.expires_at),
        revoked_at=cert.revoked_at and as_utc(cert.revoked_at),
        revocation_reason=cert.revocation_reason or None,
        superseded_by=successor.number if successor else None,
        verify_url=u.verify(cert.number),
        credential_url=u.credential(cert.number),
    )


def certificate_of_attempt(session: Session, attempt_id: int, /) -> CertificateNote | None:
    """The certificate a passed attempt earned (exams' port for its result page)."""
    cert = session.exec(select(Certificate).where(Certificate.attempt_id == attempt_id)).first()
    if cert is None:
        return None
    return CertificateNote(cert.number, cert.status, f"/verify/{cert.number}")


def signed_credential(session: Session, number: str) -> dict:
    """The signed OpenBadgeCredential as issued."""
    return json.loads(get_certificate(session, number).credential)


def linkedin_url(settings: Settings, cert: Certificate, track_title: str) -> str:
    """LinkedIn's add-to-profile link for a certification."""
    issued, expires = as_utc(cert.issued_at), as_utc(cert.expires_at)
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": f"{track_title} ({cert.track})",
        "organizationName": openbadge.ISSUER_NAME,
        "issueYear": issued.year,
        "issueMonth": issued.month,
        "expirationYear": expires.year,
        "expirationMonth": expires.month,
        "certUrl": urls(settings).verify(cert.number),
        "certId": cert.number,
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(query)


def held_certificates(session: Session, user_id: int, *, now) -> dict[str, HeldCertificate]:
    """The user's certificates in force, by track (the latest if ever more than one)."""
    rows = session.exec(
        select(Certificate)
        .where(Certificate.user_id == user_id, Certificate.status == CertificateStatus.active)
        .order_by(Certificate.expires_at)
    ).all()
    return {
        c.track: HeldCertificate(c.number, as_utc(c.expires_at), f"/verify/{c.number}")
        for c in rows
        if as_utc(c.expires_at) > as_utc(now)
    }


def admin_rows(session: Session, *, now, status: str = "") -> list[AdminCertificateRow]:
    """Certificates for the administrator's list, newest first."""
    query = select(Certificate, User).join(User, User.id == Certificate.user_id)
    if status:
        query = query.where(Certificate.status == status)
    rows = session.exec(query.order_by(Certificate.id.desc()).limit(500)).all()
    return [_admin_row(cert, user, now) for cert, user in rows]


def admin_row(session: Session, number: str, *, now) -> AdminCertificateRow:
    """One certificate as the administrator's list shows it (404 for an unknown number)."""
    cert = get_certificate(session, number)
    return _admin_row(cert, session.get(User, cert.user_id), now)


def _admin_row(cert: Certificate, user: User, now) -> AdminCertificateRow:
    state = standing(cert, now)
    return AdminCertificateRow(
        id=cert.id,
        number=cert.number,
        holder_name=cert.holder_name,
        holder_email=user.email,
        track=cert.track,
        route=cert.route,
        standing=state,
        label=STANDING_LABELS[state],
        attempt_id=cert.attempt_id,
        earned_at=as_utc(cert.earned_at),
        issued_at=cert.issued_at and as_utc(cert.issued_at),
        expires_at=cert.expires_at and as_utc(cert.expires_at),
        revocation_reason=cert.revocation_reason,
        revocation_note=cert.revocation_note,
    )


def certificate_pdf(session: Session, settings: Settings, number: str, *, now) -> bytes:
    """The printable certificate with a QR code to its verification page."""
    from app.credentials import pdf

    cert = get_certificate(session, number)
    state = standing(cert, now)
    return pdf.render(
        pdf.CertificatePrint(
            number=cert.number,
            holder_name=cert.holder_name,
            track_code=cert.track,
            track_title=courses.get_track(session, cert.track).title,
            issued_at=as_utc(cert.issued_at),
            expires_at=as_utc(cert.expires_at),
            verify_url=urls(settings).verify(cert.number),
            standing_label=STANDING_LABELS[state],
            in_force=state in (Standing.valid, Standing.expiring_soon),
        )
    )
