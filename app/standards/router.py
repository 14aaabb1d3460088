"""Standard-setting pages: the administrator's studies (/admin/standards), the panelist's
rating pages (/panel), the study report (HTML and PDF) and the ratings API."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app.accounts.deps import (
    AdminUser,
    PanelistUser,
    api_csrf_protect,
    csrf_protect,
    require_admin,
    require_panelist,
)
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.standards import approval, queries, report, service, views
from app.standards.errors import InvalidRatings
from app.web.params import Id
from app.web.templating import flash, redirect, render

admin_web = APIRouter(
    prefix="/admin/standards",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
panel_web = APIRouter(
    prefix="/panel",
    include_in_schema=False,
    dependencies=[Depends(require_panelist), Depends(csrf_protect)],
)
panel_api = APIRouter(
    prefix="/api/v1/panel",
    tags=["standard setting"],
    dependencies=[Depends(require_panelist), Depends(api_csrf_protect)],
)

Text = Annotated[str, Form(max_length=2000)]
Position = Annotated[int, Path(ge=1, le=10_000)]
Round = Annotated[int, Path(ge=1, le=3)]


def _moment(text: str, now: datetime) -> datetime:
    """A datetime-local field (read as UTC); blank is now."""
    if not text.strip():
        return now
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"'{text}' is not a date and time (YYYY-MM-DD HH:MM, UTC).") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# ---- the administrator's studies ---------------------------------------------------------------


@admin_web.get("")
def studies(request: Request, session: SessionDep, settings: SettingsDep):
    tracks = [t.code for t in courses.list_tracks(session)]
    context = {
        "studies": queries.studies(session),
        "tracks": tracks,
        "default_min": settings.angoff_min_panelists,
    }
    return render(request, "standards/admin_list.html", context)


@admin_web.post("")
def create_study(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    track: Annotated[str, Form(max_length=8)],
    settings: SettingsDep,
    now: Now,
    title: Annotated[str, Form(max_length=200)] = "",
    rounds: Annotated[int, Form(ge=2, le=3)] = 2,
    min_panelists: Annotated[int | None, Form(ge=1, le=50)] = None,
    form_size: Annotated[int, Form(ge=1, le=service.MAX_ITEMS)] = 30,
    item_codes: Text = "",
):
    setup = service.StudySetup(
        track=track.upper(),
        title=title,
        rounds=rounds,
        min_panelists=min_panelists or settings.angoff_min_panelists,
        form_size=form_size,
        item_codes=item_codes.replace(",", " ").split(),
    )
    study = service.create_study(session=session, admin=admin, setup=setup, now=now)
    flash(request, f"Study {study.id} is set up; add the panel, then open round 1.", "success")
    return redirect(f"/admin/standards/{study.id}")


@admin_web.get("/{study_id}")
def study_page(request: Request, study_id: Id, session: SessionDep, now: Now):
    view = views.study_view(session, study_id=study_id)
    return render(request, "standards/admin_study.html", {"v": view, "now": now})


@admin_web.post("/{study_id}/panelists")
def add_panelist(
    request: Request,
    study_id: Id,
    admin: AdminUser,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    settings: SettingsDep,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
):
    user = service.add_panelist(
        session=session,
        settings=settings,
        admin=admin,
        study_id=study_id,
        email=email,
        name=name,
        now=now,
    )
    flash(request, f"{user.email} is on the panel.", "success")
    return redirect(f"/admin/standards/{study_id}")


@admin_web.post("/{study_id}/rounds/open")
def open_round(request: Request, study_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    study = service.open_round(session=session, admin=admin, study_id=study_id, now=now)
    flash(request, f"Round {study.current_round} is open for ratings.", "success")
    return redirect(f"/admin/standards/{study_id}")


@admin_web.post("/{study_id}/rounds/close")
def close_round(request: Request, study_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    study = service.close_round(session=session, admin=admin, study_id=study_id, now=now)
    flash(request, f"Round {study.current_round} is closed; the panel can see its results.")
    return redirect(f"/admin/standards/{study_id}")


@admin_web.post("/{study_id}/approve")
def approve(
    request: Request,
    study_id: Id,
    admin: AdminUser,
    session: SessionDep,
    now: Now,
    effective_at: Annotated[str, Form(max_length=40)] = "",
    raw_cut: Annotated[str, Form(max_length=20)] = "",
    note: Text = "",
):
    try:
        raw = float(raw_cut) if raw_cut.strip() else None
    except ValueError as exc:
        raise InvalidInput(
            f"'{raw_cut}' is not a raw score; leave it blank for the panel's."
        ) from exc
    study = approval.approve(
        session=session,
        admin=admin,
        study_id=study_id,
        effective_at=_moment(effective_at, now),
        now=now,
        raw_cut=raw,
        note=note,
    )
    flash(
        request,
        f"The {study.track} cut theta {study.approved_theta:.3f} is approved from "
        f"{study.effective_at:%d %B %Y %H:%M} UTC.",
        "success",
    )
    return redirect(f"/admin/standards/{study_id}")


@admin_web.post("/{study_id}/cancel")
def cancel(
    request: Request, study_id: Id, admin: AdminUser, session: SessionDep, reason: Text, now: Now
):
    service.cancel_study(
        session=session,
        admin=admin,
        study_id=study_id,
        reason=reason,
        now=now,
    )
    flash(request, f"Study {study_id} is cancelled.")
    return redirect(f"/admin/standards/{study_id}")


@admin_web.get("/{study_id}/report")
def report_page(request: Request, study_id: Id, session: SessionDep):
    view = views.report_view(session, study_id=study_id)
    return render(request, "standards/report.html", {"v": view})


@admin_web.get("/{study_id}/report.pdf")
def report_pdf(study_id: Id, session: SessionDep):
    body = report.pdf(views.report_view(session, study_id=study_id))
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="angoff-study-{study_id}.pdf"'},
    )


# ---- the panelist's pages ----------------------------------------------------------------------


@panel_web.get("")
def my_studies(request: Request, user: PanelistUser, session: SessionDep):
    rows = queries.panelist_studies(session, user=user)
    return render(request, "standards/panel_list.html", {"studies": rows})


def _panel_page(request, view, errors=None, entered=None, status_code=200):
    context = {"v": view, "errors": errors or {}, "entered": entered or {}}
    return render(request, "standards/panel_study.html", context, status_code=status_code)


@panel_web.get("/studies/{study_id}")
def panel_study(request: Request, study_id: Id, user: PanelistUser, session: SessionDep):
    return _panel_page(request, views.panelist_view(session, user=user, study_id=study_id))


@panel_web.post("/studies/{study_id}/ratings")
async def save_ratings(
    request: Request, study_id: Id, user: PanelistUser, session: SessionDep, now: Now
):
    form = await request.form()
    values = {
        int(k.removeprefix("r-")): str(v)
        for k, v in form.items()
        if k.startswith("r-") and k[2:].isdigit() and len(k) < 9
    }
    saved = service.save_ratings(
        session=session, user=user, study_id=study_id, values=values, now=now
    )
    view = views.panelist_view(session, user=user, study_id=study_id)
    if saved.errors:
        return _panel_page(request, view, saved.errors, values, status_code=422)
    flash(request, f"{len(saved.saved)} rating(s) saved.", "success")
    return redirect(f"/panel/studies/{study_id}")


@panel_web.get("/studies/{study_id}/items/{position}")
def rating_page(
    request: Request, study_id: Id, position: Position, user: PanelistUser, session: SessionDep
):
    view = views.panelist_view(session, user=user, study_id=study_id)
    item = views.rating_item(view, position)
    return render(request, "standards/panel_item.html", {"v": view, "item": item, "error": ""})


@panel_web.post("/studies/{study_id}/items/{position}")
def rate_item(
    request: Request,
    study_id: Id,
    position: Position,
    user: PanelistUser,
    session: SessionDep,
    now: Now,
    rating: Annotated[str, Form(max_length=20)] = "",
):
    saved = service.save_ratings(
        session=session,
        user=user,
        study_id=study_id,
        values={position: rating},
        now=now,
    )
    view = views.panelist_view(session, user=user, study_id=study_id)
    if saved.errors:
        item = views.rating_item(view, position)
        context = {"v": view, "item": item, "error": saved.errors[position], "entered": rating}
        return render(request, "standards/panel_item.html", context, status_code=422)
    following = position + 1 if position < len(view.items) else None
    flash(request, f"Item {position}: saved.", "success")
    if following is None:
        return redirect(f"/panel/studies/{study_id}")
    return redirect(f"/panel/studies/{study_id}/items/{following}")


@panel_web.get("/studies/{study_id}/rounds/{number}")
def round_feedback(
    request: Request, study_id: Id, number: Round, user: PanelistUser, session: SessionDep
):
    rv = views.panel_round(session, user=user, study_id=study_id, number=number)
    return render(request, "standards/panel_round.html", {"r": rv, "study_id": study_id})


class RatingsIn(BaseModel):
    """Ratings by item position: the percentage (0-100) of minimally competent candidates who
    would answer correctly."""

    ratings: dict[int, float | str] = Field(max_length=500)


class RatingsOut(BaseModel):
    saved: list[int]


@panel_api.put(
    "/studies/{study_id}/ratings",
    response_model=RatingsOut,
    responses={422: {"description": "Some ratings refused; the others were saved."}},
)
def api_ratings(
    study_id: Id,
    data: RatingsIn,
    user: PanelistUser,
    session: SessionDep,
    now: Now,
):
    """Save ratings for the open round; refused ones are named, the valid ones kept."""
    saved = service.save_ratings(
        session=session,
        user=user,
        study_id=study_id,
        values={k: str(v) for k, v in data.ratings.items()},
        now=now,
    )
    if saved.errors:
        error = InvalidRatings(" ".join(saved.errors.values()))
        return JSONResponse(
            {
                "error": {
                    "code": error.code,
                    "message": error.message,
                    "saved": list(saved.saved),
                    "refused": {str(k): v for k, v in saved.errors.items()},
                }
            },
            status_code=error.status_code,
        )
    return RatingsOut(saved=list(saved.saved))


routers = (admin_web, panel_web, panel_api)
