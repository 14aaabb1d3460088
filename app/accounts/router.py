"""Account pages (sign-up, sign-in, reset, profile, tokens) and their JSON API."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from app.accounts import (
    devices,
    oidc,
    passwords,
    registration,
    schemas,
    service,
    sessions,
    sso_domains,
    tokens,
)
from app.accounts.deps import (
    CurrentUser,
    OptionalUser,
    api_csrf_protect,
    client_ip,
    csrf_protect,
    session_secret,
    sign_in_session,
)
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.web.middleware import csp
from app.web.params import Id
from app.web.templating import flash, redirect, render, safe_next, validate_form

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[Depends(api_csrf_protect)])

FormStr = Annotated[str, Form(max_length=1000)]


def _to_providers(response, settings):
    """A page with "Sign in with ..." buttons may send its forms on to the providers."""
    if settings.oidc_providers:
        origins = tuple(oidc.origin(p.issuer) for p in settings.oidc_providers)
        response.headers["content-security-policy"] = csp(origins)
    return response


def _sign_in(request: Request, session, user, now) -> None:
    """A new server-side session for the user, named by a fresh cookie."""
    secret = sessions.open_session(session=session, user=user, now=now)
    sign_in_session(request, user, secret)


@web.get("/signup")
def signup_page(request: Request, user: OptionalUser):
    if user:
        return redirect("/dashboard")
    return render(request, "accounts/signup.html", {"form": {}, "errors": {}})


def _refused(request: Request, template: str, context: dict, exc: AppError):
    """A form's page again with the refusal's words (and Retry-After when it says wait)."""
    response = render(request, template, {**context, "error": exc.message}, exc.status_code)
    if "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


@web.post("/signup")
def signup(
    request: Request,
    now: Now,
    settings: SettingsDep,
    session: SessionDep,
    email: FormStr = "",
    name: FormStr = "",
    password: FormStr = "",
):
    """The same answer for any address ("check your mail"): the job mails a new address its
    confirmation link and an address with an account a note (registration.py)."""
    form = {"email": email, "name": name}
    data, errors = validate_form(schemas.SignUp, {**form, "password": password})
    if data is None:
        return render(request, "accounts/signup.html", {"form": form, "errors": errors}, 422)
    try:
        registration.request_sign_up(
            session=session, settings=settings, data=data, ip=client_ip(request), now=now
        )
    except AppError as exc:
        return _refused(request, "accounts/signup.html", {"form": form, "errors": {}}, exc)
    hours = settings.signup_confirm_ttl_seconds // 3600
    return render(request, "accounts/signup_sent.html", {"email": data.email, "hours": hours})


@web.get("/signup/confirm")
def confirm_page(request: Request, token: str = ""):
    """The link of the sign-up mail: a button confirms (a GET changes nothing, so a mail
    scanner that opens the link does not use it)."""
    return render(request, "accounts/confirm.html", {"token": token[:100], "error": ""})


@web.post("/signup/confirm")
def confirm(request: Request, now: Now, session: SessionDep, token: FormStr = ""):
    try:
        user = registration.confirm_sign_up(session=session, token=token, now=now)
    except AppError as exc:
        return _refused(request, "accounts/confirm.html", {"token": token[:100]}, exc)
    _sign_in(request, session, user, now)
    flash(request, f"Welcome, {user.name}. Your account is ready.", "success")
    return redirect("/dashboard")


@web.get("/signin")
def signin_page(
    request: Request, user: OptionalUser, settings: SettingsDep, next: str = "/dashboard"
):
    if user:
        return redirect(safe_next(next, "/dashboard"))
    page = {"form": {}, "error": "", "next": next, "providers": settings.oidc_providers}
    return _to_providers(render(request, "accounts/signin.html", page), settings)


@web.post("/signin")
def signin(
    request: Request,
    now: Now,
    settings: SettingsDep,
    session: SessionDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/dashboard",
):
    ctx = {"form": {"email": email}, "next": next, "providers": settings.oidc_providers}
    if not email or not password:
        missing = {**ctx, "error": "Enter your e-mail address and password."}
        page = render(request, "accounts/signin.html", missing, 422)
        return _to_providers(page, settings)
    try:
        user = sessions.authenticate(
            session=session,
            email=email,
            password=password,
            ip=client_ip(request),
            now=now,
            settings=settings,
            device_cookie=request.cookies.get(devices.COOKIE),
        )
    except AppError as exc:
        return _to_providers(_refused(request, "accounts/signin.html", ctx, exc), settings)
    _sign_in(request, session, user, now)
    flash(request, f"Signed in as {user.email}.", "success")
    done = redirect(safe_next(next, "/dashboard"))
    done.set_cookie(  # this browser is now a known device of the account (the throttle)
        devices.COOKIE,
        devices.issue(settings.ensure_secret_key(), user.id),
        max_age=settings.known_device_days * 86400,
        path="/signin",
        secure=bool(settings.cookie_secure),
        httponly=True,
        samesite="lax",
    )
    return done


@web.post("/signout")
def signout(request: Request, now: Now, session: SessionDep):
    secret = session_secret(request)
    if secret:
        sessions.end_session(session=session, secret=secret, now=now)
    request.session.clear()
    flash(request, "You have signed out.", "info")
    return redirect("/signin")


@web.get("/password/forgot")
def forgot_page(request: Request):
    return render(request, "accounts/forgot.html", {"sent": False})


@web.post("/password/forgot")
def forgot(
    request: Request, now: Now, settings: SettingsDep, session: SessionDep, email: FormStr = ""
):
    if email.strip():
        try:
            passwords.request_password_reset(
                session=session, settings=settings, email=email, ip=client_ip(request), now=now
            )
        except AppError as exc:
            return _refused(request, "accounts/forgot.html", {"sent": False}, exc)
    return render(request, "accounts/forgot.html", {"sent": True})


@web.get("/password/reset")
def reset_page(request: Request, token: str = ""):
    return render(request, "accounts/reset.html", {"token": token, "error": ""})


@web.post("/password/reset")
def reset(
    request: Request, now: Now, session: SessionDep, token: FormStr = "", password: FormStr = ""
):
    ctx = {"token": token}
    if len(password) < 10:
        return render(
            request,
            "accounts/reset.html",
            {**ctx, "error": "Choose a password of at least 10 characters."},
            422,
        )
    try:
        passwords.reset_password(session=session, token=token, new_password=password, now=now)
    except AppError as exc:
        return render(
            request, "accounts/reset.html", {**ctx, "error": exc.message}, exc.status_code
        )
    request.session.clear()
    flash(request, "Your password has been changed. Sign in with the new one.", "success")
    return redirect("/signin")


def _profile(request: Request, session, user, status: int = 200, **context):
    listed = [schemas.TokenPublic.model_validate(t) for t in tokens.list_tokens(session, user)]
    settings = request.app.state.settings  # its providers: "Link ..." buttons
    page = {
        "tokens": listed,
        "errors": {},
        "new_token": None,
        "providers": settings.oidc_providers,
        "links": sso_domains.links_of(session, settings, user),
        **context,
    }
    return _to_providers(render(request, "accounts/profile.html", page, status), settings)


@web.get("/profile")
def profile(request: Request, user: CurrentUser, session: SessionDep):
    return _profile(request, session, user, zones=schemas.time_zones())


@web.post("/profile")
def profile_update(
    request: Request,
    now: Now,
    user: CurrentUser,
    session: SessionDep,
    name: FormStr = "",
    time_zone: FormStr = "UTC",
):
    form = {"name": name, "time_zone": time_zone}
    data, errors = validate_form(schemas.ProfileUpdate, form)
    if data is None:
        return _profile(
            request, session, user, 422, errors=errors, form=form, zones=schemas.time_zones()
        )
    service.update_profile(
        session=session, user=user, name=data.name, time_zone=data.time_zone, now=now
    )
    flash(request, "Your profile has been saved.", "success")
    return redirect("/profile")


@web.post("/profile/password")
def profile_password(
    request: Request,
    now: Now,
    user: CurrentUser,
    session: SessionDep,
    current_password: FormStr = "",
    new_password: FormStr = "",
    revoke_tokens: FormStr = "",
):
    data, errors = validate_form(
        schemas.PasswordChange, {"current_password": current_password, "new_password": new_password}
    )
    try:
        if data is None:
            raise AppError(next(iter(errors.values())))
        revoked = passwords.change_password(
            session=session,
            user=user,
            current=current_password,
            new=new_password,
            now=now,
            revoke_tokens=bool(revoke_tokens),
        )
    except AppError as exc:
        flash(request, f"Password not changed: {exc.message}", "error")
        return redirect("/profile")
    _sign_in(request, session, user, now)
    gone = f" {revoked} API token{' was' if revoked == 1 else 's were'} revoked." if revoked else ""
    flash(
        request,
        f"Your password has been changed; other sessions were signed out.{gone}",
        "success",
    )
    return redirect("/profile")


@web.post("/profile/tokens")
def token_create(
    request: Request, now: Now, user: CurrentUser, session: SessionDep, name: FormStr = ""
):
    """The new secret is shown on this response only (never put in the session cookie)."""
    data, errors = validate_form(schemas.TokenCreate, {"name": name})
    if data is None:
        flash(request, f"Token not created: {errors.get('name', 'invalid name')}", "error")
        return redirect("/profile")
    try:
        _, secret = tokens.create_token(session=session, user=user, name=data.name, now=now)
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect("/profile")
    return _profile(request, session, user, new_token=secret)


@web.post("/profile/tokens/{token_id}/revoke")
def token_revoke(request: Request, now: Now, token_id: Id, user: CurrentUser, session: SessionDep):
    tokens.revoke_token(session=session, user=user, token_id=token_id, now=now)
    flash(request, "The token has been revoked.", "success")
    return redirect("/profile#tokens")


@api.get("/me", response_model=schemas.UserPublic)
def api_me(user: CurrentUser):
    """The signed-in user."""
    return user


@api.get("/tokens", response_model=list[schemas.TokenPublic])
def api_tokens(user: CurrentUser, session: SessionDep):
    """Your personal API tokens (never their secrets)."""
    return tokens.list_tokens(session, user)


@api.post("/tokens", response_model=schemas.TokenCreated, status_code=201)
def api_token_create(now: Now, data: schemas.TokenCreate, user: CurrentUser, session: SessionDep):
    """Create a personal API token; the secret is in this response only."""
    token, secret = tokens.create_token(session=session, user=user, name=data.name, now=now)
    return schemas.TokenCreated(
        **schemas.TokenPublic.model_validate(token).model_dump(), token=secret
    )


@api.delete("/tokens/{token_id}", response_model=schemas.TokenPublic)
def api_token_revoke(now: Now, token_id: Id, user: CurrentUser, session: SessionDep):
    """Revoke one of your tokens."""
    return tokens.revoke_token(session=session, user=user, token_id=token_id, now=now)
