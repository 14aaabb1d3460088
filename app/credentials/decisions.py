"""Certificates that follow a later decision on the attempt that earned them."""

from datetime import datetime

from sqlmodel import Session, select

from app.core import db
from app.core.config import Settings
from app.credentials.models import Certificate, CertificateStatus
from app.credentials.revocation import reinstate, revoke
from app.credentials.service import on_exam_passed


def follow_decision(
    *,
    session: Session,
    settings: Settings,
    attempt_id: int,
    user_id: int,
    track: str,
    passed: bool,
    reason: str,
    actor_id: int,
    now: datetime,
) -> Certificate | None:
    """Make the certificate earned by an attempt agree with a later decision on it (a rescore
    or a void): issue it after a pass (or await approval, per the track), reinstate it if an
    earlier decision revoked it, revoke it with the reason after a fail or a void. Idempotent;
    commits. The attempt's certificate, if it has one."""
    cert = session.exec(
        select(Certificate)
        .where(Certificate.attempt_id == attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if passed and cert is None:
        return on_exam_passed(
            session,
            attempt_id,
            settings=settings,
            now=now,
            user_id=user_id,
            track=track,
            passed_at=now,
        )
    if cert is None:
        return None
    if passed and cert.status == CertificateStatus.revoked:
        reinstate(session, settings, cert, actor_id=actor_id, reason=reason, now=now)
    elif not passed and cert.status != CertificateStatus.revoked:
        revoke(session, settings, cert, actor_id=actor_id, reason=reason, now=now)
    db.commit(session)
    return cert
