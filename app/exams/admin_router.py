"""Administrator pages and API for exams: waivers, accommodations, attempts and their logs."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request

from app.accounts import service as accounts
from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.core.db import SessionDep
from app.core.deps import Now
from app.core.errors import AppError, InvalidInput, NotFound
from app.courses import service as courses
from app.exams import eligibility, results, schemas, service
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin/exams",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin/exams",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)

Text = Annotated[str, Form(max_length=500)]
UserId = Annotated[int, Form(ge=1, le=2**31 - 1)]
AttemptId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StatusFilter = Annotated[Literal["", "open", "finished", "expired"], Query()]


def _user_by_email(session, email: str):
    user = accounts.find_user(session, email)
    if user is None:
        raise NotFound(
            f"There is no user with the e-mail address {email}. Check the address, or ask the "
            "candidate to create an account first."
        )
    return user


def _console(request, session, status="", *, problem: AppError | None = None, form=None):
    """The console; a refused form comes back in place (its message beside it, its values kept)."""
    waivers, accs = eligibility.waivers_and_accommodations(session)
    return render(
        request,
        "exams/admin.html",
        {
            "waivers": waivers,
            "accommodations": accs,
            "attempts": results.admin_attempts(session, status=status if status else ""),
            "tracks": [t.code for t in courses.list_tracks(session)],
            "status": status,
            "problem": problem.message if problem else "",
            "form": form or {},
        },
        status_code=problem.status_code if problem else 200,
    )


@web.get("")
def console(request: Request, session: SessionDep, status: StatusFilter = ""):
    return _console(request, session, status)


@web.post("/waivers")
def grant_waiver(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    email: Text,
    track: Text,
    reason: Text,
    now: Now,
):
    try:
        user = _user_by_email(session, email)
        eligibility.grant_waiver(
            session=session,
            actor=admin,
            user_id=user.id,
            track=track,
            reason=reason,
            now=now,
        )
    except AppError as exc:
        form = {"form": "waiver", "email": email, "track": track, "reason": reason}
        return _console(request, session, problem=exc, form=form)
    flash(request, f"{user.email} has a waiver for the {track.upper()} prerequisite.", "success")
    return redirect("/admin/exams")


@web.post("/waivers/withdraw")
def withdraw_waiver(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    user_id: UserId,
    track: Text,
    reason: Text,
    now: Now,
):
    eligibility.withdraw_waiver(
        session=session,
        actor=admin,
        user_id=user_id,
        track=track,
        reason=reason,
        now=now,
    )
    flash(request, "The waiver has been withdrawn.", "success")
    return redirect("/admin/exams")


@web.post("/accommodations")
def grant_accommodation(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    email: Text,
    factor: Text,
    reason: Text,
    now: Now,
):
    try:
        user = _user_by_email(session, email)
        try:
            value = float(factor)
        except ValueError as exc:
            raise InvalidInput("The time factor is a number such as 1.25, 1.5 or 2.") from exc
        eligibility.grant_accommodation(
            session=session,
            actor=admin,
            user_id=user.id,
            factor=value,
            reason=reason,
            now=now,
        )
    except AppError as exc:
        form = {"form": "accommodation", "email": email, "factor": factor, "reason": reason}
        return _console(request, session, problem=exc, form=form)
    flash(request, f"{user.email} now has {value:g} x the time on every exam.", "success")
    return redirect("/admin/exams")


@web.post("/accommodations/withdraw")
def withdraw_accommodation(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    user_id: UserId,
    reason: Text,
    now: Now,
):
    eligibility.withdraw_accommodation(
        session=session, actor=admin, user_id=user_id, reason=reason, now=now
    )
    flash(request, "The accommodation has been withdrawn for later attempts.", "success")
    return redirect("/admin/exams")


@web.get("/attempts/{attempt_id}")
def attempt_log(request: Request, attempt_id: AttemptId, session: SessionDep):
    log = service.admin_attempt(session, attempt_id=attempt_id)
    return render(request, "exams/admin_attempt.html", {"log": log})


def _attempt_out(attempt, user) -> dict:
    return {
        "id": attempt.id,
        "user_id": attempt.user_id,
        "email": user.email,
        "track": attempt.track,
        "status": attempt.status,
        "answered": attempt.step,
        "started_at": attempt.started_at,
        "deadline_at": attempt.deadline_at,
        "time_factor": attempt.time_factor,
        "finished_at": attempt.finished_at,
        "end_reason": attempt.end_reason,
        "passed": attempt.passed,
        "scaled_score": attempt.scaled_score,
        "url": f"/api/v1/admin/exams/attempts/{attempt.id}",
    }


@api.get("/attempts", response_model=list[schemas.AdminAttemptOut])
def api_attempts(session: SessionDep, status: StatusFilter = ""):
    """The newest 100 attempts, optionally only those open, finished or expired."""
    return [_attempt_out(a, u) for a, u in results.admin_attempts(session, status=status)]


@api.get("/attempts/{attempt_id}", response_model=schemas.AttemptLogOut)
def api_attempt_log(attempt_id: AttemptId, session: SessionDep):
    """One attempt with its estimate, its frozen pool's size and its whole response log,
    including which items were pretest (administrators only)."""
    log = service.admin_attempt(session, attempt_id=attempt_id)
    attempt, result = log.attempt, log.attempt.result or {}
    return {
        **_attempt_out(attempt, log.candidate),
        "track_version": attempt.policy.get("track_version"),
        "pool_size": log.pool_size,
        "pool_pretest": log.pool_pretest,
        "theta": result.get("theta"),
        "se": result.get("se"),
        "pending_item_code": log.pending_code,
        "responses": [
            {
                "position": line.response.position,
                "item_code": line.code,
                "item_version_id": line.response.item_version_id,
                "domain": line.domain,
                "pretest": line.pretest,
                "answer": line.response.answer,
                "correct": line.response.correct,
                "presented_at": line.response.presented_at,
                "answered_at": line.response.answered_at,
            }
            for line in log.responses
        ],
    }


def _by_admin(admin, session, now) -> dict:
    """The arguments every administrator's action in eligibility takes."""
    return {"session": session, "actor": admin, "now": now}


