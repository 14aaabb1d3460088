"""Who is asking: the session cookie or a bearer token; role guards; CSRF protection."""

import ipaddress
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts import sessions, tokens
from app.accounts.models import Role, User
from app.core.db import SessionDep
from app.core.errors import CsrfFailed, Forbidden, Unauthenticated
from app.core.security import same

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _by_token(request: Request, session: Session, token: str, lookup):
    """Whoever the bearer token belongs to (lookup: user_for_token or caller_for_token); an
    invalid or revoked token is refused, never treated as anonymous."""
    who = lookup(session, token, request.app.state.clock())
    if who is None:
        raise Unauthenticated("The API token is invalid or has been revoked.")
    request.state.auth = "token"
    return who


def get_optional_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in user, or None; cached on the request.

    A sync dependency (it reads the database, so it runs in the thread pool); the role guards
    below only look at the user and are async, so they cost no thread hand-off. The session
    holds a pooled connection from its first query until it commits or the request ends; that
    is safe because app.web.middleware.ConcurrencyLimit keeps fewer requests in flight than the
    pool has connections and the thread pool has threads.
    """
    if hasattr(request.state, "user"):
        return request.state.user
    user = None
    token = _bearer(request)
    if token is not None:
        user = _by_token(request, session, token, tokens.user_for_token)
    else:
        uid, version, sid = (request.session.get(k) for k in ("uid", "sv", "sid"))
        if isinstance(uid, int):
            candidate = None
            if isinstance(sid, str):  # the session must still be open on the server
                candidate = sessions.user_for_session(session, user_id=uid, secret=sid)
            if candidate and candidate.is_active and candidate.session_version == version:
                user = candidate
            else:
                request.session.pop("uid", None)
        request.state.auth = "session" if user else None
    request.state.user = user
    return user


def _caller(request: Request, session: Session) -> "tokens.Caller | User":
    """Who is asking: a bearer token's Caller (one Core query, no User built) or the session
    cookie's User; raises Unauthenticated when neither signs them in."""
    token = _bearer(request)
    if token is None:
        caller = get_optional_user(request, session)
    else:
        caller = _by_token(request, session, token, tokens.caller_for_token)
    if caller is None:
        raise Unauthenticated("Please sign in to continue.")
    return caller


async def signed_in(request: Request) -> None:
    """The requirement of a route that runs its work in the exam lane (`in_lane`): the same as
    CurrentUser's, and visible in the route's dependencies (the role tests read it there).

    On the event loop, at no cost, it refuses a request that carries neither a bearer token nor
    a signed-in session, and checks the CSRF token of a state-changing request that rides on
    the session cookie; `in_lane` checks the rest. One dependency for both: each dependency
    FastAPI resolves costs about 2% of an answer's instructions (docs/BENCHMARKS.md).
    """
    if _bearer(request) is None and not isinstance(request.session.get("uid"), int):
        raise Unauthenticated("Please sign in to continue.")
    await api_csrf_protect(request)


SignedIn = Depends(signed_in)
T = TypeVar("T")


async def in_lane(request: Request, work: Callable[..., T], /, **arguments: Any) -> T:
    """Run work(session, caller, **arguments) in the exam lane (app.core.lane): authentication
    and the route's database work in one hand-off, in arrival order, on the lane thread's
    connection. work is a module-level function; caller is a Caller or a User (both have
    .id and .role), so the services it calls take user_id.

    A sync route with the CurrentUser and SessionDep dependencies costs two hand-offs (the user
    lookup is a sync dependency, then the route); under load each costs about as much CPU as
    the bare ping route in all. The exam loop's routes (one request per question) use this.
    """
    return await request.app.state.lane.run(partial(_signed_in_work, request, work, arguments))


def _signed_in_work(
    request: Request, work: Callable[..., T], arguments: dict[str, Any], session: Session
) -> T:
    return work(session, _caller(request, session), **arguments)


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise Unauthenticated("Please sign in to continue.")
    return user


async def require_author(user: Annotated[User, Depends(get_current_user)]) -> User:
    if user.role not in (Role.author, Role.admin):
        raise Forbidden("This page is for authors and administrators.")
    return user


async def require_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    if user.role != Role.admin:
        raise Forbidden("This page is for administrators.")
    return user


async def require_panelist(user: Annotated[User, Depends(get_current_user)]) -> User:
    """Standard-setting panelists only (administrators run studies but never rate in them)."""
    if user.role != Role.panelist:
        raise Forbidden("This page is for standard-setting panelists.")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
AuthorUser = Annotated[User, Depends(require_author)]
AdminUser = Annotated[User, Depends(require_admin)]
PanelistUser = Annotated[User, Depends(require_panelist)]


async def csrf_protect(request: Request) -> None:
    """Every state-changing request made with the session cookie carries the session's token."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not same(expected, sent):
        raise CsrfFailed(
            "This form has expired or did not come from this site. Reload the page and try again."
        )


def sign_in_session(request: Request, user: User, secret: str) -> None:
    """Start a fresh cookie for the user's new server-side session (sessions.open_session's
    secret); a new CSRF token too."""
    request.session.clear()
    request.session.update({"uid": user.id, "sv": user.session_version, "sid": secret})


def session_secret(request: Request) -> str | None:
    """The server-side session the cookie names, if any."""
    sid = request.session.get("sid")
    return sid if isinstance(sid, str) else None


def _address(text: str) -> "ipaddress.IPv4Address | ipaddress.IPv6Address | None":
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request: Request) -> str:
    """The client's address for the sign-in throttle and the audit log.

    The peer of the connection, unless the peer is one of WMI_TRUSTED_PROXIES: then the
    nearest address in X-Forwarded-For (read from the right) that is not a trusted proxy.
    Nothing else is believed: a client that sets the header itself is counted by its own
    address. Always a valid address (what the proxy sent is parsed), or the peer's name.
    """
    peer = request.client.host if request.client else ""
    address = _address(peer)
    networks = request.app.state.settings.trusted_networks
    if address is None:
        return peer[:64]
    hops = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
    while any(address in network for network in networks) and hops:
        hop = _address(hops.pop())
        if hop is None:
            break  # the proxy sent something that is not an address: keep the last sure one
        address = hop
    return str(address)


async def api_csrf_protect(request: Request) -> None:
    """The API takes bearer tokens freely; calls riding on a session cookie need the token too."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    if "uid" not in request.session:
        return
    await csrf_protect(request)
