"""Who is asking: the session cookie or a bearer token; role guards; CSRF protection."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts import service
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
        user = _by_token(request, session, token, service.user_for_token)
    else:
        uid, version = request.session.get("uid"), request.session.get("sv")
        if isinstance(uid, int):
            candidate = session.get(User, uid)
            if candidate and candidate.is_active and candidate.session_version == version:
                user = candidate
            else:
                request.session.pop("uid", None)
        request.state.auth = "session" if user else None
    request.state.user = user
    return user


def signed_in_caller(request: Request, session: Session) -> "service.Caller | User":
    """Who is asking, for the hot API routes: a bearer token's Caller (one Core query, no User
    built) or the session cookie's User; raises Unauthenticated when neither signs them in."""
    token = _bearer(request)
    if token is None:
        caller = get_optional_user(request, session)
    else:
        caller = _by_token(request, session, token, service.caller_for_token)
    if caller is None:
        raise Unauthenticated("Please sign in to continue.")
    return caller


async def signed_in_in_route(request: Request) -> None:
    """Declares a route that signs its caller in itself, with as_caller (in its one thread
    hand-off): the same requirement as CurrentUser, visible in the route's dependencies (the
    role tests read it there). On the event loop it refuses, at no cost, a request that carries
    neither a bearer token nor a signed-in session; as_caller checks the rest."""
    if _bearer(request) is None and not isinstance(request.session.get("uid"), int):
        raise Unauthenticated("Please sign in to continue.")


SignedInInRoute = Depends(signed_in_in_route)


async def signed_in_api_in_route(request: Request) -> None:
    """signed_in_in_route and api_csrf_protect in one dependency, for the exam loop's API
    routes (a router of their own, without the router-wide CSRF dependency): each dependency
    FastAPI resolves costs about 2% of an answer's instructions (docs/BENCHMARKS.md)."""
    await signed_in_in_route(request)
    await api_csrf_protect(request)


SignedInApiInRoute = Depends(signed_in_api_in_route)

T = TypeVar("T")


async def as_caller(request: Request, work: "Callable[[Session, service.Caller | User], T]") -> T:
    """Run work(session, caller) in the exam lane (app.core.lane): authentication and the
    route's database work in one hand-off, in arrival order, on the lane thread's connection.

    A sync route with the CurrentUser and SessionDep dependencies costs two hand-offs (the user
    lookup is a sync dependency, then the route); under load each costs about as much CPU as
    the bare ping route in all. The exam loop's routes (one request per question) use this.
    """
    return await request.app.state.lane.run(
        lambda session: work(session, signed_in_caller(request, session))
    )


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


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
AuthorUser = Annotated[User, Depends(require_author)]
AdminUser = Annotated[User, Depends(require_admin)]


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


def sign_in_session(request: Request, user: User) -> None:
    """Start a fresh session for the user (a new CSRF token too)."""
    request.session.clear()
    request.session.update({"uid": user.id, "sv": user.session_version})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def api_csrf_protect(request: Request) -> None:
    """The API takes bearer tokens freely; calls riding on a session cookie need the token too."""
    if request.method in SAFE_METHODS or _bearer(request) is not None:
        return
    if "uid" not in request.session:
        return
    await csrf_protect(request)
