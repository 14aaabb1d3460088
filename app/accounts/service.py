"""Users: look-ups, the profile, and the administrator's user management. Each public use
case commits once, at its end. Sign-up and invitations are in registration, sign-in and
sessions in signin, reset links and password changes in passwords, API tokens in tokens."""

from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core import audit, db
from app.core.clock import to_db
from app.core.errors import Conflict, NotFound
from app.core.security import hash_password


def normalise_email(email: str) -> str:
    return email.strip().lower()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    """Display names ("Ada Lovelace <ada@example.org>") of the given users, by id."""
    if not user_ids:
        return {}
    rows = session.exec(select(User.id, User.name, User.email).where(User.id.in_(user_ids)))
    return {uid: f"{name} <{email}>" for uid, name, email in rows}


def find_user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalise_email(email))).first()


def create_user(
    session: Session, *, email: str, name: str, password_hash: str, role: Role, now, confirmed=True
) -> User:
    """A new account (helper); confirmed=False for a sign-up until its link is followed."""
    if find_user(session, email) is not None:
        raise Conflict("An account with this e-mail address already exists.")
    user = User(
        email=normalise_email(email),
        name=name,
        role=role.value,
        password_hash=password_hash,
        created_at=to_db(now),
        confirmed=confirmed,
    )
    session.add(user)
    session.flush()
    return user


def update_profile(
    *, session: Session, user: User, name: str, time_zone: str = "UTC", now: datetime
) -> User:
    """Save the name and the time zone pages show dates and times in (stored times stay UTC)."""
    user.name, user.time_zone = name, time_zone
    session.add(user)
    audit.record(
        session,
        action="account.profile_updated",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
    )
    db.commit(session)
    return user


def search_users(session: Session, *, q: str = "", limit: int = 50, offset: int = 0):
    """Users whose e-mail or name contains q, newest first."""
    query = select(User)
    if q.strip():  # autoescape: % and _ are searched for, not wildcards
        q = q.strip().lower()
        query = query.where(
            or_(
                func.lower(User.email).contains(q, autoescape=True),
                func.lower(User.name).contains(q, autoescape=True),
            )
        )
    return list(session.exec(query.order_by(User.id.desc()).offset(offset).limit(limit)))


def set_role(*, session: Session, actor: User, user_id: int, role: Role, now: datetime) -> User:
    """An administrator changes a user's role (never their own)."""
    user = get_user(session, user_id)
    if user.id == actor.id:
        raise Conflict("You cannot change your own role: another administrator must do it.")
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
    db.commit(session)
    return user


def set_active(*, session: Session, actor: User, user_id: int, active: bool, now: datetime):
    """An administrator deactivates (signing out everywhere) or reactivates an account."""
    user = get_user(session, user_id)
    if user.id == actor.id:
        raise Conflict("You cannot deactivate your own account: another administrator must do it.")
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
    db.commit(session)
    return user


def ensure_admin(*, session: Session, email: str, name: str, password: str, now: datetime):
    """Create an administrator, or promote and reset an existing account (the CLI)."""
    user = find_user(session, email)
    if user is None:
        user = create_user(
            session,
            email=email,
            name=name,
            password_hash=hash_password(password),
            role=Role.admin,
            now=now,
        )
    else:
        user.role, user.is_active, user.confirmed = Role.admin.value, True, True
        user.password_hash = hash_password(password)
        session.add(user)
    audit.record(session, action="account.admin_created", at=now, subject=f"user:{user.id}")
    db.commit(session)
    return user
