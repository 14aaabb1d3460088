"""The certificate holder's e-mails: issued, revoked, reinstated. Plain, transactional text,
queued in the outbox in the caller's transaction (so a mail exists if and only if the change
it reports was committed); nothing to unsubscribe from. The same calls record the webhook
events (app.core.webhooks) in the same transaction."""

from datetime import datetime

from sqlmodel import Session

from app.accounts.models import User
from app.core import mail, webhooks
from app.core.clock import as_utc
from app.core.config import Settings
from app.credentials.models import Certificate

SIGNATURE = (
    "\nWork Management Institute, certification\n"
    "You receive this message because it concerns your own certificate.\n"
)


TEXTS = {
    "issued": (
        "your {track} certificate has been issued.\n\n"
        "Certificate number: {number}\nValid until: {until}\n\n"
        "Public verification page (share it with employers): {verify}\n"
        "PDF certificate: {base}/certificates/{number}.pdf\n"
        "Open Badges 3.0 credential: {base}/credentials/{number}.json"
    ),
    "revoked": (
        "your {track} certificate {number} was revoked on {on}.\n\nReason: {reason}\n\n"
        "Anyone who verifies it now sees it as revoked: {verify}\n"
        "If you believe this is a mistake, reply to this message."
    ),
    "reinstated": (
        "the revocation of your {track} certificate {number} was withdrawn on {on}.\n\n"
        "{reason_line}It verifies again as it did before: {verify}"
    ),
}


def _send(session, settings, cert, *, event: str, at, reason: str = "") -> None:
    """Queue "Your <track> certificate <number> has been <event>" to the holder."""
    user = session.get(User, cert.user_id)
    base = settings.base_url.rstrip("/")
    text = TEXTS[event].format(
        track=cert.track,
        number=cert.number,
        base=base,
        verify=f"{base}/verify/{cert.number}",
        until=as_utc(cert.expires_at).strftime("%d %B %Y") if cert.expires_at else "",
        on=as_utc(at).strftime("%d %B %Y"),
        reason=reason,
        reason_line=f"Reason: {reason}\n\n" if reason else "",
    )
    body = f"Dear {user.name},\n\n{text}\n\nYour certificates: {base}/certificates\n{SIGNATURE}"
    subject = f"Your {cert.track} certificate {cert.number} has been {event}"
    mail.queue(
        session, to=user.email, subject=subject, body=body, at=at, kind=f"certificate_{event}"
    )


def event_data(settings: Settings, cert: Certificate) -> dict:
    """What a webhook says about a certificate: its number, holder, track, dates, addresses."""
    base = settings.base_url.rstrip("/")
    when = {
        name: as_utc(value).isoformat() if value else None
        for name, value in (("issued_at", cert.issued_at), ("expires_at", cert.expires_at))
    }
    return {
        "number": cert.number,
        "track": cert.track,
        "status": cert.status,
        "route": cert.route,
        "holder": {"id": cert.user_id, "name": cert.holder_name},
        "attempt_id": cert.attempt_id,
        **when,
        "verify_url": f"{base}/verify/{cert.number}",
        "credential_url": f"{base}/credentials/{cert.number}.json",
    }


def issued(
    session: Session, settings: Settings, cert: Certificate, *, at: datetime, supersedes=()
) -> None:
    """The certificate has been issued (after a pass, an approval or a renewal); a renewal
    (it supersedes one in force, or CEUs earned it) is also a certificate.renewed event."""
    _send(session, settings, cert, event="issued", at=at)
    data = event_data(settings, cert)
    webhooks.emit(session, "certificate.issued", data, at=at, key=f"issued:{cert.number}")
    if supersedes or cert.route == "ceu":
        renewed = {**data, "supersedes": list(supersedes)}
        webhooks.emit(session, "certificate.renewed", renewed, at=at, key=f"renewed:{cert.number}")


def revoked(session: Session, settings: Settings, cert: Certificate, *, at: datetime) -> None:
    """The certificate has been revoked; the public reason is the one verifiers see."""
    _send(session, settings, cert, event="revoked", at=at, reason=cert.revocation_reason)
    data = {**event_data(settings, cert), "reason": cert.revocation_reason}
    webhooks.emit(session, "certificate.revoked", data, at=at)


def reinstated(
    session: Session, settings: Settings, cert: Certificate, *, reason: str, at: datetime
) -> None:
    """A revocation has been withdrawn."""
    _send(session, settings, cert, event="reinstated", at=at, reason=reason)
    webhooks.emit(session, "certificate.reinstated", event_data(settings, cert), at=at)
