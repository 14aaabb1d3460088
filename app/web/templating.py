"""The one Jinja2 environment, its filters, flash messages, CSRF tokens and form helpers."""

import secrets
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from pydantic import BaseModel, ValidationError

from app.core.clock import as_utc
from app.web.messages import plain

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime, zone_name: str) -> datetime:
    """A stored (UTC) time in the user's time zone."""
    return as_utc(value).astimezone(_zone(zone_name or "UTC"))


def _viewer_zone(context) -> str:
    """The signed-in user's time zone (profile setting), UTC for everyone else."""
    return getattr(context.get("current_user"), "time_zone", None) or "UTC"


@pass_context
def _when(context, value: datetime | None, fmt: str = "") -> str:
    """Date and time in the viewer's time zone, with the zone's abbreviation."""
    if not value:
        return ""
    local = local_time(value, _viewer_zone(context))
    return local.strftime(fmt) if fmt else f"{local:%d %b %Y %H:%M} {local.tzname()}"


@pass_context
def _date(context, value: datetime | None) -> str:
    """The date in the viewer's time zone."""
    return local_time(value, _viewer_zone(context)).strftime("%d %B %Y") if value else ""


templates.env.filters["when"] = _when
templates.env.filters["date"] = _date
templates.env.globals["site_name"] = "WMI Certify"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def flash(request: Request, message: str, category: str = "info") -> None:
    """A one-time message shown on the next page."""
    request.session.setdefault("flash", []).append([category, message])
    request.session["flash"] = request.session["flash"][-5:]


def _pop_flashes(request: Request) -> list:
    return request.session.pop("flash", []) if "session" in request.scope else []


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the signed-in user, flash messages and the CSRF token."""
    ctx = dict(context or {})
    ctx.setdefault("current_user", getattr(request.state, "user", None))
    ctx["flashes"] = _pop_flashes(request)
    ctx["csrf"] = csrf_token(request) if "session" in request.scope else ""
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def schema_response(model: BaseModel, status_code: int = 200) -> Response:
    """A schema already built (and so validated) in the route's thread, as a JSON response.

    FastAPI re-validates a sync route's return value against its response_model in a further
    thread-pool hand-off; the exam loop's routes return this instead (their response_model
    still documents them). Used where one request per question makes the hop count.
    """
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    """A redirect after a form post (303, so the browser follows with GET)."""
    return RedirectResponse(url, status_code=status_code)


def validate_form(model: type[BaseModel], data: dict) -> tuple[BaseModel | None, dict[str, str]]:
    """Validate form fields; on failure return field -> message for the page to show."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "form"
            errors.setdefault(field, plain(err))
        return None, errors


def safe_next(url: str | None, default: str = "/") -> str:
    """Only local paths are followed after sign-in."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default
