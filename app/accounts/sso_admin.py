"""Administrator page and API: the configured OpenID Providers (with the redirect URI each
needs) and the e-mail domains whose people must sign in through one (app.accounts.sso_domains)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, Field

from app.accounts import oidc, sso_domains
from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.core import db
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin/sso",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin/sso-domains",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)
Text = Annotated[str, Form(max_length=253)]


class DomainRule(BaseModel):
    provider: str = Field(max_length=40)


class DomainPublic(BaseModel):
    domain: str
    provider: str
    created_at: datetime


def _page(request: Request, session, settings, status_code: int = 200, **context):
    providers = [
        {"provider": p, "redirect_uri": oidc.redirect_uri(settings, p)}
        for p in settings.oidc_providers
    ]
    page = {"providers": providers, "domains": sso_domains.list_domains(session), **context}
    return render(request, "admin/sso.html", page, status_code=status_code)


@web.get("")
def page(request: Request, session: SessionDep, settings: SettingsDep):
    return _page(request, session, settings)


@web.post("")
def require(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    domain: Text = "",
    provider: Text = "",
):
    try:
        sso_domains.require_sso(
            session=session,
            settings=settings,
            actor=admin,
            domain=domain,
            provider=provider,
            now=now,
        )
    except AppError as exc:
        db.rollback(session)
        form = {"domain": domain, "provider": provider}
        return _page(request, session, settings, exc.status_code, error=exc.message, form=form)
    flash(
        request,
        f"Addresses at {domain.strip().lower()} now sign in only with single sign-on.",
        "success",
    )
    return redirect("/admin/sso")


@web.post("/release")
def release(request: Request, admin: AdminUser, session: SessionDep, now: Now, domain: Text = ""):
    sso_domains.release_sso(session=session, actor=admin, domain=domain, now=now)
    flash(request, f"Addresses at {domain} may use passwords again.", "success")
    return redirect("/admin/sso")


@api.get("", response_model=list[DomainPublic])
def api_domains(session: SessionDep):
    """E-mail domains whose people sign in only through their OpenID Provider."""
    return sso_domains.list_domains(session)


@api.put("/{domain}", response_model=DomainPublic)
def api_require(
    domain: str,
    data: DomainRule,
    admin: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
):
    """Require single sign-on with the named provider for addresses at the domain."""
    return sso_domains.require_sso(
        session=session,
        settings=settings,
        actor=admin,
        domain=domain[:253],
        provider=data.provider,
        now=now,
    )


@api.delete("/{domain}", response_model=DomainPublic)
def api_release(domain: str, admin: AdminUser, session: SessionDep, now: Now):
    """Lift the rule: the domain's people may use passwords again."""
    return sso_domains.release_sso(session=session, actor=admin, domain=domain[:253], now=now)


routers = (web, api)
