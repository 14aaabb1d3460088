"""Personal API tokens: create, list, revoke, and who a bearer token signs in. Each public use
case commits once, at its end; revoke_all is a helper for the password use cases."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.accounts.models import ApiToken, Role, User
from app.core import audit, db, prepared
from app.core.clock import as_utc, to_db
from app.core.errors import Conflict, NotFound
from app.core.prepared import Prepared
from app.core.security import new_token, token_digest


def revoke_all(session: Session, user_id: int, now: datetime) -> int:
    """Revoke every active API token of the user (helper); how many."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=to_db(now))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


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
    db.commit(session)
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
    db.commit(session)
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
        db.commit(session)
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
