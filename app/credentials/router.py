"""Certificates: public verification, credentials, status list, DID document, PDF; the
certificant's page; the administrator's issue, revoke and reinstate (pages and API)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from app.accounts.deps import AdminUser, CurrentUser, api_csrf_protect, csrf_protect, require_admin
from app.core.db import SessionDep
from app.credentials import did, queries, renewal, schemas, service
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
Number = Annotated[str, Path(min_length=1, max_length=60, description="A certificate number.")]
PUBLIC_CACHE = "public, max-age=300"
LD_JSON = "application/ld+json"


def _now(request: Request):
    return request.app.state.clock()


def _settings(request: Request):
    return request.app.state.settings


def _json(document: dict, media_type: str = "application/json", cache: str = PUBLIC_CACHE):
    return JSONResponse(document, media_type=media_type, headers={"Cache-Control": cache})


# ---- public ----------------------------------------------------------------------------------


@web.get("/verify/{number}.json")
def verify_json(request: Request, number: Number, session: SessionDep):
    result = queries.verification(session, _settings(request), number, now=_now(request))
    return _json(result.model_dump(mode="json"), cache="no-cache")


@web.get("/verify/{number}")
def verify_page(request: Request, number: Number, session: SessionDep):
    result = queries.verification(session, _settings(request), number, now=_now(request))
    return render(request, "credentials/verify.html", {"v": result})


@web.get("/verify")
def verify_lookup(request: Request, number: Annotated[str, Query(max_length=40)] = ""):
    if number.strip():
        return redirect(f"/verify/{service.normalise_number(number)}", 303)
    return render(request, "credentials/lookup.html")


@web.get("/credentials/status/{list_id}")
def status_list(request: Request, list_id: Id, session: SessionDep):
    return _json(service.status_list_credential(session, _settings(request), list_id), LD_JSON)


@web.get("/credentials/{number}.json")
def credential(number: Number, session: SessionDep):
    return _json(queries.signed_credential(session, number), LD_JSON, cache="no-cache")


@web.get("/.well-known/did.json")
def did_document(request: Request):
    return _json(did.did_document(_settings(request)), "application/did+json")


@web.get("/certificates/{number}.pdf")
def certificate_pdf(request: Request, number: Number, session: SessionDep):
    body = queries.certificate_pdf(session, _settings(request), number, now=_now(request))
    filename = f"{service.normalise_number(number)}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@api.get("/verify/{number}", response_model=schemas.Verification)
def api_verify(request: Request, number: Number, session: SessionDep):
    """Verify a certificate by number (no account needed)."""
    return queries.verification(session, _settings(request), number, now=_now(request))


# ---- the certificant -------------------------------------------------------------------------


def _my_page(request, session, user, errors=None, form=None, status=200):
    views = renewal.my_certificates(session, _settings(request), user, now=_now(request))
    context = {
        "certificates": views,
        "errors": errors or {},
        "form": form or {},
        "categories": [c.value for c in schemas.CeuCategory],
    }
    return render(request, "credentials/mine.html", context, status)


@web.get("/certificates")
def my_certificates(request: Request, user: CurrentUser, session: SessionDep):
    return _my_page(request, session, user)


@web.post("/certificates/ceu")
def log_ceu(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    track: FormStr = "",
    provider: FormStr = "",
    activity_date: FormStr = "",
    units: FormStr = "",
    category: FormStr = "",
    note: FormStr = "",
):
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
        return _my_page(request, session, user, errors, form, 422)
    cert, renewed = renewal.log_activity(
        session=session, settings=_settings(request), user=user, data=data, now=_now(request)
    )
    if renewed:
        flash(request, f"Renewed: your new certificate is {cert.number}.", "success")
    else:
        flash(request, f"Logged {data.units:g} units towards renewing {cert.number}.", "success")
    return redirect("/certificates")


@api.get("/certificates", response_model=list[schemas.CertificateView])
def api_my_certificates(request: Request, user: CurrentUser, session: SessionDep):
    """The signed-in user's certificates with renewal progress."""
    return renewal.my_certificates(session, _settings(request), user, now=_now(request))


# ---- the administrator -----------------------------------------------------------------------


@admin_web.get("")
def admin_list(
    request: Request, session: SessionDep, status: Annotated[str, Query(max_length=12)] = ""
):
    rows = queries.admin_rows(session, now=_now(request), status=status)
    return render(request, "credentials/admin.html", {"rows": rows, "status": status})


@admin_web.post("/{certificate_id}/issue")
def admin_issue(request: Request, certificate_id: Id, admin: AdminUser, session: SessionDep):
    cert = service.approve_certificate(
        session=session,
        settings=_settings(request),
        certificate_id=certificate_id,
        admin=admin,
        now=_now(request),
    )
    flash(request, f"Certificate {cert.number} issued.", "success")
    return redirect("/admin/certificates")


@admin_web.post("/{number}/revoke")
def admin_revoke(
    request: Request, number: Number, admin: AdminUser, session: SessionDep, reason: FormStr = ""
):
    data, errors = validate_form(schemas.RevokeForm, {"reason": reason})
    if data is None:
        flash(request, f"Revocation needs a reason: {errors['reason']}", "error")
        return redirect("/admin/certificates")
    cert = service.revoke_certificate(
        session=session,
        settings=_settings(request),
        number=number,
        admin=admin,
        reason=data.reason,
        now=_now(request),
    )
    flash(request, f"Certificate {cert.number} revoked.", "success")
    return redirect("/admin/certificates")


@admin_web.post("/{number}/reinstate")
def admin_reinstate(request: Request, number: Number, admin: AdminUser, session: SessionDep):
    cert = service.reinstate_certificate(
        session=session, settings=_settings(request), number=number, admin=admin, now=_now(request)
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
def api_admin_list(request: Request, session: SessionDep, status: StatusFilter = ""):
    """Certificates, newest first, optionally by status (pending passes await approval)."""
    return queries.admin_rows(session, now=_now(request), status=status)


@admin_api.post("/{certificate_id}/issue", response_model=schemas.Verification)
def api_admin_issue(request: Request, certificate_id: Id, admin: AdminUser, session: SessionDep):
    """Issue the certificate of an approved pass."""
    cert = service.approve_certificate(
        session=session,
        settings=_settings(request),
        certificate_id=certificate_id,
        admin=admin,
        now=_now(request),
    )
    return queries.verification(session, _settings(request), cert.number, now=_now(request))


@admin_api.post("/{number}/revoke", response_model=schemas.Verification)
def api_admin_revoke(
    request: Request,
    number: Number,
    body: schemas.RevokeForm,
    admin: AdminUser,
    session: SessionDep,
):
    """Revoke a certificate; the reason is shown on its verification page."""
    cert = service.revoke_certificate(
        session=session,
        settings=_settings(request),
        number=number,
        admin=admin,
        reason=body.reason,
        now=_now(request),
    )
    return queries.verification(session, _settings(request), cert.number, now=_now(request))


@admin_api.post("/{number}/reinstate", response_model=schemas.Verification)
def api_admin_reinstate(request: Request, number: Number, admin: AdminUser, session: SessionDep):
    """Undo a revocation."""
    cert = service.reinstate_certificate(
        session=session, settings=_settings(request), number=number, admin=admin, now=_now(request)
    )
    return queries.verification(session, _settings(request), cert.number, now=_now(request))
