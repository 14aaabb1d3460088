"""Signed webhooks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature,
HMAC-SHA256 with a `whsec_` secret), delivered by the background jobs of app.core.jobs.

    webhooks.emit(session, "certificate.issued", {...}, at=now, key="certificate:WMI-...")
    commit(session)           # the event exists if and only if what it reports was committed

`emit` adds one job (`webhooks.event`, one INSERT, so it also works in the exam lane) in the
caller's transaction. That job fans out: one `webhooks.deliver` job per active endpoint that
takes the event's type, each retried with backoff and jitter and dead after
`WMI_WEBHOOK_MAX_TRIES` tries; an administrator redelivers from /admin/webhooks. A delivery
never runs on a candidate's request: a receiver that is down, slow or failing delays only its
own job. Private and loopback addresses are refused, at registration and again before every
delivery, unless `WMI_WEBHOOK_ALLOW_PRIVATE` is set. Secrets are stored sealed with the
key-encryption key (app/core/sealing.py) and shown in clear once, when made.
"""

import base64
import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook

from app.core import audit, db, jobs, sealing
from app.core.clock import as_utc, to_db, utcnow
from app.core.config import Settings
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.models import Job, WebhookEndpoint

EVENT, DELIVER = "webhooks.event", "webhooks.deliver"
EVENT_TYPES = (
    "exam.completed",
    "certificate.issued",
    "certificate.revoked",
    "certificate.reinstated",
    "certificate.renewed",
    "appeal.decided",
)
ROTATION_OVERLAP = timedelta(hours=24)  # the previous secret still signs this long
USER_AGENT = "WMI-Certify-Webhooks/1"
PURPOSE = "webhook_endpoint:secret"  # what a sealed secret opens for (sealing's associated data)


# ---- events ----------------------------------------------------------------------------------


def emit(
    session: Session, event_type: str, data: dict[str, Any], *, at: datetime, key: str | None = None
) -> None:
    """Record an event in the caller's transaction (no commit); key: at most one such event."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    payload = {
        "id": "msg_" + secrets.token_hex(12),
        "type": event_type,
        "timestamp": as_utc(at).isoformat(),
        "data": data,
    }
    jobs.enqueue(session, EVENT, payload, at=at, key=f"webhook:{key}" if key else None)


def body_of(event: dict[str, Any]) -> str:
    """The request body of an event: {"type", "timestamp", "data"} as compact JSON."""
    content = {"type": event["type"], "timestamp": event["timestamp"], "data": event["data"]}
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False)


@jobs.handler(EVENT, max_tries=10, lease_seconds=60, backoff_seconds=10)
def fan_out(ctx: jobs.Context) -> dict[str, Any]:
    """One delivery job per active endpoint subscribed to the event (idempotent: job keys)."""
    event = ctx.payload
    endpoints = ctx.session.exec(
        select(WebhookEndpoint).where(WebhookEndpoint.active == True)  # noqa: E712
    ).all()
    added = 0
    for endpoint in endpoints:
        if endpoint.events and event["type"] not in endpoint.events:
            continue
        added += jobs.enqueue(
            ctx.session,
            DELIVER,
            {"endpoint_id": endpoint.id, "event": event},
            at=ctx.now(),
            key=f"webhook-delivery:{event['id']}:{endpoint.id}",
            max_tries=ctx.settings.webhook_max_tries,
        )
    return {"deliveries": added}


# ---- delivery --------------------------------------------------------------------------------


def _open(ring: sealing.Keyring, endpoint: WebhookEndpoint, sealed: str) -> str:
    what = f"The secret of webhook endpoint {endpoint.id}"
    return ring.open(sealed, purpose=PURPOSE, what=what).decode()


def signature_header(
    endpoint: WebhookEndpoint, msg_id: str, sent: datetime, body: str, *, now: datetime,
    settings: Settings,
) -> str:  # fmt: skip
    """`v1,<base64>` per secret in force: the current one, and the previous during rotation."""
    ring = sealing.keyring(settings)
    sealed = [endpoint.sealed_secret]
    overlap = endpoint.previous_until and as_utc(endpoint.previous_until) > as_utc(now)
    if endpoint.sealed_previous_secret and overlap:
        sealed.append(endpoint.sealed_previous_secret)
    keys = [_open(ring, endpoint, s) for s in sealed]
    return " ".join(Webhook(key).sign(msg_id, sent, body) for key in keys)


@jobs.handler(DELIVER, max_tries=8, lease_seconds=120, backoff_seconds=30)
def deliver(ctx: jobs.Context) -> dict[str, Any]:
    """POST the signed event to its endpoint; any answer but 2xx (or no answer) is a failure,
    retried with backoff until the job is dead."""
    endpoint = ctx.session.get(WebhookEndpoint, int(ctx.payload["endpoint_id"]))
    if endpoint is None or not endpoint.active:
        return {"skipped": "endpoint removed"}
    event = ctx.payload["event"]
    check_address(endpoint.url, allow_private=ctx.settings.webhook_allow_private)
    body = body_of(event)
    sent = utcnow()  # the receiver compares the timestamp with its own clock: wall time
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event["id"],
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": signature_header(
            endpoint, event["id"], sent, body, now=ctx.now(), settings=ctx.settings
        ),
    }
    try:
        response = httpx.post(
            endpoint.url,
            content=body.encode(),
            headers=headers,
            timeout=ctx.settings.webhook_timeout_seconds,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise RuntimeError(f"the receiver answered HTTP {response.status_code}")
    return {"status": response.status_code}


# ---- endpoints -------------------------------------------------------------------------------


def check_address(url: str, *, allow_private: bool) -> None:
    """Refuse what is not an http(s) URL, and hosts that resolve to a private, loopback,
    link-local or reserved address (unless allowed): the platform must not be made to call
    into its own network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The address must be an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise InvalidInput("The address must not carry a user name or password.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"The host {parts.hostname} cannot be resolved.") from None
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise InvalidInput(
                f"The host {parts.hostname} resolves to {address}, a private or loopback "
                "address; endpoints must be public (WMI_WEBHOOK_ALLOW_PRIVATE allows them)."
            )


def _events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"Unknown event type {', '.join(unknown)}; choose from {', '.join(EVENT_TYPES)}."
        )
    return sorted(set(events))


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Shown:
    """An endpoint with its new secret in clear: what the administrator sees, once."""

    endpoint: WebhookEndpoint
    secret: str


