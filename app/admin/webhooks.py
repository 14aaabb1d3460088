"""Administrator pages and API for webhook endpoints and their deliveries (app.core.webhooks)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field

from app.accounts.deps import AdminUser, api_csrf_protect, csrf_protect, require_admin
from app.core import db, webhooks
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.web.params import Id
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin/webhooks",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin/webhooks",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)
Status = Annotated[str, Query(pattern="^(|queued|running|done|dead|cancelled)$")]


class EndpointCreate(BaseModel):
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    events: list[str] = Field(default_factory=list, max_length=20)


class EndpointPublic(BaseModel):
    id: int
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: datetime
    previous_until: datetime | None = None


class EndpointWithSecret(EndpointPublic):
    secret: str

    @classmethod
    def of(cls, shown: webhooks.Shown) -> "EndpointWithSecret":
        """The endpoint and its new secret in clear (the database holds it sealed)."""
        public = EndpointPublic.model_validate(shown.endpoint.model_dump())
        return cls(**public.model_dump(), secret=shown.secret)


class DeliveryPublic(BaseModel):
    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    status: str
    tries: int
    max_tries: int
    last_error: str
    created_at: datetime
    finished_at: datetime | None = None


def _delivery(job) -> DeliveryPublic:
    event = job.payload.get("event", {})
    return DeliveryPublic(
        id=job.id,
        endpoint_id=job.payload.get("endpoint_id", 0),
        event_id=event.get("id", ""),
        event_type=event.get("type", ""),
        status=job.status,
        tries=job.tries,
        max_tries=job.max_tries,
        last_error=job.last_error,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def _page(request: Request, session, *, status_code=200, **context):
    return render(
        request,
        "admin/webhooks.html",
        {
            "endpoints": webhooks.endpoints(session),
            "deliveries": [_delivery(j) for j in webhooks.deliveries(session, limit=100)],
            "event_types": webhooks.EVENT_TYPES,
            **context,
        },
        status_code=status_code,
    )


@web.get("")
def page(request: Request, session: SessionDep):
    return _page(request, session)


@web.post("")
def create(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    now: Now,
    settings: SettingsDep,
    url: Annotated[str, Form(max_length=500)] = "",
    description: Annotated[str, Form(max_length=200)] = "",
    events: Annotated[list[str], Form(max_length=20)] = (),
):
    try:
        shown = webhooks.create_endpoint(
            session=session,
            settings=settings,
            url=url,
            description=description,
            events=list(events),
            actor_id=admin.id,
            now=now,
        )
    except AppError as exc:
        db.rollback(session)
        form = {"url": url, "description": description, "events": list(events)}
        return _page(request, session, status_code=exc.status_code, error=exc.message, form=form)
    return _page(request, session, created=shown)


@web.post("/{endpoint_id}/rotate")
def rotate(
    request: Request, endpoint_id: Id, admin: AdminUser, session: SessionDep, now: Now,
    settings: SettingsDep,
):  # fmt: skip
    shown = webhooks.rotate_secret(
        session=session, settings=settings, endpoint_id=endpoint_id, actor_id=admin.id, now=now
    )
    return _page(request, session, created=shown, rotated=True)


@web.post("/{endpoint_id}/disable")
def disable(request: Request, endpoint_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    endpoint = webhooks.disable_endpoint(
        session=session, endpoint_id=endpoint_id, actor_id=admin.id, now=now
    )
    flash(request, f"Deliveries to {endpoint.url} have stopped.", "success")
    return redirect("/admin/webhooks")


@web.post("/deliveries/{job_id}/redeliver")
def redeliver(request: Request, job_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    webhooks.redeliver(session=session, job_id=job_id, actor_id=admin.id, now=now)
    flash(request, f"Delivery {job_id} is queued again.", "success")
    return redirect("/admin/webhooks")


@api.get("", response_model=list[EndpointPublic])
def api_endpoints(session: SessionDep):
    """Registered webhook endpoints (secrets are shown only when created or rotated)."""
    return webhooks.endpoints(session)


@api.post("", response_model=EndpointWithSecret, status_code=201)
def api_create(
    data: EndpointCreate, admin: AdminUser, session: SessionDep, now: Now, settings: SettingsDep
):
    """Register an endpoint; the answer carries its signing secret (shown this once)."""
    shown = webhooks.create_endpoint(
        session=session,
        settings=settings,
        url=data.url,
        description=data.description,
        events=data.events,
        actor_id=admin.id,
        now=now,
    )
    return EndpointWithSecret.of(shown)


@api.post("/{endpoint_id}/rotate", response_model=EndpointWithSecret)
def api_rotate(
    endpoint_id: Id, admin: AdminUser, session: SessionDep, now: Now, settings: SettingsDep
):
    """A new secret; the previous one keeps signing beside it for 24 hours."""
    shown = webhooks.rotate_secret(
        session=session, settings=settings, endpoint_id=endpoint_id, actor_id=admin.id, now=now
    )
    return EndpointWithSecret.of(shown)


@api.delete("/{endpoint_id}", response_model=EndpointPublic)
def api_disable(endpoint_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    """Stop delivering to an endpoint."""
    return webhooks.disable_endpoint(
        session=session, endpoint_id=endpoint_id, actor_id=admin.id, now=now
    )


@api.get("/deliveries", response_model=list[DeliveryPublic])
def api_deliveries(session: SessionDep, status: Status = ""):
    """The newest deliveries (status=dead: the dead letter)."""
    return [_delivery(j) for j in webhooks.deliveries(session, status=status)]


@api.post("/deliveries/{job_id}/redeliver", response_model=DeliveryPublic)
def api_redeliver(job_id: Id, admin: AdminUser, session: SessionDep, now: Now):
    """Queue a delivery again (a delivered one under the same webhook-id)."""
    job = webhooks.redeliver(session=session, job_id=job_id, actor_id=admin.id, now=now)
    return _delivery(job)


routers = (web, api)
