"""The outbox: every e-mail is a row first; delivery happens after the commit."""

import logging
import smtplib
from datetime import datetime
from email.message import EmailMessage

from sqlmodel import Session, select

from app.core.clock import to_db
from app.core.config import Settings
from app.core.models import OutboxMessage

log = logging.getLogger("wmi.mail")


def queue(
    session: Session, *, to: str, subject: str, body: str, at: datetime, kind: str = "general"
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction."""
    message = OutboxMessage(
        created_at=to_db(at), to_address=to, subject=subject, body=body, kind=kind
    )
    session.add(message)
    session.flush()
    return message


def deliver_pending(session: Session, settings: Settings, *, now: datetime, limit: int = 50) -> int:
    """Send pending messages by SMTP, or print them when no SMTP host is configured."""
    pending = session.exec(
        select(OutboxMessage).where(OutboxMessage.status == "pending").limit(limit)
    ).all()
    for message in pending:
        try:
            if settings.smtp_host:
                _send_smtp(settings, message)
                message.status = "sent"
            else:
                print(f"\n--- mail to {message.to_address}: {message.subject}\n{message.body}\n---")
                message.status = "logged"
            message.sent_at = to_db(now)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail %s not sent: %s", message.id, exc)
            message.error = str(exc)[:500]
        session.add(message)
    session.commit()
    return len(pending)


def _send_smtp(settings: Settings, message: OutboxMessage) -> None:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(email)


def list_messages(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """The newest messages first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.exec(query))
