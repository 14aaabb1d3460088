"""Administrator pages and API: users, outbox, audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel

from app.accounts import schemas
from app.accounts import service as accounts
from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.accounts.models import Role
from app.admin import service
from app.core import audit
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError, InvalidInput, NotFound
from app.psychops import views as pool_views
from app.web.params import Id
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)

Search = Annotated[str, Query(max_length=200)]
Page = Annotated[int, Query(ge=0, le=100_000)]


def audit_chain(session: SessionDep, settings: SettingsDep) -> audit.ChainReport:
    """The audit chain checked from its latest signed checkpoint (a dependency)."""
    return service.verify_audit(session, settings)


Chain = Annotated[audit.ChainReport, Depends(audit_chain)]


@web.get("")
def dashboard(
    request: Request, session: SessionDep, report: Chain, settings: SettingsDep, now: Now
):
    alerts = pool_views.alerts(session, now=now, settings=settings)
    return render(request, "admin/dashboard.html", {"chain": report, "pool_alerts": alerts})


def _users_page(request, session, q: str = "", page: int = 0, problem: AppError | None = None):
    """The user list; a refused change comes back on it with the reason, nothing changed."""
    rows = [
        schemas.UserPublic.model_validate(u)
        for u in service.users(session, q=q, limit=50, offset=page * 50)
    ]
    context = {"users": rows, "q": q, "page": page, "roles": [r.value for r in Role]}
    context["problem"] = problem.message if problem else ""
    return render(request, "admin/users.html", context, problem.status_code if problem else 200)


def _refused(request, session, user_id: int, exc: AppError):
    """Show the user list around the user a change was refused for."""
    try:
        email = service.user_email(session, user_id)
    except NotFound:
        email = ""
    return _users_page(request, session, q=email, problem=exc)


@web.get("/users")
def users(request: Request, session: SessionDep, q: Search = "", page: Page = 0):
    return _users_page(request, session, q, page)


@web.post("/users/{user_id}/role")
def change_role(
    request: Request,
    user_id: Id,
    admin: AdminUser,
    session: SessionDep,
    now: Now,
    role: Annotated[str, Form(max_length=20)] = "",
):
    try:
        if role not in {r.value for r in Role}:
            raise InvalidInput("Choose a role: learner, author, panelist or admin.")
        user = accounts.set_role(
            session=session,
            actor=admin,
            user_id=user_id,
            role=Role(role),
            now=now,
        )
    except AppError as exc:
        return _refused(request, session, user_id, exc)
    flash(request, f"{user.email} is now {role}.", "success")
    return redirect("/admin/users")


@web.post("/users/{user_id}/deactivate")
def deactivate(request: Request, user_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    try:
        user = accounts.set_active(
            session=session,
            actor=admin,
            user_id=user_id,
            active=False,
            now=now,
        )
    except AppError as exc:
        return _refused(request, session, user_id, exc)
    flash(request, f"{user.email} has been deactivated.", "success")
    return redirect("/admin/users")


@web.post("/users/{user_id}/reactivate")
def reactivate(request: Request, user_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    try:
        user = accounts.set_active(
            session=session,
            actor=admin,
            user_id=user_id,
            active=True,
            now=now,
        )
    except AppError as exc:
        return _refused(request, session, user_id, exc)
    flash(request, f"{user.email} has been reactivated.", "success")
    return redirect("/admin/users")


@web.get("/outbox")
def outbox(request: Request, session: SessionDep):
    return render(request, "admin/outbox.html", {"messages": service.outbox(session)})


@web.get("/audit")
def audit_log(
    request: Request, session: SessionDep, chain: Chain, action: Search = "", page: Page = 0
):
    rows = service.audit_page(session, action=action, limit=100, offset=page * 100)
    return render(
        request,
        "admin/audit.html",
        {
            "rows": rows,
            "action": action,
            "page": page,
            "chain": chain,
        },
    )


class ChainStatus(BaseModel):
    ok: bool
    entries: int
    problems: list[str]
    checked: int  # entries hashed again: those after the checkpoint
    checkpoint_seq: int | None  # the latest signed checkpoint the check started from
    checkpoint_at: str | None


@api.get("/users", response_model=list[schemas.UserPublic])
def api_users(session: SessionDep, q: Search = "", page: Page = 0):
    """Search users by e-mail or name."""
    return service.users(session, q=q, limit=50, offset=page * 50)


@api.patch("/users/{user_id}", response_model=schemas.UserPublic)
def api_user_update(
    user_id: Id,
    data: schemas.UserAdminUpdate,
    admin: AdminUser,
    session: SessionDep,
    now: Now,
):
    """Change a user's role or deactivate / reactivate the account."""
    user = accounts.get_user(session, user_id)
    if data.role is not None:
        user = accounts.set_role(
            session=session, actor=admin, user_id=user_id, role=data.role, now=now
        )
    if data.is_active is not None:
        user = accounts.set_active(
            session=session, actor=admin, user_id=user_id, active=data.is_active, now=now
        )
    return user


@api.get("/audit/verify", response_model=ChainStatus)
def api_audit_verify(report: Chain):
    """Check the audit log's hash chain from its latest signed checkpoint to its end."""
    return ChainStatus(
        ok=report.ok,
        entries=report.entries,
        problems=list(report.problems),
        checked=report.checked,
        checkpoint_seq=report.anchor.seq if report.anchor else None,
        checkpoint_at=report.anchor.at if report.anchor else None,
    )
