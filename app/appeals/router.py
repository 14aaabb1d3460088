"""Appeal pages: the candidate's (/appeals) and the administrator's review (/admin/appeals)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request

from app.accounts.deps import AdminUser, CurrentUser, csrf_protect, require_admin
from app.appeals import queries, service, withdrawals
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.web.params import Id
from app.web.templating import flash, redirect, render

web = APIRouter(prefix="/appeals", include_in_schema=False, dependencies=[Depends(csrf_protect)])
admin_web = APIRouter(
    prefix="/admin/appeals",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)

Long = Annotated[str, Form(max_length=5000)]
Short = Annotated[str, Form(max_length=200)]


# ---- candidates --------------------------------------------------------------------------------


@web.get("")
def my_cases(request: Request, user: CurrentUser, session: SessionDep):
    return render(request, "appeals/mine.html", {"cases": queries.my_cases(session, user=user)})


@web.post("/complaints")
def complain(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    subject: Short,
    grounds: Long,
    now: Now,
):
    case = service.submit_complaint(
        session=session, user=user, subject=subject, grounds=grounds, now=now
    )
    flash(request, f"Your complaint {case.id} is recorded; you will be told the outcome by mail.")
    return redirect("/appeals")


def _attempt_page(request, session, user, attempt_id, *, settings, now, error="", status_code=200):
    view = queries.attempt_appeal(session, settings=settings, user=user, attempt_id=attempt_id)
    context = {"v": view, "now": now, "error": error}
    return render(request, "appeals/attempt.html", context, status_code=status_code)


@web.get("/attempts/{attempt_id}")
def attempt_page(
    request: Request,
    attempt_id: Id,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
):
    return _attempt_page(request, session, user, attempt_id, settings=settings, now=now)


@web.post("/attempts/{attempt_id}/appeal")
def appeal(
    request: Request,
    attempt_id: Id,
    user: CurrentUser,
    session: SessionDep,
    grounds: Long,
    settings: SettingsDep,
    now: Now,
):
    case = service.submit_appeal(
        session=session,
        settings=settings,
        user=user,
        attempt_id=attempt_id,
        grounds=grounds,
        now=now,
    )
    flash(request, f"Your appeal {case.id} is recorded; you will be told the outcome by mail.")
    return redirect(f"/appeals/attempts/{attempt_id}")


@web.post("/attempts/{attempt_id}/flags")
def flag(
    request: Request,
    attempt_id: Id,
    user: CurrentUser,
    session: SessionDep,
    position: Annotated[int, Form(ge=1, le=1000)],
    comment: Long,
    settings: SettingsDep,
    now: Now,
):
    service.flag_item(
        session=session,
        settings=settings,
        user=user,
        attempt_id=attempt_id,
        position=position,
        comment=comment,
        now=now,
    )
    flash(request, f"Question {position} is flagged for review. Thank you.")
    return redirect(f"/appeals/attempts/{attempt_id}")


# ---- administrators ----------------------------------------------------------------------------


@admin_web.get("")
def review_list(request: Request, session: SessionDep):
    context = {
        "cases": queries.open_cases(session),
        "flags": queries.recent_flags(session),
        "runs": withdrawals.runs(session),
    }
    return render(request, "appeals/admin_list.html", context)


@admin_web.get("/cases/{case_id}")
def case_page(request: Request, case_id: Id, session: SessionDep):
    return render(
        request, "appeals/admin_case.html", {"v": queries.case_review(session, case_id=case_id)}
    )


@admin_web.post("/cases/{case_id}/decide")
async def decide(request: Request, case_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    form = await request.form()
    exclude = [int(v) for v in form.getlist("exclude") if str(v).isdigit() and len(str(v)) < 11]
    case = service.decide(
        session=session,
        admin=admin,
        case_id=case_id,
        outcome=str(form.get("outcome", ""))[:20],
        reasons=str(form.get("reasons", ""))[:5000],
        exclude=exclude,
        now=now,
    )
    if case.decision_id:  # the certificate follows now (the job runner would, a moment later)
        request.app.state.jobs.run_key(f"decision:{case.decision_id}")
    flash(
        request, f"Case {case.id}: {case.outcome.replace('_', ' ')}. The candidate is told by mail."
    )
    return redirect(f"/admin/appeals/cases/{case_id}")


@admin_web.post("/withdrawals")
def withdraw(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    code: Annotated[str, Form(max_length=20)],
    reason: Long,
    now: Now,
):
    run = withdrawals.start_withdrawal(
        session=session, admin=admin, code=code, reason=reason, now=now
    )
    flash(request, f"Item {run.item_code} is being withdrawn; affected attempts are rescored.")
    return redirect(f"/admin/appeals/withdrawals/{run.id}")


@admin_web.get("/withdrawals/{run_id}")
def withdrawal_page(request: Request, run_id: Id, session: SessionDep):
    run = withdrawals.get_run(session, run_id)
    return render(request, "appeals/admin_withdrawal.html", {"run": run})


routers = (web, admin_web)
