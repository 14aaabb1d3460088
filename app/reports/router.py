"""Administrator reports: pages with charts and tables, and the same tables as CSV."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.accounts.deps import csrf_protect, require_admin
from app.core.db import SessionDep
from app.core.deps import Now
from app.core.errors import InvalidInput
from app.reports import views
from app.reports.queries import Filters
from app.web.templating import render

web = APIRouter(
    prefix="/admin/reports",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)

Month = Annotated[str, Query(max_length=7, description="YYYY-MM")]
Track = Annotated[str, Query(max_length=8)]
Name = Annotated[str, Path(max_length=20)]
TRACKS = ("", "CAWM", "WMP", "CWA")


def _filters(track: str, since: str, until: str) -> Filters:
    for label, month in (("From", since), ("To", until)):
        if month and not (
            len(month) == 7
            and month[4] == "-"
            and month.replace("-", "").isdigit()
            and 1 <= int(month[5:]) <= 12
        ):
            raise InvalidInput(f"{label} month {month} is not a month (YYYY-MM).")
    if track.upper() not in TRACKS:
        raise InvalidInput(f"There is no track {track}; choose CAWM, WMP or CWA.")
    if since and until and since > until:
        raise InvalidInput(f"The period runs from {since} to {until}: the start is after the end.")
    return Filters(track=track.upper(), since=since, until=until)


@web.get("")
def index(request: Request):
    return render(request, "reports/index.html", {"reports": views.REPORTS})


@web.get("/{name}.csv")
def report_csv(
    name: Name,
    session: SessionDep,
    now: Now,
    track: Track = "",
    since: Month = "",
    until: Month = "",
):
    f = _filters(track, since, until)
    report = views.build(session, name, f, now=now, charts=False)
    return Response(
        views.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="wmi-{name}.csv"'},
    )


@web.get("/{name}")
def report_page(
    request: Request,
    name: Name,
    session: SessionDep,
    now: Now,
    track: Track = "",
    since: Month = "",
    until: Month = "",
):
    f = _filters(track, since, until)
    report = views.build(session, name, f, now=now)
    query = request.url.query
    return render(
        request,
        "reports/report.html",
        {"r": report, "f": f, "query": query, "reports": views.REPORTS},
    )


routers = (web,)
