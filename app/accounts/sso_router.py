"""Sign-in with an OpenID Provider (app.accounts.sso): the button, the callback, and the page
that confirms linking a provider's identity to an existing account."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request

from app.accounts import devices, sessions, sso
from app.accounts.deps import OptionalUser, client_ip, csrf_protect, sign_in_session
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.web.templating import flash, redirect, render, safe_next

web = APIRouter(
    prefix="/signin/oidc", dependencies=[Depends(csrf_protect)], include_in_schema=False
)

Name = Annotated[str, Query(max_length=40)]
Param = Annotated[str, Query(max_length=2000)]
STATE, PENDING = "oidc_state", "oidc_pending"  # the browser's session keys


def _signed_in(request: Request, session, user, now, message: str):
    secret = sessions.open_session(session=session, user=user, now=now)
    sign_in_session(request, user, secret)
    flash(request, message, "success")


@web.get("/{name}/callback")
def callback(
    request: Request,
    name: str,
    now: Now,
    settings: SettingsDep,
    session: SessionDep,
    state: Param = "",
    code: Param = "",
    error: Param = "",
    error_description: Param = "",
    iss: Param = "",
):
    """The provider's answer: signed in, or on to confirm a link, or a page saying why not."""
    bound = request.session.pop(STATE, "")
    answer = sso.Callback(state, code, error, error_description, iss)
    outcome = sso.finish(
        session=session,
        settings=settings,
        name=name[:40],
        callback=answer,
        bound=bound if isinstance(bound, str) else "",
        now=now,
    )
    if outcome.user is None:
        request.session[PENDING] = state
        return redirect("/signin/oidc/link")
    label = sso.provider(settings, name).label
    _signed_in(
        request, session, outcome.user, now, f"Signed in with {label} as {outcome.user.email}."
    )
    return redirect(safe_next(outcome.next_url, "/dashboard"))


def _link_page(request: Request, session, settings, user, now, error: str = "", status=200):
    state = request.session.get(PENDING, "")
    flow = sso.pending(session, settings, state if isinstance(state, str) else "", now)
    context = {
        "email": flow.email,
        "label": sso.provider(settings, flow.provider).label,
        "signed_in_as_owner": user is not None and user.email == flow.email,
        "error": error,
    }
    return render(request, "accounts/sso_link.html", context, status)


@web.get("/link")
def link_page(
    request: Request, user: OptionalUser, now: Now, settings: SettingsDep, session: SessionDep
):
    """Confirm that the provider's identity may sign in to the account with the same address."""
    return _link_page(request, session, settings, user, now)


@web.post("/link")
def link(
    request: Request,
    user: OptionalUser,
    now: Now,
    settings: SettingsDep,
    session: SessionDep,
    password: Annotated[str, Form(max_length=1000)] = "",
):
    state = request.session.get(PENDING, "")
    try:
        linked, next_url = sso.confirm_link(
            session=session,
            settings=settings,
            state=state if isinstance(state, str) else "",
            signed_in=user,
            password=password,
            ip=client_ip(request),
            now=now,
            device_cookie=request.cookies.get(devices.COOKIE),
        )
    except AppError as exc:
        if isinstance(exc, sso.FlowRefused):
            raise
        return _link_page(request, session, settings, user, now, exc.message, exc.status_code)
    request.session.pop(PENDING, None)
    message = f"Your account {linked.email} is now linked: next time, one click signs you in."
    _signed_in(request, session, linked, now, message)
    return redirect(safe_next(next_url, "/dashboard"))


@web.post("/{name}")
def begin(
    request: Request,
    name: str,
    now: Now,
    settings: SettingsDep,
    session: SessionDep,
    next: Annotated[str, Form(max_length=500)] = "/dashboard",
):
    """Go to the provider; this browser's session remembers the flow's state (so a response
    meant for another browser is refused)."""
    started = sso.start(
        session=session,
        settings=settings,
        name=name[:40],
        next_url=safe_next(next, "/dashboard"),
        now=now,
    )
    request.session[STATE] = started.state
    return redirect(started.url)


routers = (web,)
