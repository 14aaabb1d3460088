"""Certificates: public verification, credentials, status list, DID document, PDF; the
certificant's page; the administrator's issue, revoke and reinstate (pages and API)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from app.accounts.deps import AdminUser, CurrentUser, api_csrf_protect, csrf_protect, require_admin
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import NotFound
from app.courses import service as courses
from app.credentials import badge, did, queries, renewal, revocation, schemas, service
from app.web.params import Id
from app.web.templating import flash, redirect, render, validate_form

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
admin_web = APIRouter(
    prefix="/admin/certificates",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(prefix="/api/v1", tags=["credentials"], dependencies=[Depends(api_csrf_protect)])

FormStr = Annotated[str, Form(max_length=1000)]
TrackCode = Annotated[str, Path(min_length=2, max_length=8, pattern="^[A-Za-z]+$")]
Number = Annotated[str, Path(min_length=1, max_length=60, description="A certificate number.")]
PUBLIC_CACHE = "public, max-age=300"
LD_JSON = "application/ld+json"


# Public documents are read by verifiers running in other sites' pages, so any origin may
# fetch them (they carry no cookie-bound data: the same answer for everyone).
PUBLIC_CORS = {"Access-Control-Allow-Origin": "*"}


def _json(document: dict, media_type: str = "application/json", cache: str = PUBLIC_CACHE):
    headers = {"Cache-Control": cache, **PUBLIC_CORS}
    return JSONResponse(document, media_type=media_type, headers=headers)


def _png(body: bytes) -> Response:
    headers = {"Cache-Control": "public, max-age=86400", **PUBLIC_CORS}
    return Response(body, media_type="image/png", headers=headers)


# ---- public ----------------------------------------------------------------------------------


@web.get("/verify/{number}.json")
def verify_json(now: Now, settings: SettingsDep, number: Number, session: SessionDep):
    result = queries.verification(session, settings, number, now=now)
    return _json(result.model_dump(mode="json"), cache="no-cache")


@web.get("/verify/{number}")
def verify_page(
    request: Request, now: Now, settings: SettingsDep, number: Number, session: SessionDep
):
    """The verification page; an unknown number comes back in the lookup box, with a 404."""
    try:
        result = queries.verification(session, settings, number, now=now)
    except NotFound:
        message = f"No certificate has the number {number}. Check it against the certificate."
        context = {"number": number, "lookup_error": message}
        return render(request, "credentials/lookup.html", context, 404)
    u = service.urls(settings)
    page_url = u.verify(result.certificate_number)
    context = {"v": result, "preview": u.preview(result.track), "page_url": page_url}
    return render(request, "credentials/verify.html", context)


@web.get("/verify")
def verify_lookup(request: Request, number: Annotated[str, Query(max_length=40)] = ""):
    if number.strip():
        return redirect(f"/verify/{service.normalise_number(number)}", 303)
    return render(request, "credentials/lookup.html")


@web.get("/credentials/status/{list_id}")
def status_list(settings: SettingsDep, list_id: Id, session: SessionDep):
    return _json(service.status_list_credential(session, settings, list_id), LD_JSON)


@web.get("/credentials/{number}.json")
def credential(number: Number, session: SessionDep):
    return _json(queries.signed_credential(session, number), LD_JSON, cache="no-cache")


@web.get("/.well-known/did.json")
def did_document(settings: SettingsDep, session: SessionDep):
    return _json(did.did_document(session, settings), "application/did+json")


@web.get("/badges/{code}.png")
def badge_image(code: TrackCode, session: SessionDep):
    """The track's badge: the image of its Open Badges achievement."""
    return _png(badge.badge_png(courses.get_track(session, code).code))


@web.get("/badges/{code}/preview.png")
def badge_preview(code: TrackCode, session: SessionDep):
    """The preview card verification pages name for link previews (OpenGraph)."""
    track = courses.get_track(session, code)
    return _png(badge.preview_png(track.code, track.title))


@web.get("/certificates/{number}.pdf")
def certificate_pdf(now: Now, settings: SettingsDep, number: Number, session: SessionDep):
    body = queries.certificate_pdf(session, settings, number, now=now)
    filename = f"{service.normalise_number(number)}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@api.get("/verify/{number}", response_model=schemas.Verification)
def api_verify(now: Now, settings: SettingsDep, number: Number, session: SessionDep):
    """Verify a certificate by number (no account needed)."""
    return queries.verification(session, settings, number, now=now)


# ---- the certificant -------------------------------------------------------------------------


def _my_page(request, now, settings, session, user, errors=None, form=None, status=200):
    views = renewal.my_certificates(session, settings, user, now=now)
    context = {
        "certificates": views,
        "errors": errors or {},
        "form": form or {},
        "categories": [c.value for c in schemas.CeuCategory],
    }
    return render(request, "credentials/mine.html", context, status)


@web.get("/certificates")
def my_certificates(
    request: Request, now: Now, settings: SettingsDep, user: CurrentUser, session: SessionDep
):
    return _my_page(request, now, settings, session, user)


@web.post("/certificates/ceu")
def log_ceu(
    request: Request, now: Now, settings: SettingsDep, user: CurrentUser, session: SessionDep,
    track: FormStr = "", provider: FormStr = "", activity_date: FormStr = "", units: FormStr = "",
    category: FormStr = "", note: FormStr = "",
):  # fmt: skip
    form = {
        "track": track,
        "provider": provider,
        "activity_date": activity_date,
        "units": units,
        "category": category,
        "note": note.replace("\r\n", "\n"),
    }
    data, errors = validate_form(schemas.CeuCreate, form)
    if data is None:
        return _my_page(request, now, settings, session, user, errors, form, 422)
    cert, renewed = renewal.log_activity(
        session=session, settings=settings, user=user, data=data, now=now
    )
    if renewed:
        flash(request, f"Renewed: your new certificate is {cert.number}.", "success")
    else:
        flash(request, f"Logged {data.units:g} units towards renewing {cert.number}.", "success")
    return redirect("/certificates")


