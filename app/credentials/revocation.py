"""Revoking a certificate and undoing it: the public reason, the status-list bit re-signed in
the same commit, the audit entry and the holder's mail."""

from sqlmodel import select

from app.accounts.models import User
from app.core import audit, db
from app.core.clock import to_db
from app.core.errors import Conflict
from app.credentials import notices, statuslist
from app.credentials.models import Certificate, CertificateStatus, StatusList
from app.credentials.service import get_certificate, sign_status_list


def revoke_certificate(
    *, session, settings, number: str, admin: User, reason: str, note: str = "", now
):
    """Revoke a certificate with a public reason (verifiers and the holder read it) and an
    internal note (administrators only); the status list is re-signed in the same commit."""
    cert = get_certificate(session, number, lock=True)
    if cert.status == CertificateStatus.revoked:
        raise Conflict(f"Certificate {cert.number} is already revoked.")
    revoke(session, settings, cert, actor_id=admin.id, reason=reason, note=note, now=now)
    db.commit(session)
    return cert


def revoke(
    session, settings, cert: Certificate, *, actor_id, reason: str, note: str = "", now
) -> None:
    """Revoke (helper); a certificate still awaiting approval has no status-list bit to set."""
    issued = cert.status != CertificateStatus.pending
    cert.status = CertificateStatus.revoked.value
    cert.revoked_at, cert.revoked_by, cert.revocation_reason = to_db(now), actor_id, reason
    cert.revocation_note = note
    if issued:
        set_revoked_bit(session, settings, cert, True, now)
    session.add(cert)
    audit.record(
        session,
        action="certificate.revoked",
        at=now,
        actor_id=actor_id,
        subject=cert.number,
        data={"reason": reason, "note": note},
    )
    notices.revoked(session, settings, cert, at=now)


def reinstate_certificate(
    *, session, settings, number: str, admin: User, reason: str, now
) -> Certificate:
    """Undo a revocation, with the reason (audited, mailed to the holder); a superseded
    certificate goes back to superseded."""
    cert = get_certificate(session, number, lock=True)
    if cert.status != CertificateStatus.revoked:
        raise Conflict(f"Certificate {cert.number} is not revoked.")
    reinstate(session, settings, cert, actor_id=admin.id, reason=reason, now=now)
    db.commit(session)
    return cert


def reinstate(session, settings, cert: Certificate, *, actor_id, reason: str, now) -> None:
    """Undo a revocation (helper): back to superseded, active, or awaiting approval."""
    if cert.superseded_by_id:
        cert.status = CertificateStatus.superseded.value
    elif cert.issued_at is None:
        cert.status = CertificateStatus.pending.value
    else:
        cert.status = CertificateStatus.active.value
    revoked_for, note = cert.revocation_reason, cert.revocation_note
    cert.revoked_at, cert.revoked_by, cert.revocation_reason = None, None, ""
    cert.revocation_note = ""
    if cert.issued_at is not None:
        set_revoked_bit(session, settings, cert, False, now)
    session.add(cert)
    audit.record(
        session,
        action="certificate.reinstated",
        at=now,
        actor_id=actor_id,
        subject=cert.number,
        data={"reason": reason, "revocation_reason": revoked_for, "revocation_note": note},
    )
    notices.reinstated(session, settings, cert, reason=reason, at=now)


def set_revoked_bit(session, settings, cert: Certificate, value: bool, now) -> None:
    # FOR UPDATE (PostgreSQL): two revocations at once must not each write back a copy of the
    # list that lacks the other's bit; SQLite serialises writers by itself.
    sl = session.exec(
        select(StatusList)
        .where(StatusList.id == cert.status_list_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    sl.bits = statuslist.set_bit(sl.bits, cert.status_index, value)
    sign_status_list(session, settings, sl, now)
    session.add(sl)
