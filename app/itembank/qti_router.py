"""QTI exchange over HTTP: the API (author or administrator token) and a small page."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.accounts.deps import AuthorUser, api_csrf_protect, csrf_protect
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.itembank import files, qti
from app.itembank.qti_schemas import QtiDefaults, QtiImportReport
from app.web.templating import render

api = APIRouter(prefix="/api/v1", tags=["items"], dependencies=[Depends(api_csrf_protect)])
web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
ZIP = {200: {"content": {"application/zip": {}}, "description": "A QTI 3.0 content package"}}


def _filters(
    track: Annotated[str, Query(description="CAWM, WMP or CWA")],
    pool: str | None = None,
    status: str | None = None,
    domain: str | None = None,
    fact: str | None = None,
) -> qti.Filters:
    return qti.Filters(
        track=track,
        pool=pool or None,
        status=status or None,
        domain=domain or None,
        fact=fact or None,
    )


FiltersDep = Annotated[qti.Filters, Depends(_filters)]


def _zip(filters: qti.Filters, data: bytes) -> Response:
    name = "-".join(v for v in (filters.track, filters.pool, filters.status, filters.domain) if v)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="wmi-{name}-qti.zip"'},
    )


def _import(session, settings, user, now, upload: UploadFile, d: QtiDefaults) -> qti.ImportReport:
    data = upload.file.read(settings.qti_max_bytes + 1)  # the service refuses what is over
    sources = tuple(s.strip() for s in (d.source or "").split(",") if s.strip())
    return qti.import_package(
        session=session,
        data=data,
        name=upload.filename or "package.zip",
        facts=files.read_facts(settings.banks_dir, []),
        defaults=qti.Defaults(
            d.track or None,
            d.pool or "exam",
            d.domain or None,
            d.module or None,
            d.fact or None,
            d.level or None,
            sources,
        ),
        max_bytes=settings.qti_max_bytes,
        now=now,
        actor_id=user.id,
    )


@api.get("/items/qti", response_class=Response, responses=ZIP)
def export_items(session: SessionDep, user: AuthorUser, filters: FiltersDep) -> Response:
    """The filtered items of a track as a QTI 3.0 content package (zip)."""
    data, _ = qti.export_package(session, filters)
    return _zip(filters, data)


@api.post("/items/qti", response_model=QtiImportReport)
def import_items(
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    user: AuthorUser,
    package: Annotated[UploadFile, File(description="A QTI 3.0 or 2.1 content package")],
    defaults: Annotated[QtiDefaults, Form()],
) -> QtiImportReport:
    """Import a package as draft items: a report per item; 422 with the report when refused."""
    report = _import(session, settings, user, now, package, defaults)
    if report.refused:
        raise qti.PackageRefused(report.refused, extra={"report": report.as_dict()})
    return QtiImportReport.model_validate(report.as_dict())


@web.get("/items/qti")
def qti_page(request: Request, user: AuthorUser) -> Response:
    return render(request, "itembank/qti.html", {"report": None, "form": QtiDefaults()})


@web.get("/items/qti/export")
def qti_page_export(session: SessionDep, user: AuthorUser, filters: FiltersDep) -> Response:
    data, _ = qti.export_package(session, filters)
    return _zip(filters, data)


@web.post("/items/qti")
def qti_page_import(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    user: AuthorUser,
    package: Annotated[UploadFile, File()],
    defaults: Annotated[QtiDefaults, Form()],
) -> Response:
    report = _import(session, settings, user, now, package, defaults)
    return render(
        request,
        "itembank/qti.html",
        {"report": report, "form": defaults},
        status_code=422 if report.refused else 200,
    )


routers = (api, web)
