"""How many sign-ups and reset requests (each mails a link) one e-mail address receives, and
one client address sends, in an hour: counted and refused before any account is looked up,
so the limit and its words are the same whether or not the address has an account.

Counting is atomic, as the sign-in throttle's (app/accounts/throttle.py): a request is recorded
and committed before it counts the others, so the k-th request to commit sees at least k - 1
others, and of any number of simultaneous requests at most the limit are admitted, on either
database and in any number of workers. A refused request takes its row back: refusals do not
count against the address."""

from datetime import datetime, timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, select

from app.accounts.models import MailRequest
from app.core import db
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.errors import TooManyRequests

WINDOW = timedelta(hours=1)


def _recent(session: Session, condition, now: datetime) -> tuple[int, datetime | None]:
    """How many requests match in the last hour, and the oldest of them."""
    count, oldest = session.exec(
        select(func.count(), func.min(MailRequest.at)).where(
            condition, MailRequest.at > to_db(now - WINDOW)
        )
    ).one()
    return count, oldest and as_utc(oldest)


def _refuse(oldest: datetime | None, now: datetime, words: str) -> TooManyRequests:
    wait = (oldest + WINDOW - now) if oldest else WINDOW
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return TooManyRequests(
        f"{words} Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
        extra={"retry_after": int(wait.total_seconds()) + 1},
    )


def admit(
    session: Session, settings: Settings, *, kind: str, email: str, ip: str, now: datetime
) -> None:
    """Record a request to mail `email` from `ip`, or raise TooManyRequests (429, with
    retry_after) when that e-mail address has had WMI_MAIL_REQUESTS_PER_EMAIL_HOUR of them in
    the last hour, or that client address has sent WMI_MAIL_REQUESTS_PER_CLIENT_HOUR. Commits
    the request's row first (call it before anything else is pending in the session)."""
    row = MailRequest(kind=kind, email=email, ip=ip[:64], at=to_db(now))
    session.add(row)
    db.commit(session)  # counted by every request that counts after this one
    limits = (
        (
            MailRequest.email == email,
            settings.mail_requests_per_email_hour,
            "for this e-mail address",
        ),
        (MailRequest.ip == ip[:64], settings.mail_requests_per_client_hour, "from your address"),
    )
    for condition, most, whose in limits:
        count, oldest = _recent(session, and_(condition, MailRequest.id != row.id), now)
        if count >= most:
            session.delete(row)
            db.commit(session)
            words = f"Too many sign-up and password-reset requests {whose} (at most {most} an hour)"
            raise _refuse(oldest, now, words + ", so none was sent.")
