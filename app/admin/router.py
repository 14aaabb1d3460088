"""Administrator pages and API: users, outbox, audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel

from app.accounts import schemas
from app.accounts import service as accounts
from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.accounts.models import Role
from app.admin import service
from app.core.db import SessionDep
from app.core.errors import InvalidInput
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


@web.get("")
def dashboard(request: Request, session: SessionDep):
    report = service.verify_audit(session)
    return render(request, "admin/dashboard.html", {"chain": report})


@web.get("/users")
def users(request: Request, session: SessionDep, q: Search = "", page: Page = 0):
    rows = [
        schemas.UserPublic.model_validate(u)
        for u in service.users(session, q=q, limit=50, offset=page * 50)
    ]
    return render(
        request,
        "admin/users.html",
        {"users": rows, "q": q, "page": page, "roles": [r.value for r in Role]},
    )


@web.post("/users/{user_id}/role")
def change_role(
    request: Request,
    user_id: Id,
    admin: AdminUser,
    session: SessionDep,
    role: Annotated[str, Form(max_length=20)] = "",
):
    if role not in {r.value for r in Role}:
        raise InvalidInput("Choose a role: learner, author or admin.")
    user = accounts.set_role(
        session=session,
        actor=admin,
        user_id=user_id,
        role=Role(role),
        now=request.app.state.clock(),
    )
    flash(request, f"{user.email} is now {role}.", "success")
    return redirect("/admin/users")


@web.post("/users/{user_id}/deactivate")
def deactivate(request: Request, user_id: Id, admin: AdminUser, session: SessionDep):
    user = accounts.set_active(
        session=session, actor=admin, user_id=user_id, active=False, now=request.app.state.clock()
    )
    flash(request, f"{user.email} has been deactivated.", "success")
    return redirect("/admin/users")


@web.post("/users/{user_id}/reactivate")
def reactivate(request: Request, user_id: Id, admin: AdminUser, session: SessionDep):
    user = accounts.set_active(
        session=session, actor=admin, user_id=user_id, active=True, now=request.app.state.clock()
    )
    flash(request, f"{user.email} has been reactivated.", "success")
    return redirect("/admin/users")


@web.get("/outbox")
def outbox(request: Request, session: SessionDep):
    return render(request, "admin/outbox.html", {"messages": service.outbox(session)})


@web.get("/audit")
def audit_log(request: Request, session: SessionDep, action: Search = "", page: Page = 0):
    rows = service.audit_page(session, action=action, limit=100, offset=page * 100)
    return render(
        request,
        "admin/audit.html",
        {"rows": rows, "action": action, "page": page, "chain": service.verify_audit(session)},
    )


class ChainStatus(BaseModel):
    ok: bool
    entries: int
    problems: list[str]


@api.get("/users", response_model=list[schemas.UserPublic])
def api_users(session: SessionDep, q: Search = "", page: Page = 0):
    """Search users by e-mail or name."""
    return service.users(session, q=q, limit=50, offset=page * 50)


@api.patch("/users/{user_id}", response_model=schemas.UserPublic)
def api_user_update(
    request: Request,
    user_id: Id,
    data: schemas.UserAdminUpdate,
    admin: AdminUser,
    session: SessionDep,
):
    """Change a user's role or deactivate / reactivate the account."""
    now = request.app.state.clock()
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
def api_audit_verify(session: SessionDep):
    """Check the audit log's hash chain."""
    report = service.verify_audit(session)
    return ChainStatus(ok=report.ok, entries=report.entries, problems=list(report.problems))