@api.post("/waivers", response_model=schemas.WaiverOut, status_code=201)
def api_grant_waiver(data: schemas.WaiverIn, admin: AdminUser, session: SessionDep, now: Now):
    """Waive a track's prerequisite for a user, with a reason."""
    return eligibility.grant_waiver(**_by_admin(admin, session, now), **data.model_dump())


@api.post("/waivers/withdraw", response_model=schemas.WithdrawnOut)
def api_withdraw_waiver(data: schemas.WaiverIn, admin: AdminUser, session: SessionDep, now: Now):
    """Withdraw a user's active waiver for a track, with a reason (404 if there is none)."""
    return eligibility.withdraw_waiver(**_by_admin(admin, session, now), **data.model_dump())


@api.post("/accommodations", response_model=schemas.AccommodationOut, status_code=201)
def api_grant_accommodation(
    data: schemas.AccommodationIn, admin: AdminUser, session: SessionDep, now: Now
):
    """Grant a user extra time on every later exam attempt, with a reason."""
    return eligibility.grant_accommodation(
        **_by_admin(admin, session, now),
        user_id=data.user_id,
        factor=data.time_factor,
        reason=data.reason,
    )


@api.post("/accommodations/withdraw", response_model=schemas.WithdrawnOut)
def api_withdraw_accommodation(
    data: schemas.AccommodationWithdrawIn,
    admin: AdminUser,
    session: SessionDep,
    now: Now,
):
    """Withdraw a user's accommodation for later attempts, with a reason (404 if there is none).
    Attempts already started keep the time they were given."""
    return eligibility.withdraw_accommodation(**_by_admin(admin, session, now), **data.model_dump())
