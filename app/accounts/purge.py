"""Old rows the account tables no longer need, deleted by every sweep (app/cli/sweep.py):
sign-in attempts older than anything the throttle reads back, sessions that ended or
expired, sign-up and reset requests older than their limit's hour, sign-ups never confirmed
(accounts whose every confirmation link has expired, if nothing else refers to them), and
sign-ins at an OpenID Provider done or abandoned. Each with a margin of an hour, so a clock a
little off never deletes a row still counted."""

from datetime import datetime, timedelta

from sqlalchemy import delete, false, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import mail_limits, throttle
from app.accounts.models import (
    LoginAttempt,
    MailRequest,
    OidcFlow,
    PasswordReset,
    User,
    UserSession,
)
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
    # a flow is read for its flow time, then (waiting for a link) as long again
    flows_before = now - 2 * timedelta(seconds=settings.oidc_flow_seconds) - MARGIN
    flows = session.execute(delete(OidcFlow).where(OidcFlow.created_at < to_db(flows_before)))
    db.commit(session)
    return {
        "user_account": _abandoned_sign_ups(session, settings, now),
        "oidc_flow": flows.rowcount,
        "login_attempt": attempts.rowcount,
        "user_session": sessions.rowcount,
        "mail_request": requests.rowcount,
    }


def _abandoned_sign_ups(session: Session, settings: Settings, now: datetime) -> int:
    """Delete the accounts of sign-ups never confirmed: made more than the link's lifetime ago,
    with no link still valid (a new sign-up for the address mails a new one). One by one, each
    with its links: an account something else refers to (an administrator acted on it) is kept.
    Commits."""
    ttl = timedelta(seconds=settings.signup_confirm_ttl_seconds)
    live_link = (
        select(PasswordReset.id)
        .where(PasswordReset.user_id == User.id, PasswordReset.expires_at > to_db(now - MARGIN))
        .exists()
    )
    ids = session.exec(
        select(User.id).where(
            User.confirmed == false(), User.created_at < to_db(now - ttl - MARGIN), ~live_link
        )
    ).all()
    deleted = 0
    for user_id in ids:
        try:
            session.execute(delete(PasswordReset).where(PasswordReset.user_id == user_id))
            session.execute(delete(User).where(User.id == user_id, User.confirmed == false()))
            db.commit(session)
            deleted += 1
        except IntegrityError:
            db.rollback(session)
    return deleted
