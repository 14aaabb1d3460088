"""Passwords: reset links (asked for, mailed by a job, used once), and changing a password.
Each public use case commits once, at its end; reset_link and end_reset_links are helpers."""

from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.accounts import mail_limits, tokens
from app.accounts.models import LinkPurpose, PasswordReset, User
from app.accounts.service import get_user, normalise_email
from app.core import audit, db, jobs, mail
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.errors import InvalidInput
from app.core.security import hash_password, new_token, token_digest, verify_password

RESET_MAILS_PER_HOUR = 3  # per account (F-08)


LINK_PATHS = {LinkPurpose.reset: "/password/reset", LinkPurpose.confirm: "/signup/confirm"}


def reset_link(
    session: Session,
    user: User,
    settings: Settings,
    now,
    ttl_seconds: int,
    purpose: LinkPurpose = LinkPurpose.reset,
) -> str:
    """A single-use link to choose a password (or to confirm a sign-up), valid for ttl_seconds
    (helper). Only the token's SHA-256 is stored; the link itself travels sealed in the outbox
    (mail.queue)."""
    token = new_token()
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=to_db(now),
            expires_at=to_db(now + timedelta(seconds=ttl_seconds)),
            purpose=purpose.value,
        )
    )
    return f"{settings.base_url.rstrip('/')}{LINK_PATHS[purpose]}?token={token}"


def links_this_hour(session: Session, user: User, now: datetime) -> int:
    """How many links the account was mailed in the last hour (of any purpose)."""
    return session.exec(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.created_at >= to_db(now - timedelta(hours=1)),
        )
    ).one()


def account_for_mail(session: Session, email: str) -> User | None:
    """The account of an address, locked until the caller commits (two jobs for one address
    take turns), or None."""
    return session.exec(select(User).where(User.email == email).with_for_update()).first()


RESET_MAIL = "accounts.password_reset_mail"


def request_password_reset(
    *, session: Session, settings: Settings, email: str, ip: str, now: datetime
) -> None:
    """Ask for a reset link: the same work whether or not the address has an account (the
    request counted against the address's limits, one job recorded, no account looked up), so
    neither the answer nor its time tells them apart. The job (send_reset_mail) looks the
    account up and mails the link. Too many requests: TooManyRequests (mail_limits)."""
    email = normalise_email(email)
    mail_limits.admit(session, settings, kind="reset", email=email, ip=ip, now=now)
    jobs.enqueue(session, RESET_MAIL, {"email": email}, at=now)
    db.commit(session)


def reset_mail(*, session: Session, settings: Settings, email: str, now: datetime) -> dict:
    """Mail a single-use reset link to an active account, at most
    RESET_MAILS_PER_HOUR an hour (more asks get no mail: the asker is told nothing either way).
    The job's handler; the caller commits."""
    user = account_for_mail(session, email)
    if user is None or not user.is_active:
        return {"sent": False, "why": "no active account"}
    recent = links_this_hour(session, user, now)
    if recent >= RESET_MAILS_PER_HOUR:
        return {"sent": False, "why": f"{recent} links in the last hour"}
    mail_reset_link(
        session,
        settings,
        user,
        now,
        subject="Reset your WMI Certify password",
        why="If you did not ask for this, ignore this message.",
    )
    return {"sent": True}


def mail_reset_link(
    session: Session, settings: Settings, user: User, now: datetime, *, subject: str, why: str
) -> None:
    """Queue a mail with a reset link, its explanation first (helper), and audit it."""
    link = reset_link(session, user, settings, now, settings.password_reset_ttl_seconds)
    mail.queue(
        session,
        to=user.email,
        subject=subject,
        kind="password_reset",
        at=now,
        body=(
            f"Hello {user.name},\n\n{why}\n\nTo choose a new password, open this link within "
            f"{settings.password_reset_ttl_seconds // 60} minutes:\n{mail.WITHHELD}\n"
        ),
        secret=link,
        settings=settings,
    )
    audit.record(
        session,
        action="account.password_reset_requested",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
    )


def claim_link(session: Session, token: str, purpose: LinkPurpose, now: datetime) -> User:
    """The account of a valid, unused link of that purpose, the link now used and every other
    link of the account ended (helper); InvalidInput when the link is unknown, used, expired,
    or used by a concurrent request."""
    link = session.exec(
        select(PasswordReset).where(
            PasswordReset.token_hash == token_digest(token),
            PasswordReset.purpose == purpose.value,
        )
    ).first()
    if (
        link is None
        or link.used_at is not None
        or as_utc(link.expires_at) < now
        or not end_reset_links(session, link.user_id, now, first=link.id)
    ):
        raise InvalidInput("This link is invalid or has expired. Ask for a new one.")
    return get_user(session, link.user_id)


def reset_password(*, session: Session, token: str, new_password: str, now: datetime) -> User:
    """Set a new password with a valid, unused reset token: every other link of the account
    ends with it, its API tokens are revoked and every session is signed out."""
    user = claim_link(session, token, LinkPurpose.reset, now)
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    user.signin_cleared_at = to_db(now)  # lifts the sign-in throttle on the account
    user.confirmed = True  # the link reached the address: a sign-up awaiting it is confirmed
    session.add(user)
    revoked = tokens.revoke_all(session, user.id, now)
    audit.record(
        session,
        action="account.password_reset",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"tokens_revoked": revoked},
    )
    db.commit(session)
    return user


def end_reset_links(session: Session, user_id: int, now: datetime, *, first: int | None = None):
    """Mark the user's unused reset links used (helper). With first: that link is claimed by
    one conditional UPDATE before the others, and False means another request used it."""
    if first is not None:
        claimed = session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == first, PasswordReset.used_at.is_(None))
            .values(used_at=to_db(now))
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return False
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=to_db(now))
        .execution_options(synchronize_session=False)
    )
    return True


def change_password(
    *, session: Session, user: User, current: str, new: str, now: datetime, revoke_tokens=False
) -> int:
    """Change the password after checking the current one; other sessions are signed out,
    open reset links end, and the API tokens are revoked if asked (returns how many)."""
    if not verify_password(current, user.password_hash):
        raise InvalidInput("The current password is not correct.")
    user.password_hash = hash_password(new)
    user.session_version += 1
    session.add(user)
    end_reset_links(session, user.id, now)
    revoked = tokens.revoke_all(session, user.id, now) if revoke_tokens else 0
    audit.record(
        session,
        action="account.password_changed",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"tokens_revoked": revoked},
    )
    db.commit(session)
    return revoked
