"""The outbox: every e-mail is a row first; delivery happens after the commit."""

import base64
import hashlib
import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from cryptography.fernet import Fernet
from sqlmodel import Session, col, select

from app.core import db
from app.core.clock import to_db
from app.core.config import Settings
from app.core.models import OutboxMessage

log = logging.getLogger("wmi.mail")


WITHHELD = "[link withheld: it is sent to the recipient only]"


def _fernet(settings: Settings) -> Fernet:
    """The key that seals a message's secret link: derived from WMI_SECRET_KEY, so a copy of
    the database alone (or the administrator's outbox page) never reveals a working link."""
    digest = hashlib.sha256(b"wmi-outbox-secret\0" + settings.ensure_secret_key().encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def seal(settings: Settings, secret: str) -> str:
    """A secret (a link, a job's password hash) sealed with the key derived from
    WMI_SECRET_KEY, to be kept in the database until it is used."""
    return _fernet(settings).encrypt(secret.encode()).decode()


def unseal(settings: Settings, sealed: str) -> str:
    return _fernet(settings).decrypt(sealed.encode()).decode()


def queue(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    at: datetime,
    kind: str = "general",
    secret: str | None = None,
    settings: Settings | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction.

    A message carrying a secret (a reset or invitation link) has WITHHELD in its body where
    the secret goes; the secret is stored sealed (settings' key) until the message is sent,
    then erased. The outbox page and the server's log show the body with WITHHELD.
    """
    if (secret is None) != (WITHHELD not in body):
        raise ValueError("WITHHELD belongs in the body of a message with a secret, and only there")
    sealed = None
    if secret is not None:
        if settings is None:
            raise ValueError("sealing a secret needs the settings (their secret key)")
        sealed = seal(settings, secret)
    message = OutboxMessage(
        created_at=to_db(at), to_address=to, subject=subject, body=body, kind=kind, sealed=sealed
    )
    session.add(message)
    session.flush()
    return message


def readable_body(message: OutboxMessage, settings: Settings) -> str:
    """The body as the recipient reads it (the secret put back while it is still kept)."""
    if not message.sealed:
        return message.body
    return message.body.replace(WITHHELD, unseal(settings, message.sealed))


def deliver_pending(session: Session, settings: Settings, *, now: datetime, limit: int = 50) -> int:
    """Send pending messages by SMTP, or print them when no SMTP host is configured."""
    pending = session.exec(
        select(OutboxMessage).where(OutboxMessage.status == "pending").limit(limit)
    ).all()
    for message in pending:
        try:
            if settings.smtp_host:
                _send_smtp(settings, message, readable_body(message, settings))
                message.status = "sent"
            else:  # development: printed, the secret only if WMI_MAIL_LOG_SECRETS asks for it
                body = message.body
                if settings.mail_log_secrets:
                    body = readable_body(message, settings)
                print(f"\n--- mail to {message.to_address}: {message.subject}\n{body}\n---")
                message.status = "logged"
            message.sent_at, message.sealed = to_db(now), None  # the secret is gone for good
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail %s not sent: %s", message.id, exc)
            message.error = str(exc)[:500]
        session.add(message)
    db.commit(session)
    return len(pending)


def _send_smtp(settings: Settings, message: OutboxMessage, body: str) -> None:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(email)


def list_messages(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages first."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(limit)
    return list(session.exec(query))