def _new_sealed_secret(settings: Settings) -> tuple[str, str]:
    secret = new_secret()
    return secret, sealing.keyring(settings).seal(secret.encode(), purpose=PURPOSE)


def create_endpoint(
    *, session: Session, settings: Settings, url: str, description: str, events: list[str],
    actor_id: int | None, now: datetime,
) -> Shown:  # fmt: skip
    """Register a receiver (checked address, known event types; none means all). Commits."""
    url = url.strip()
    if len(url) > 500:
        raise InvalidInput("The address is longer than 500 characters.")
    events = _events(events)
    check_address(url, allow_private=settings.webhook_allow_private)
    secret, sealed = _new_sealed_secret(settings)
    endpoint = WebhookEndpoint(
        url=url,
        description=description.strip()[:200],
        events=events,
        sealed_secret=sealed,
        created_at=to_db(now),
        created_by=actor_id,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        action="webhook.endpoint_created",
        at=now,
        actor_id=actor_id,
        subject=f"webhook:{endpoint.id}",
        data={"url": url, "events": endpoint.events},
    )
    db.commit(session)
    return Shown(endpoint, secret)


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"There is no webhook endpoint {endpoint_id}.")
    return endpoint


def rotate_secret(
    *, session: Session, settings: Settings, endpoint_id: int, actor_id: int | None,
    now: datetime,
) -> Shown:  # fmt: skip
    """A new secret; the old one keeps signing (beside it) for ROTATION_OVERLAP. Commits."""
    endpoint = get_endpoint(session, endpoint_id)
    secret, sealed = _new_sealed_secret(settings)
    endpoint.sealed_previous_secret, endpoint.sealed_secret = endpoint.sealed_secret, sealed
    endpoint.previous_until = to_db(now + ROTATION_OVERLAP)
    session.add(endpoint)
    audit.record(session, action="webhook.secret_rotated", at=now, actor_id=actor_id,
                 subject=f"webhook:{endpoint.id}")  # fmt: skip
    db.commit(session)
    return Shown(endpoint, secret)


def rewrap(session: Session, settings: Settings) -> int:
    """Seal every endpoint's secrets again with the current key-encryption key (helper: the
    caller commits); how many endpoints changed."""
    ring, changed = sealing.keyring(settings), 0

    def again(sealed: str | None, endpoint: WebhookEndpoint) -> str | None:
        if not sealed or ring.is_current(sealed):
            return sealed
        return ring.seal(_open(ring, endpoint, sealed).encode(), purpose=PURPOSE)

    for endpoint in endpoints(session):
        current = again(endpoint.sealed_secret, endpoint) or endpoint.sealed_secret
        previous = again(endpoint.sealed_previous_secret, endpoint)
        if (current, previous) != (endpoint.sealed_secret, endpoint.sealed_previous_secret):
            endpoint.sealed_secret, endpoint.sealed_previous_secret = current, previous
            session.add(endpoint)
            changed += 1
    return changed


def disable_endpoint(
    *, session: Session, endpoint_id: int, actor_id: int | None, now: datetime
) -> WebhookEndpoint:
    """Stop delivering to an endpoint (its queued deliveries end as skipped). Commits."""
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.active = False
    session.add(endpoint)
    audit.record(session, action="webhook.endpoint_disabled", at=now, actor_id=actor_id,
                 subject=f"webhook:{endpoint.id}")  # fmt: skip
    db.commit(session)
    return endpoint


def endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))))


def deliveries(session: Session, *, status: str = "", limit: int = 100) -> list[Job]:
    """The newest delivery jobs, optionally of one status (dead: the dead letter)."""
    query = select(Job).where(Job.kind == DELIVER).order_by(col(Job.id).desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    return list(session.exec(query))


def redeliver(*, session: Session, job_id: int, actor_id: int | None, now: datetime) -> Job:
    """Deliver an event to its endpoint again: a dead or cancelled delivery is queued with
    fresh tries, a delivered one gets a new job with the same webhook-id (receivers dedupe on
    it). Commits."""
    job = jobs.get(session, job_id)
    if job.kind != DELIVER:
        raise NotFound(f"There is no webhook delivery {job_id}.")
    if job.status in (jobs.QUEUED, jobs.RUNNING):
        raise Conflict(f"Delivery {job_id} is already queued; it will be tried again.")
    if job.status == jobs.DONE:
        jobs.enqueue(session, DELIVER, job.payload, at=now, max_tries=job.max_tries)
    else:
        jobs.retry(session, job_id, at=now)
    audit.record(session, action="webhook.redelivered", at=now, actor_id=actor_id,
                 subject=f"job:{job_id}")  # fmt: skip
    db.commit(session)
    return job
