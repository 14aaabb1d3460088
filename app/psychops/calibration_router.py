"""Calibration runs: the administrator's pages (start, progress, review, activate) and API."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.itembank import pools
from app.psychops import calibration_review as review
from app.psychops import calibration_runs as runs
from app.psychops import calibration_views as views
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin/calibration",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin/calibration",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)

RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Track = Literal["CAWM", "WMP", "CWA"]
Model = Literal["2pl", "3pl"]
Mode = Literal["pretest", "full", "free"]
Decision = Literal["accept", "keep", "retire", "promote"]


@web.get("")
def index(request: Request, session: SessionDep, settings: SettingsDep):
    return render(request, "psychops/calibration_runs.html",
                  {"runs": views.listing(session), "minimum": settings.calibration_min_responses,
                   "tracks": ("CAWM", "WMP", "CWA")})  # fmt: skip


@web.post("")
def start_page(
    request: Request, session: SessionDep, admin: AdminUser, track: Annotated[Track, Form()],
    model: Annotated[Model, Form()], mode: Annotated[Mode, Form()],
    min_responses: Annotated[int, Form(ge=1, le=1_000_000)], now: Now,
):  # fmt: skip
    run = runs.start(session, track=track, model=model, mode=mode, min_responses=min_responses,
                     now=now, actor_id=admin.id)  # fmt: skip
    flash(request, f"Calibration run {run.id} is queued; this page shows its progress.")
    return redirect(f"/admin/calibration/runs/{run.id}")


@web.get("/runs/{run_id}")
def run_page(request: Request, session: SessionDep, run_id: RunId, now: Now):
    page = views.run_page(session, run_id, now=now)
    return render(request, "psychops/calibration_run.html", {"p": page})


def _act(request: Request, run_id: int, fn, done: str):
    try:
        fn()
    except AppError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, done)
    return redirect(f"/admin/calibration/runs/{run_id}")


@web.post("/runs/{run_id}/cancel")
def cancel_page(request: Request, session: SessionDep, admin: AdminUser, run_id: RunId, now: Now):
    return _act(request, run_id, lambda: runs.cancel(session, run_id, now=now, actor_id=admin.id),
                f"Calibration run {run_id} is cancelled; the pool is unchanged.")  # fmt: skip


@web.post("/runs/{run_id}/decisions")
async def decisions_page(
    request: Request, session: SessionDep, admin: AdminUser, run_id: RunId, now: Now
):
    form = await request.form()
    chosen = {}
    for key, value in form.items():
        if key.startswith("d-") and key[2:].isdigit() and isinstance(value, str):
            chosen[int(key[2:])] = value
    return await run_in_threadpool(
        _act, request, run_id,
        lambda: review.decide(session, run_id, chosen, now=now, actor_id=admin.id),
        "Decisions saved.",
    )  # fmt: skip


@web.post("/runs/{run_id}/propose")
def propose_page(request: Request, session: SessionDep, admin: AdminUser, run_id: RunId, now: Now):
    return _act(request, run_id, lambda: review.propose(session, run_id, now=now,
                                                        actor_id=admin.id),
                "The proposed revision is created; its exposure control and simulation are "
                "being computed.")  # fmt: skip


@web.post("/runs/{run_id}/activate")
def activate_page(request: Request, session: SessionDep, admin: AdminUser, run_id: RunId, now: Now):
    return _act(request, run_id, lambda: review.activate(session, run_id, now=now,
                                                         actor_id=admin.id),
                "The calibrated revision is now in force; attempts already started keep "
                "theirs.")  # fmt: skip


class StartRun(BaseModel):
    track: Track
    model: Model = "3pl"
    mode: Mode = "pretest"
    min_responses: int | None = Field(default=None, ge=1, le=1_000_000)


class Decisions(BaseModel):
    decisions: dict[int, Decision] = Field(default_factory=dict, max_length=5000)


@api.post("/runs", status_code=202)
def start_api(
    session: SessionDep, admin: AdminUser, body: StartRun, now: Now, settings: SettingsDep
) -> dict:
    minimum = body.min_responses or settings.calibration_min_responses
    run = runs.start(session, track=body.track, model=body.model, mode=body.mode,
                     min_responses=minimum, now=now,
                     actor_id=admin.id)  # fmt: skip
    return views.run_json(session, run.id)


@api.get("/runs/{run_id}")
def run_api(session: SessionDep, run_id: RunId) -> dict:
    return views.run_json(session, run_id, with_items=True)


@api.post("/runs/{run_id}/cancel")
def cancel_api(session: SessionDep, admin: AdminUser, run_id: RunId, now: Now) -> dict:
    runs.cancel(session, run_id, now=now, actor_id=admin.id)
    return views.run_json(session, run_id)


@api.post("/runs/{run_id}/propose")
def propose_api(
    session: SessionDep, admin: AdminUser, run_id: RunId, body: Decisions, now: Now
) -> dict:
    if body.decisions:
        review.decide(session, run_id, dict(body.decisions), now=now, actor_id=admin.id)
    review.propose(session, run_id, now=now, actor_id=admin.id)
    return views.run_json(session, run_id)


@api.post("/runs/{run_id}/activate")
def activate_api(session: SessionDep, admin: AdminUser, run_id: RunId, now: Now) -> dict:
    review.activate(session, run_id, now=now, actor_id=admin.id)
    out = views.run_json(session, run_id)
    out["in_force"] = pools.active_id(session, track=out["track"])
    return out


routers = (web, api)
