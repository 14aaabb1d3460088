"""Old rows the account tables no longer need, deleted by every sweep (app/cli/sweep.py):
sign-in attempts older than anything the throttle reads back, sessions that ended or
expired, and sign-up and reset requests older than their limit's hour. Each with a margin
of an hour, so a clock a little off never deletes a row still counted."""

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session

from app.accounts import mail_limits, throttle
from app.accounts.models import LoginAttempt, MailRequest, UserSession
from app.core import db
from app.core.clock import to_db
from app.core.config import Settings

MARGIN = timedelta(hours=1)


def attempts_kept(settings: Settings) -> timedelta:
    """How long a sign-in attempt is kept: the longest the throttle looks back (a run of
    failures from one address is remembered a day; the wider limits read their window)."""
    return max(throttle.RUN_MEMORY, timedelta(seconds=settings.login_window_seconds)) + MARGIN


def purge(session: Session, settings: Settings, *, now: datetime) -> dict[str, int]:
    """Delete what is no longer read; how many rows of each table. Commits."""
    attempts = session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < to_db(now - attempts_kept(settings)))
    )
    expired = now - timedelta(seconds=settings.session_max_age_seconds) - MARGIN
    sessions = session.execute(
        delete(UserSession).where(
            or_(
                UserSession.ended_at < to_db(now - MARGIN),
                UserSession.created_at < to_db(expired),
            )
        )
    )
    requests = session.execute(
        delete(MailRequest).where(MailRequest.at < to_db(now - mail_limits.WINDOW - MARGIN))
    )
    db.commit(session)
    return {
        "login_attempt": attempts.rowcount,
        "user_session": sessions.rowcount,
        "mail_request": requests.rowcount,
    }
