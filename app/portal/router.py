"""The learner's dashboard."""

from fastapi import APIRouter, Depends, Request

from app.accounts.deps import CurrentUser, csrf_protect
from app.core.db import SessionDep
from app.courses import service as courses
from app.itembank import router as practice
from app.web.templating import render

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["dashboard"])


@web.get("/dashboard")
def dashboard(request: Request, session: SessionDep, user: CurrentUser):
    tracks = []
    for track in courses.list_tracks(session):
        modules = courses.progress(session, user, track)
        tracks.append(
            {
                "code": track.code,
                "title": track.title,
                "modules": modules,
                "done": sum(m.done for m in modules),
                "total": sum(m.total for m in modules),
                "readiness": practice.readiness_for(session, user, track),
            }
        )
    return render(
        request,
        "portal/dashboard.html",
        {"tracks": tracks, "recent": courses.recent_activity(session, user)},
    )
