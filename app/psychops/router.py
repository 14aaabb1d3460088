"""Administrator pages and API for pool revisions, live exposure and response data."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError, InvalidInput
from app.itembank import pools
from app.psychops import monitoring, responses, views
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin/pools",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin/pools",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)

RevisionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BaseId = Annotated[int, Form(ge=0, le=2**31 - 1)]
TrackCode = Annotated[str, Path(max_length=8)]
Format = Literal["csv", "parquet"]
TRACKS = ("CAWM", "WMP", "CWA")


def _track(code: str) -> str:
    if code.upper() not in TRACKS:
        raise InvalidInput(f"There is no track {code}; choose CAWM, WMP or CWA.")
    return code.upper()


@web.get("")
def index(request: Request, session: SessionDep):
    return render(request, "psychops/index.html", {"tracks": views.overview(session)})


@web.get("/revisions/{revision_id}")
def revision_page(request: Request, session: SessionDep, revision_id: RevisionId):
    revision = pools.get(session, revision_id)
    live = monitoring.live_exposure(session, revision_id=revision_id)
    in_force = pools.active_id(session, track=revision.track)
    return render(
        request, "psychops/revision.html",
        {"r": revision, "live": live, "in_force": in_force,
         "top": sorted(live.rates.items(), key=lambda kv: -kv[1])[:20]},
    )  # fmt: skip


@web.post("/revisions/{revision_id}/activate")
def activate(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    revision_id: RevisionId,
    base: BaseId,
    now: Now,
):
    try:
        revision = pools.activate(
            session, revision_id=revision_id, base_revision_id=base or None,
            now=now, actor_id=admin.id,
        )  # fmt: skip
    except AppError as exc:
        flash(request, exc.message, "error")
        return redirect(f"/admin/pools/revisions/{revision_id}")
    flash(request, f"Revision {revision.id} is now in force for {revision.track}.")
    return redirect(f"/admin/pools/revisions/{revision_id}")


@web.get("/{track}/responses.{fmt}")
def export_page(
    session: SessionDep, settings: SettingsDep, track: TrackCode, fmt: Format,
    revision: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
):  # fmt: skip
    return _export(session, settings, _track(track), fmt, revision)


EXPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}


@api.get(
    "/{track}/responses.{fmt}",
    response_class=Response,
    responses={
        200: {"description": "The response matrix as CSV or Parquet", "content": EXPORT_CONTENT}
    },
)
def export_api(
    session: SessionDep, settings: SettingsDep, track: TrackCode, fmt: Format,
    revision: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
):  # fmt: skip
    return _export(session, settings, _track(track), fmt, revision)


def _export(session, settings: Settings, track: str, fmt: str, revision: int | None):
    secret = settings.ensure_secret_key()
    m = responses.matrix(session, track=track, secret=secret, revision_id=revision)
    name = f"wmi-{track}-responses" + (f"-revision-{revision}" if revision else "")
    if fmt == "parquet":
        return Response(
            responses.to_parquet(m), media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'},
        )  # fmt: skip
    return StreamingResponse(
        responses.to_csv(m), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )  # fmt: skip


@api.get("/revisions/{revision_id}/exposure")
def exposure_api(session: SessionDep, revision_id: RevisionId) -> dict:
    live = monitoring.live_exposure(session, revision_id=revision_id)
    return {
        "revision": live.revision_id, "track": live.track, "attempts": live.attempts,
        "target": live.target, "max_exposure": live.max_rate, "over_target": live.over_target,
        "by_band": [{"band": b, "attempts": n, "max_exposure": m} for b, n, m in live.by_band],
        "items": {str(v): r for v, r in live.rates.items()},
    }  # fmt: skip


routers = (web, api)
