"""Account use cases. Each public function commits once, at its end."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.accounts.models import ApiToken, LoginAttempt, PasswordReset, Role, User
from app.accounts.schemas import SignUp
from app.core import audit, mail, prepared
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from app.core.prepared import Prepared
from app.core.security import (
    burn_password_check,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def _create_user(session: Session, *, email: str, name: str, password: str, role: Role, now):
    if find_user(session, email) is not None:
        raise Conflict("An account with this e-mail address already exists.")
    user = User(
        email=normalise_email(email),
        name=name,
        role=role.value,
        password_hash=hash_password(password),
        created_at=to_db(now),
    )
    session.add(user)
    session.flush()
    return user


def sign_up(*, session: Session, data: SignUp, now: datetime) -> User:
    """Create a learner account."""
    user = _create_user(
        session,
        email=data.email,
        name=data.name,
        password=data.password,
        role=Role.learner,
        now=now,
    )
    audit.record(
        session, action="account.signup", at=now, actor_id=user.id, subject=f"user:{user.id}"
    )
    session.commit()
    return user


def _throttled_until(session: Session, email: str, ip: str, now: datetime, settings: Settings):
    since = to_db(now - timedelta(seconds=settings.login_window_seconds))
    for column, value, limit in (
        (LoginAttempt.email, email, settings.login_max_failures),
        (LoginAttempt.ip, ip, settings.login_max_failures * 4),
    ):
        if not value:
            continue
        failures = session.exec(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.at >= since, LoginAttempt.success.is_(False)
            )
        ).one()
        if failures[0] >= limit:
            return as_utc(failures[1]) + timedelta(seconds=settings.login_window_seconds)
    return None


def authenticate(
    *, session: Session, email: str, password: str, ip: str, now: datetime, settings: Settings
) -> User:
    """Check credentials, with throttling after repeated failures; record the attempt."""
    email = normalise_email(email)
    until = _throttled_until(session, email, ip, now, settings)
    if until is not None:
        minutes = max(1, int((until - now).total_seconds() // 60) + 1)
        raise TooManyRequests(
            f"Too many failed sign-ins. Try again in {minutes} minute(s) or reset your password.",
            extra={"retry_after": int((until - now).total_seconds()) + 1},
        )
    user = find_user(session, email)
    ok = verify_password(password, user.password_hash) if user else False
    if user is None:
        burn_password_check(password)
    session.add(LoginAttempt(email=email, ip=ip, at=to_db(now), success=ok))
    if not ok or not user.is_active:
        audit.record(
            session,
            action="account.signin_failed",
            at=now,
            subject=f"email:{email}",
            data={"ip": ip},
        )
        session.commit()
        if ok and not user.is_active:
            raise Forbidden("This account has been deactivated. Contact the Institute.")
        raise InvalidInput("The e-mail address or password is not correct.")
    audit.record(
        session,
        action="account.signin",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"ip": ip},
    )
    session.commit()
    return user


def request_password_reset(
    *, session: Session, email: str, now: datetime, settings: Settings
) -> None:
    """E-mail a single-use reset link if the account exists (the answer is the same either way)."""
    user = find_user(session, email)
    if user is None or not user.is_active:
        return
    token = new_token()
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=to_db(now),
            expires_at=to_db(now + timedelta(seconds=settings.password_reset_ttl_seconds)),
        )
    )
    link = f"{settings.base_url.rstrip('/')}/password/reset?token={token}"
    mail.queue(
        session,
        to=user.email,
        subject="Reset your WMI Certify password",
        kind="password_reset",
        at=now,
        body=(
            f"Hello {user.name},\n\nTo choose a new password, open this link within "
            f"{settings.password_reset_ttl_seconds // 60} minutes:\n{link}\n\n"
            "If you did not ask for this, ignore this message."
        ),
    )
    audit.record(
        session,
        action="account.password_reset_requested",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
    )
    session.commit()


def reset_password(*, session: Session, token: str, new_password: str, now: datetime) -> User:
    """Set a new password with a valid, unused reset token; sign out every session."""
    reset = session.exec(
        select(PasswordReset).where(PasswordReset.token_hash == token_digest(token))
    ).first()
    if reset is None or reset.used_at is not None or as_utc(reset.expires_at) < now:
        raise InvalidInput("This reset link is invalid or has expired. Ask for a new one.")
    user = get_user(session, reset.user_id)
    reset.used_at = to_db(now)
    user.password_hash = hash_password(new_password)
    user.session_version += 1
    session.add_all([reset, user])
    audit.record(
        session,
        action="account.password_reset",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
    )
    session.commit()
    return user


def update_profile(*, session: Session, user: User, name: str, now: datetime) -> User:
    user.name = name
    session.add(user)
    audit.record(
        session,
        action="account.profile_updated",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
    )
    session.commit()
    return user


def change_password(*, session: Session, user: User, current: str, new: str, now: datetime) -> User:
    """Change the password after checking the current one; other sessions are signed out."""
    if not verify_password(current, user.password_hash):
        raise InvalidInput("The current password is not correct.")
    user.password_hash = hash_password(new)
    user.session_version += 1
    session.add(user)
    audit.record(
        session,
        action="account.password_changed",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
    )
    session.commit()
    return user


def create_token(*, session: Session, user: User, name: str, now: datetime):
    """A personal API token; the secret is returned once and only its digest is kept."""
    active = session.exec(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).one()
    if active >= 20:
        raise Conflict("You already have 20 active tokens; revoke one first.")
    secret = new_token("wmi_")
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_digest(secret),
        prefix=secret[:10],
        created_at=to_db(now),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        action="token.create",
        at=now,
        actor_id=user.id,
        subject=f"token:{token.id}",
        data={"name": name},
    )
    session.commit()
    return token, secret


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(session.exec(query))


def revoke_token(*, session: Session, user: User, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = to_db(now)
        session.add(token)
        audit.record(
            session, action="token.revoke", at=now, actor_id=user.id, subject=f"token:{token.id}"
        )
    session.commit()
    return token


_TOKEN_USER = (
    select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"))
)
_USERS, _TOKENS = User.__table__, ApiToken.__table__
_TOKEN_CALLER = Prepared(  # Core, not the ORM: the same join without building a User
    sa_select(
        _USERS.c.id, _USERS.c.role, _USERS.c.is_active,
        _TOKENS.c.id, _TOKENS.c.revoked_at, _TOKENS.c.last_used_at,
    )
    .join_from(_USERS, _TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == bindparam("digest"))
)  # fmt: skip
_TOKEN_USED = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("w_id"))
    .values(last_used_at=bindparam("v_at"))
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class Caller:
    """Who a bearer token belongs to, without loading the user: what the hot API routes (the
    exam loop) need to know. Routes that change the account take the User instead."""

    id: int
    role: Role


def _token_live(session, token_id, revoked_at, last_used_at, is_active, now) -> bool:
    """A token works while it is not revoked and its user is active; its last use is recorded
    at most every five minutes (a write per call would serialise every API request)."""
    if revoked_at is not None or not is_active:
        return False
    if last_used_at is None or (now - as_utc(last_used_at)).total_seconds() > 300:
        session.execute(_TOKEN_USED, {"w_id": token_id, "v_at": to_db(now)})
        session.commit()
    return True


def user_for_token(session: Session, secret: str, now: datetime) -> User | None:
    """The active user behind a bearer token, or None (one query)."""
    row = session.execute(_TOKEN_USER, {"digest": token_digest(secret)}).first()
    if row is None:
        return None
    user, token_id, revoked_at, last_used_at = row
    live = _token_live(session, token_id, revoked_at, last_used_at, user.is_active, now)
    return user if live else None


def caller_for_token(session: Session, secret: str, now: datetime) -> Caller | None:
    """The same rules as user_for_token, one Core query, no User built."""
    with prepared.pipelined(session):  # PostgreSQL: the BEGIN and the query in one round trip
        row = _TOKEN_CALLER.execute(session, {"digest": token_digest(secret)}).first()
    if row is None:
        return None
    user_id, role, is_active, token_id, revoked_at, last_used_at = row
    live = _token_live(session, token_id, revoked_at, last_used_at, is_active, now)
    return Caller(id=user_id, role=Role(role)) if live else None


def search_users(session: Session, *, q: str = "", limit: int = 50, offset: int = 0):
    """Users whose e-mail or name contains q, newest first."""
    query = select(User)
    if q:
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(func.lower(User.email).like(like), func.lower(User.name).like(like))
        )
    return list(session.exec(query.order_by(User.id.desc()).offset(offset).limit(limit)))


def set_role(*, session: Session, actor: User, user_id: int, role: Role, now: datetime) -> User:
    """An administrator changes a user's role (never their own)."""
    user = get_user(session, user_id)
    if user.id == actor.id:
        raise Conflict("You cannot change your own role.")
    old = user.role
    user.role = role.value
    session.add(user)
    audit.record(
        session,
        action="account.role_changed",
        at=now,
        actor_id=actor.id,
        subject=f"user:{user.id}",
        data={"from": old, "to": role.value},
    )
    session.commit()
    return user


def set_active(*, session: Session, actor: User, user_id: int, active: bool, now: datetime):
    """An administrator deactivates (signing out everywhere) or reactivates an account."""
    user = get_user(session, user_id)
    if user.id == actor.id:
        raise Conflict("You cannot deactivate your own account.")
    if user.is_active != active:
        user.is_active = active
        user.session_version += 1
        session.add(user)
        audit.record(
            session,
            action="account.reactivated" if active else "account.deactivated",
            at=now,
            actor_id=actor.id,
            subject=f"user:{user.id}",
        )
    session.commit()
    return user


def ensure_admin(*, session: Session, email: str, name: str, password: str, now: datetime):
    """Create an administrator, or promote and reset an existing account (the CLI)."""
    user = find_user(session, email)
    if user is None:
        user = _create_user(
            session, email=email, name=name, password=password, role=Role.admin, now=now
        )
    else:
        user.role, user.is_active = Role.admin.value, True
        user.password_hash = hash_password(password)
        session.add(user)
    audit.record(session, action="account.admin_created", at=now, subject=f"user:{user.id}")
    session.commit()
    return user
