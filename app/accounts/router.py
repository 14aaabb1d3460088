"""Account pages (sign-up, sign-in, reset, profile, tokens) and their JSON API."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from app.accounts import schemas, service
from app.accounts.deps import (
    CurrentUser,
    OptionalUser,
    api_csrf_protect,
    client_ip,
    csrf_protect,
    sign_in_session,
)
from app.core.db import SessionDep
from app.core.errors import AppError
from app.web.params import Id
from app.web.templating import flash, redirect, render, safe_next, validate_form

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[Depends(api_csrf_protect)])

FormStr = Annotated[str, Form(max_length=1000)]


def _now(request: Request):
    return request.app.state.clock()


@web.get("/signup")
def signup_page(request: Request, user: OptionalUser):
    if user:
        return redirect("/dashboard")
    return render(request, "accounts/signup.html", {"form": {}, "errors": {}})


@web.post("/signup")
def signup(
    request: Request,
    session: SessionDep,
    email: FormStr = "",
    name: FormStr = "",
    password: FormStr = "",
):
    form = {"email": email, "name": name}
    data, errors = validate_form(schemas.SignUp, {**form, "password": password})
    if data is None:
        return render(request, "accounts/signup.html", {"form": form, "errors": errors}, 422)
    try:
        user = service.sign_up(session=session, data=data, now=_now(request))
    except AppError as exc:
        return render(
            request,
            "accounts/signup.html",
            {"form": form, "errors": {"email": exc.message}},
            exc.status_code,
        )
    sign_in_session(request, user)
    flash(request, f"Welcome, {user.name}. Your account is ready.", "success")
    return redirect("/dashboard")


@web.get("/signin")
def signin_page(request: Request, user: OptionalUser, next: str = "/dashboard"):
    if user:
        return redirect(safe_next(next, "/dashboard"))
    return render(request, "accounts/signin.html", {"form": {}, "error": "", "next": next})


@web.post("/signin")
def signin(
    request: Request,
    session: SessionDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/dashboard",
):
    ctx = {"form": {"email": email}, "next": next}
    if not email or not password:
        return render(
            request,
            "accounts/signin.html",
            {**ctx, "error": "Enter your e-mail address and password."},
            422,
        )
    try:
        user = service.authenticate(
            session=session,
            email=email,
            password=password,
            ip=client_ip(request),
            now=_now(request),
            settings=request.app.state.settings,
        )
    except AppError as exc:
        response = render(
            request, "accounts/signin.html", {**ctx, "error": exc.message}, exc.status_code
        )
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response
    sign_in_session(request, user)
    flash(request, f"Signed in as {user.email}.", "success")
    return redirect(safe_next(next, "/dashboard"))


@web.post("/signout")
def signout(request: Request):
    request.session.clear()
    flash(request, "You have signed out.", "info")
    return redirect("/signin")


@web.get("/password/forgot")
def forgot_page(request: Request):
    return render(request, "accounts/forgot.html", {"sent": False})


@web.post("/password/forgot")
def forgot(request: Request, session: SessionDep, email: FormStr = ""):
    if email.strip():
        service.request_password_reset(
            session=session, email=email, now=_now(request), settings=request.app.state.settings
        )
        request.app.state.deliver_mail()
    return render(request, "accounts/forgot.html", {"sent": True})


@web.get("/password/reset")
def reset_page(request: Request, token: str = ""):
    return render(request, "accounts/reset.html", {"token": token, "error": ""})


@web.post("/password/reset")
def reset(request: Request, session: SessionDep, token: FormStr = "", password: FormStr = ""):
    ctx = {"token": token}
    if len(password) < 10:
        return render(
            request,
            "accounts/reset.html",
            {**ctx, "error": "Choose a password of at least 10 characters."},
            422,
        )
    try:
        service.reset_password(
            session=session, token=token, new_password=password, now=_now(request)
        )
    except AppError as exc:
        return render(
            request, "accounts/reset.html", {**ctx, "error": exc.message}, exc.status_code
        )
    request.session.clear()
    flash(request, "Your password has been changed. Sign in with the new one.", "success")
    return redirect("/signin")


@web.get("/profile")
def profile(request: Request, user: CurrentUser, session: SessionDep):
    tokens = [schemas.TokenPublic.model_validate(t) for t in service.list_tokens(session, user)]
    return render(
        request,
        "accounts/profile.html",
        {"tokens": tokens, "errors": {}, "new_token": request.session.pop("new_token", None)},
    )


@web.post("/profile")
def profile_update(request: Request, user: CurrentUser, session: SessionDep, name: FormStr = ""):
    data, errors = validate_form(schemas.ProfileUpdate, {"name": name})
    if data is None:
        tokens = [schemas.TokenPublic.model_validate(t) for t in service.list_tokens(session, user)]
        return render(request, "accounts/profile.html", {"tokens": tokens, "errors": errors}, 422)
    service.update_profile(session=session, user=user, name=data.name, now=_now(request))
    flash(request, "Your profile has been saved.", "success")
    return redirect("/profile")


@web.post("/profile/password")
def profile_password(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    current_password: FormStr = "",
    new_password: FormStr = "",
):
    data, errors = validate_form(
        schemas.PasswordChange, {"current_password": current_password, "new_password": new_password}
    )
    try:
        if data is None:
            raise AppError(next(iter(errors.values())))
        user = service.change_password(
            session=session,
            user=user,
            current=current_password,
            new=new_password,
            now=_now(request),
        )
    except AppError as exc:
        flash(request, f"Password not changed: {exc.message}", "error")
        return redirect("/profile")
    sign_in_session(request, user)
    flash(request, "Your password has been changed; other sessions were signed out.", "success")
    return redirect("/profile")


@web.post("/profile/tokens")
def token_create(request: Request, user: CurrentUser, session: SessionDep, name: FormStr = ""):
    data, errors = validate_form(schemas.TokenCreate, {"name": name})
    if data is None:
        flash(request, f"Token not created: {errors.get('name', 'invalid name')}", "error")
        return redirect("/profile")
    try:
        _, secret = service.create_token(
            session=session, user=user, name=data.name, now=_now(request)
        )
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect("/profile")
    request.session["new_token"] = secret
    return redirect("/profile#tokens")


@web.post("/profile/tokens/{token_id}/revoke")
def token_revoke(request: Request, token_id: Id, user: CurrentUser, session: SessionDep):
    service.revoke_token(session=session, user=user, token_id=token_id, now=_now(request))
    flash(request, "The token has been revoked.", "success")
    return redirect("/profile#tokens")


@api.get("/me", response_model=schemas.UserPublic)
def api_me(user: CurrentUser):
    """The signed-in user."""
    return user


@api.get("/tokens", response_model=list[schemas.TokenPublic])
def api_tokens(user: CurrentUser, session: SessionDep):
    """Your personal API tokens (never their secrets)."""
    return service.list_tokens(session, user)


@api.post("/tokens", response_model=schemas.TokenCreated, status_code=201)
def api_token_create(
    request: Request, data: schemas.TokenCreate, user: CurrentUser, session: SessionDep
):
    """Create a personal API token; the secret is in this response only."""
    token, secret = service.create_token(
        session=session, user=user, name=data.name, now=_now(request)
    )
    return schemas.TokenCreated(
        **schemas.TokenPublic.model_validate(token).model_dump(), token=secret
    )


@api.delete("/tokens/{token_id}", response_model=schemas.TokenPublic)
def api_token_revoke(request: Request, token_id: Id, user: CurrentUser, session: SessionDep):
    """Revoke one of your tokens."""
    return service.revoke_token(session=session, user=user, token_id=token_id, now=_now(request))
