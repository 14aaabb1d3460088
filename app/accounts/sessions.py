"""Sign-in and sessions: check a password under the throttle, start a session kept on the
server, end it at sign-out, and find the user a session cookie names."""

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from app.accounts import devices, sso_domains, throttle
from app.accounts.models import LoginAttempt, User, UserSession
from app.accounts.service import find_user, normalise_email
from app.core import audit, db
from app.core.clock import to_db
from app.core.config import Settings
from app.core.errors import InvalidInput, TooManyRequests
from app.core.security import burn_password_check, new_token, token_digest, verify_password

# The same words for a wrong password, an unknown address, a deactivated account and a sign-up
# not yet confirmed (else signing up and then in with a chosen password would tell whether
# the address already had an account).
WRONG = (
    "The e-mail address or password is not correct. Signed up just now? Open the link we "
    "mailed you first."
)


def authenticate(
    *,
    session: Session,
    email: str,
    password: str,
    ip: str,
    now: datetime,
    settings: Settings,
    device_cookie: str | None = None,
    sso_exempt: bool = False,
) -> User:
    """Check credentials under the sign-in throttle (app.accounts.throttle); record the attempt.

    The attempt is committed as a failure before anything is checked, so that concurrent
    attempts count each other (the throttle's docstring); it becomes a success, or is marked
    refused when the throttle says wait. A deactivated account, or a sign-up not yet
    confirmed, answers as a wrong password does, so a leaked password does not confirm the
    account.

    An address whose domain requires single sign-on is refused before anything is recorded
    (sso_domains.refuse_password), unless sso_exempt: the password then only proves who is
    linking a provider's identity to the account (app.accounts.sso.confirm_link).
    """
    email = normalise_email(email)
    if not sso_exempt:
        sso_domains.refuse_password(session, settings, email)
    user = find_user(session, email)
    device = devices.device_of(
        settings.ensure_secret_key(),
        device_cookie,
        user.id if user else None,
        settings.known_device_days * 86400,
    )
    attempt = LoginAttempt(email=email, ip=ip[:64], device=device, at=to_db(now))
    session.add(attempt)
    db.commit(session)  # visible to every concurrent attempt before this one is judged
    wait = throttle.check(session, attempt=attempt, user=user, now=now, settings=settings)
    if wait is not None:
        attempt.refused = True
        session.add(attempt)
        db.commit(session)
        raise TooManyRequests(
            throttle.message(wait, now, settings),
            extra={"retry_after": int((wait.until - now).total_seconds()) + 1},
        )
    ok = verify_password(password, user.password_hash) if user else False
    if user is None:
        burn_password_check(password)
    if not ok or not user.is_active or not user.confirmed:
        why = (
            {} if not ok else {"deactivated": True} if not user.is_active else {"unconfirmed": True}
        )
        audit.record(
            session,
            action="account.signin_failed",
            at=now,
            subject=f"email:{email}",
            data={"ip": ip, **why},
        )
        db.commit(session)
        raise InvalidInput(WRONG)
    attempt.success = True
    session.add(attempt)
    audit.record(
        session,
        action="account.signin",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"ip": ip},
    )
    db.commit(session)
    return user


def open_session(*, session: Session, user: User, now: datetime) -> str:
    """Start a signed-in session kept on the server; the secret goes into the session cookie."""
    secret = new_token()
    session.add(
        UserSession(user_id=user.id, token_hash=token_digest(secret), created_at=to_db(now))
    )
    db.commit(session)
    return secret


def end_session(*, session: Session, secret: str, now: datetime) -> None:
    """Sign out: the session ends on the server, so a copy of the cookie signs nobody in."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_digest(secret), UserSession.ended_at.is_(None))
        .values(ended_at=to_db(now))
        .execution_options(synchronize_session=False)
    )
    db.commit(session)


_SESSION_USER = (
    select(User)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.token_hash == bindparam("digest"),
        UserSession.ended_at.is_(None),
        User.id == bindparam("uid"),
    )
)


def user_for_session(session: Session, *, user_id: int, secret: str) -> User | None:
    """The user whose open session the cookie names (one query), or None."""
    digest = token_digest(secret)
    return session.exec(_SESSION_USER, params={"digest": digest, "uid": user_id}).first()
