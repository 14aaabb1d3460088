"""One handler for every error: a page for people, JSON for programs, never a stack trace."""

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import AppError, Unauthenticated
from app.web.messages import plain
from app.web.middleware import protective_headers
from app.web.templating import redirect, render

log = logging.getLogger("wmi.errors")

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Busy",
}
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
    429: "too_many_requests",
    500: "server_error",
    503: "busy",
}


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None
    retry_after: int | None = None


class ErrorBody(BaseModel):
    """Every API error has this shape."""

    error: ErrorInfo


API_ERRORS = {
    status: {"model": ErrorBody, "description": TITLES[status]}
    for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def wants_json(request: Request) -> bool:
    """JSON for the API, .json addresses, callers that send JSON or accept only JSON."""
    if request.url.path.startswith("/api/") or request.url.path.endswith(".json"):
        return True
    if request.headers.get("content-type", "").startswith("application/json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: Request,
    status: int,
    message: str,
    code: str | None = None,
    details: list | None = None,
    extra: dict | None = None,
):
    code = code or CODES.get(status, "error")
    if wants_json(request):
        body = {"error": {"code": code, "message": message, **(extra or {})}}
        if details:
            body["error"]["details"] = details
        return JSONResponse(body, status_code=status)
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Error"),
            "message": message,
            "details": details or [],
        },
        status,
    )


async def app_error(request: Request, exc: AppError):
    if isinstance(exc, Unauthenticated) and not wants_json(request) and request.method == "GET":
        return redirect(f"/signin?next={quote(request.url.path)}")
    response = error_response(request, exc.status_code, exc.message, exc.code, extra=exc.extra)
    if isinstance(exc, Unauthenticated) and wants_json(request):
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _identify(request: Request) -> None:
    """Put the signed-in user on the request when no route did (an unknown address), so the
    error page shows the menu they see everywhere else."""
    identify = getattr(request.app.state, "identify", None)
    if identify is None or hasattr(request.state, "user") or "session" not in request.scope:
        return
    try:
        await run_in_threadpool(identify, request)
    except Exception:  # the error page must render whatever happens here
        log.exception("could not identify the user for an error page")


async def http_error(request: Request, exc: StarletteHTTPException):
    messages = {
        404: "There is nothing at this address.",
        405: "This address does not accept that kind of request.",
    }
    message = (
        exc.detail
        if isinstance(exc.detail, str) and exc.status_code not in messages
        else messages.get(exc.status_code, str(exc.detail))
    )
    if not wants_json(request):
        await _identify(request)
    response = error_response(request, exc.status_code, message)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def validation_error(request: Request, exc: RequestValidationError):
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        details.append({"field": ".".join(loc) or "request", "message": plain(err)})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return error_response(request, 422, f"The request is not valid. {summary}", details=details)


async def data_error(request: Request, exc: DataError):
    log.info("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
    return error_response(
        request,
        422,
        "The request contains a value that cannot be stored "
        "(for example a NUL character or a number out of range). Nothing was saved.",
    )


async def busy(request: Request, exc: PoolTimeout):
    log.warning("database pool exhausted on %s %s", request.method, request.url.path)
    response = error_response(
        request, 503, "The service is busy. Nothing was changed; please try again in a few seconds."
    )
    response.headers["Retry-After"] = "5"
    return response


async def unavailable(request: Request, exc: OperationalError):
    """The database could not be reached or refused the work (too many clients, locked)."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
    response = error_response(
        request,
        503,
        "The service cannot reach its database just now; please try again in a few seconds. "
        "Sending the same answer again is safe: it is recorded once.",
    )
    response.headers["Retry-After"] = "5"
    return response


async def server_error(request: Request, exc: Exception):
    """The 500 page. Starlette renders it outside every middleware, so it adds the security
    headers (and no-store) itself."""
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = error_response(
        request,
        500,
        "An unexpected error occurred. It has been logged; "
        "nothing you submitted before this page was lost.",
    )
    hsts = bool(request.app.state.settings.cookie_secure)
    for name, value in protective_headers(request.url.path, hsts=hsts).items():
        response.headers.setdefault(name.decode(), value.decode())
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on an application."""
    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DataError, data_error)
    app.add_exception_handler(PoolTimeout, busy)
    app.add_exception_handler(OperationalError, unavailable)
    app.add_exception_handler(Exception, server_error)