@api.get("/certificates", response_model=list[schemas.CertificateView])
def api_my_certificates(now: Now, settings: SettingsDep, user: CurrentUser, session: SessionDep):
    """The signed-in user's certificates with renewal progress."""
    return renewal.my_certificates(session, settings, user, now=now)


# ---- the administrator -----------------------------------------------------------------------


@admin_web.get("")
def admin_list(
    request: Request,
    now: Now,
    session: SessionDep,
    status: Annotated[str, Query(max_length=12)] = "",
):
    rows = queries.admin_rows(session, now=now, status=status)
    return render(request, "credentials/admin.html", {"rows": rows, "status": status})


@admin_web.post("/{certificate_id}/issue")
def admin_issue(
    request: Request, now: Now, settings: SettingsDep, certificate_id: Id, admin: AdminUser,
    session: SessionDep,
):  # fmt: skip
    cert = service.approve_certificate(
        session=session,
        settings=settings,
        certificate_id=certificate_id,
        admin=admin,
        now=now,
    )
    flash(request, f"Certificate {cert.number} issued.", "success")
    return redirect("/admin/certificates")


def _change(request, session, now, number: str, action: str, form: dict, errors=None, status=200):
    """The confirmation page of a revocation or reinstatement (or its form again, with the
    mistakes beside the fields)."""
    row = queries.admin_row(session, number, now=now)
    context = {"r": row, "action": action, "form": form, "errors": errors or {}}
    return render(request, "credentials/admin_change.html", context, status)


@admin_web.post("/{number}/revoke")
def admin_revoke(
    request: Request, now: Now, settings: SettingsDep, number: Number, admin: AdminUser,
    session: SessionDep, reason: FormStr = "", note: FormStr = "", confirm: FormStr = "",
):  # fmt: skip
    """Revoke after confirmation: the first post shows what will be published, the next does it."""
    form = {"reason": reason, "note": note}
    data, errors = validate_form(schemas.RevokeForm, form)
    if data is None or confirm != "yes":
        status = 422 if errors else 200
        return _change(request, session, now, number, "revoke", form, errors, status)
    cert = revocation.revoke_certificate(
        session=session,
        settings=settings,
        number=number,
        admin=admin,
        reason=data.reason,
        note=data.note,
        now=now,
    )
    flash(request, f"Certificate {cert.number} revoked.", "success")
    return redirect("/admin/certificates")


@admin_web.post("/{number}/reinstate")
def admin_reinstate(
    request: Request, now: Now, settings: SettingsDep, number: Number, admin: AdminUser,
    session: SessionDep, reason: FormStr = "", confirm: FormStr = "",
):  # fmt: skip
    """Reinstate after confirmation, with a reason."""
    form = {"reason": reason}
    data, errors = validate_form(schemas.ReinstateForm, form)
    if data is None or confirm != "yes":
        status = 422 if errors else 200
        return _change(request, session, now, number, "reinstate", form, errors, status)
    cert = revocation.reinstate_certificate(
        session=session, settings=settings, number=number, admin=admin, reason=data.reason, now=now
    )
    flash(request, f"Certificate {cert.number} reinstated.", "success")
    return redirect("/admin/certificates")


admin_api = APIRouter(
    prefix="/api/v1/admin/certificates",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)
StatusFilter = Annotated[
    str, Query(max_length=12, pattern="^(|pending|active|revoked|superseded)$")
]


@admin_api.get("", response_model=list[schemas.AdminCertificateRow])
def api_admin_list(now: Now, session: SessionDep, status: StatusFilter = ""):
    """Certificates, newest first, optionally by status (pending passes await approval)."""
    return queries.admin_rows(session, now=now, status=status)


@admin_api.post("/{certificate_id}/issue", response_model=schemas.Verification)
def api_admin_issue(
    now: Now, settings: SettingsDep, certificate_id: Id, admin: AdminUser, session: SessionDep,
):  # fmt: skip
    """Issue the certificate of an approved pass."""
    cert = service.approve_certificate(
        session=session,
        settings=settings,
        certificate_id=certificate_id,
        admin=admin,
        now=now,
    )
    return queries.verification(session, settings, cert.number, now=now)


@admin_api.post("/{number}/revoke", response_model=schemas.Verification)
def api_admin_revoke(
    now: Now, settings: SettingsDep, number: Number, body: schemas.RevokeForm, admin: AdminUser,
    session: SessionDep,
):  # fmt: skip
    """Revoke a certificate; the public reason is shown on its verification page, the note
    only to administrators."""
    cert = revocation.revoke_certificate(
        session=session,
        settings=settings,
        number=number,
        admin=admin,
        reason=body.reason,
        note=body.note,
        now=now,
    )
    return queries.verification(session, settings, cert.number, now=now)


@admin_api.post("/{number}/reinstate", response_model=schemas.Verification)
def api_admin_reinstate(
    now: Now, settings: SettingsDep, number: Number, body: schemas.ReinstateForm,
    admin: AdminUser, session: SessionDep,
):  # fmt: skip
    """Undo a revocation, with the reason (mailed to the holder)."""
    cert = revocation.reinstate_certificate(
        session=session,
        settings=settings,
        number=number,
        admin=admin,
        reason=body.reason,
        now=now,
    )
    return queries.verification(session, settings, cert.number, now=now)
