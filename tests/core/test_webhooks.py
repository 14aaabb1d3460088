"""Signed webhooks against a real HTTP receiver, verified with the standardwebhooks reference
library: events recorded in the transaction of what they report, delivered by the job runner,
retried, dead-lettered, redelivered; endpoints on private addresses refused."""

import json

import pytest
from sqlmodel import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app import wiring
from app.core import jobs, sealing, webhooks
from app.core.models import Job
from app.credentials import revocation
from app.main import create_app
from tests.factories.accounts import csrf_from, make_token, make_user, sign_in
from tests.factories.credentials import pass_exam
from tests.factories.exams import make_admin, run_to_end, start
from tests.factories.webhooks import Receiver, free_port


@pytest.fixture
def receivers():
    opened = []

    def open_receiver(**kwargs) -> Receiver:
        opened.append(Receiver(**kwargs))
        return opened[-1]

    yield open_receiver
    for receiver in opened:
        receiver.close()


@pytest.fixture
def hook_app(settings, clock):
    """The application with private receivers allowed (the receivers listen on 127.0.0.1)."""
    allowed = settings.model_copy(
        update={"webhook_allow_private": True, "webhook_max_tries": 3, "webhook_timeout_seconds": 2}
    )
    application = create_app(allowed, clock=clock)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def hook_client(hook_app):
    from fastapi.testclient import TestClient

    with TestClient(hook_app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def db(hook_app):
    from sqlmodel import Session

    with Session(hook_app.state.engine, expire_on_commit=False) as s:
        yield s


def register(client, token: str, url: str, events=()) -> dict:
    response = client.post(
        "/api/v1/admin/webhooks",
        json={"url": url, "events": list(events)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def drain(app) -> None:
    app.state.jobs.drain()  # fan-out, then the deliveries it adds
    app.state.jobs.drain()


def delivery_jobs(session) -> list[Job]:
    session.expire_all()
    return list(session.exec(select(Job).where(Job.kind == webhooks.DELIVER).order_by(Job.id)))


def test_certificate_events_are_signed_and_verify_with_the_reference_library(
    hook_app, hook_client, db, clock, receivers
):
    receiver = receivers()
    admin = make_admin(db)
    endpoint = register(hook_client, make_token(db, admin), receiver.url)
    assert endpoint["secret"].startswith("whsec_")
    user = make_user(db)
    cert = pass_exam(db, hook_app.state.settings, user, now=clock())
    assert receiver.requests == []  # recorded, not delivered, by the issuing transaction
    drain(hook_app)
    done = {"session": db, "settings": hook_app.state.settings, "number": cert.number}
    revocation.revoke_certificate(**done, admin=admin, reason="Fraud", now=clock())
    revocation.reinstate_certificate(**done, admin=admin, reason="revoked in error", now=clock())
    drain(hook_app)
    events = receiver.verified(endpoint["secret"])
    assert [e["type"] for e in events] == [
        "certificate.issued",
        "certificate.revoked",
        "certificate.reinstated",
    ]
    assert events[0]["data"]["number"] == cert.number
    assert events[0]["data"]["holder"] == {"id": user.id, "name": user.name}
    assert events[1]["data"]["reason"] == "Fraud"
    headers, body = receiver.requests[0]
    with pytest.raises(WebhookVerificationError):  # a changed body no longer verifies
        Webhook(endpoint["secret"]).verify(body.replace(b"issued", b"revoked"), headers)
    with pytest.raises(WebhookVerificationError):  # nor another endpoint's secret
        Webhook(webhooks.new_secret()).verify(body, headers)
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 3


def test_an_event_exists_only_if_what_it_reports_was_committed(hook_app, db, clock):
    webhooks.emit(db, "certificate.revoked", {"number": "X"}, at=clock())
    db.rollback()
    assert db.exec(select(Job).where(Job.kind == webhooks.EVENT)).all() == []


def test_a_completed_exam_is_reported_and_endpoints_get_only_their_event_types(
    hook_app, hook_client, db, clock, receivers
):
    everything, exams_only = receivers(), receivers()
    admin = make_admin(db)
    token = make_token(db, admin)
    all_events = register(hook_client, token, everything.url)
    only = register(hook_client, token, exams_only.url, events=["exam.completed"])
    user = make_user(db)
    attempt = start(db, user, clock)
    run_to_end(db, user, clock, attempt.id, p_correct=0.95)
    drain(hook_app)
    completed = [e for e in everything.verified(all_events["secret"])
                 if e["type"] == "exam.completed"]  # fmt: skip
    assert len(completed) == 1
    assert completed[0]["data"]["attempt_id"] == attempt.id
    assert completed[0]["data"]["candidate"] == {"id": user.id}
    assert [e["type"] for e in exams_only.verified(only["secret"])] == ["exam.completed"]


def test_a_receiver_failing_forever_ends_dead_without_blocking_others_and_is_redelivered(
    hook_app, hook_client, db, clock, receivers
):
    failing, healthy = receivers(mode="fail"), receivers()
    admin = make_admin(db)
    token = make_token(db, admin)
    bad = register(hook_client, token, failing.url)
    register(hook_client, token, healthy.url)
    user = make_user(db)
    pass_exam(db, hook_app.state.settings, user, now=clock())
    drain(hook_app)
    assert healthy.types() == ["certificate.issued"]  # at once, beside the failure
    second = make_user(db)
    pass_exam(db, hook_app.state.settings, second, now=clock())
    drain(hook_app)
    assert healthy.types() == ["certificate.issued"] * 2  # the failing one blocks nothing
    for _ in range(6):  # past every backoff (30 s x 2^n, capped) several times
        clock.advance(hours=2)
        drain(hook_app)
    dead = [j for j in delivery_jobs(db) if j.payload["endpoint_id"] == bad["id"]]
    assert [j.status for j in dead] == ["dead", "dead"]
    assert all(j.tries == 3 and "HTTP 500" in j.last_error for j in dead)
    assert len(failing.requests) == 6  # 3 tries per event, then no more
    page = hook_client.get("/admin/webhooks")  # not signed in
    assert page.status_code in (303, 401, 403)
    sign_in(hook_client, admin)
    page = hook_client.get("/admin/webhooks")
    assert page.status_code == 200 and "dead" in page.text and "HTTP 500" in page.text
    failing.mode = "ok"
    response = hook_client.post(
        f"/admin/webhooks/deliveries/{dead[0].id}/redeliver",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303
    again = hook_client.post(
        f"/admin/webhooks/deliveries/{dead[0].id}/redeliver",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert again.status_code == 409 and "already queued" in again.text
    drain(hook_app)
    assert [j.status for j in delivery_jobs(db) if j.id == dead[0].id] == ["done"]
    assert len(failing.verified(bad["secret"])) == 7


def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_up(
    hook_app, hook_client, db, clock, receivers
):
    port = free_port()
    admin = make_admin(db)
    endpoint = register(hook_client, make_token(db, admin), f"http://127.0.0.1:{port}/hooks")
    pass_exam(db, hook_app.state.settings, make_user(db), now=clock())
    drain(hook_app)
    [job] = delivery_jobs(db)
    assert job.status == jobs.QUEUED and job.tries == 1 and "Connect" in job.last_error
    receiver = receivers(port=port)
    clock.advance(minutes=2)  # past the first backoff (30 s at most)
    drain(hook_app)
    assert [j.status for j in delivery_jobs(db)] == ["done"]
    assert [e["type"] for e in receiver.verified(endpoint["secret"])] == ["certificate.issued"]


def test_a_slow_receiver_times_out_and_the_retry_carries_the_same_webhook_id(
    hook_app, hook_client, db, clock, receivers
):
    receiver = receivers(mode="slow")  # holds each request until released (timeout: 2 s)
    admin = make_admin(db)
    endpoint = register(hook_client, make_token(db, admin), receiver.url)
    pass_exam(db, hook_app.state.settings, make_user(db), now=clock())
    drain(hook_app)
    [job] = delivery_jobs(db)
    assert job.status == jobs.QUEUED and "Timeout" in job.last_error
    receiver.mode = "ok"
    receiver.release.set()
    clock.advance(minutes=2)
    drain(hook_app)
    assert [j.status for j in delivery_jobs(db)] == ["done"]
    events = receiver.verified(endpoint["secret"])
    assert len(events) == 2  # at least once: the receiver dedupes on webhook-id
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1


def test_a_rotated_secret_and_the_previous_one_both_verify_during_the_overlap(
    hook_app, hook_client, db, clock, receivers
):
    receiver = receivers()
    admin = make_admin(db)
    token = make_token(db, admin)
    old = register(hook_client, token, receiver.url)
    rotated = hook_client.post(
        f"/api/v1/admin/webhooks/{old['id']}/rotate", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert rotated["secret"] != old["secret"]
    pass_exam(db, hook_app.state.settings, make_user(db), now=clock())
    drain(hook_app)
    assert len(receiver.verified(rotated["secret"])) == 1
    assert len(receiver.verified(old["secret"])) == 1
    headers, _ = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:9/hooks", "private or loopback"),
        ("http://localhost/hooks", "private or loopback"),
        ("http://10.1.2.3/hooks", "private or loopback"),
        ("http://[::1]/hooks", "private or loopback"),
        ("http://169.254.169.254/latest", "private or loopback"),
        ("ftp://example.org/hooks", "http:// or https://"),
        ("https://user:pw@example.org/hooks", "user name or password"),
        ("https://no-such-host.invalid/hooks", "cannot be resolved"),
    ],
)
def test_endpoints_on_private_addresses_or_bad_urls_are_refused(client, session, url, says):
    token = make_token(session, make_admin(session))
    response = client.post(
        "/api/v1/admin/webhooks", json={"url": url}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert says in response.json()["error"]["message"]


def test_unknown_event_types_are_refused_and_the_form_keeps_what_was_typed(client, session):
    admin = make_admin(session)
    token = make_token(session, admin)
    response = client.post(
        "/api/v1/admin/webhooks",
        json={"url": "https://example.org/h", "events": ["exam.started"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422 and "exam.started" in response.json()["error"]["message"]
    sign_in(client, admin)
    page = client.get("/admin/webhooks")
    refused = client.post(
        "/admin/webhooks",
        data={
            "url": "http://127.0.0.1/h",
            "description": "CRM",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert refused.status_code == 422
    assert "private or loopback" in refused.text and 'value="CRM"' in refused.text


def test_a_delivery_to_an_address_that_became_private_is_refused(
    settings, clock, hook_app, hook_client, db, receivers
):
    receiver = receivers()
    register(hook_client, make_token(db, make_admin(db)), receiver.url)
    pass_exam(db, hook_app.state.settings, make_user(db), now=clock())
    strict = create_app(settings, clock=clock)  # the default: private receivers refused
    try:
        strict.state.jobs.drain()
        strict.state.jobs.drain()
    finally:
        strict.state.engine.dispose()
    [job] = delivery_jobs(db)
    assert job.status == jobs.QUEUED and "private or loopback" in job.last_error
    assert receiver.requests == []


def test_a_pass_records_the_event_without_delivering_it_on_the_request(
    hook_app, hook_client, db, clock, receivers
):
    receiver = receivers(mode="slow")
    register(hook_client, make_token(db, make_admin(db)), receiver.url)
    user = make_user(db)
    attempt = start(db, user, clock)
    run_to_end(db, user, clock, attempt.id, p_correct=0.95)
    hook_app.state.ports.on_exam_passed(db, attempt.id)  # what the candidate's request runs
    assert receiver.requests == []
    queued = db.exec(select(Job).where(Job.kind == webhooks.EVENT)).all()
    assert {j.payload["type"] for j in queued} >= {"exam.completed"}
    assert all(j.status == jobs.QUEUED for j in queued)
    assert json.dumps(queued[0].payload)  # a plain JSON record


def test_secrets_are_stored_sealed_and_a_new_kek_takes_over_after_rewrap(
    hook_app, hook_client, db, clock, receivers
):
    from sqlalchemy import text

    from app.core.models import AuditEntry, WebhookEndpoint
    from app.credentials import keystore

    receiver = receivers()
    token = make_token(db, make_admin(db))
    endpoint = register(hook_client, token, receiver.url)
    rotated = hook_client.post(
        f"/api/v1/admin/webhooks/{endpoint['id']}/rotate",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    stored = db.exec(text("SELECT * FROM webhook_endpoint")).all()
    audit = [e.data for e in db.exec(select(AuditEntry)).all()]
    page = hook_client.get("/api/v1/admin/webhooks", headers={"Authorization": f"Bearer {token}"})
    for secret in (endpoint["secret"], rotated["secret"]):
        raw = secret.removeprefix("whsec_")
        assert raw not in repr(stored) and raw not in repr(audit) and raw not in page.text
    row = db.get(WebhookEndpoint, endpoint["id"])
    assert row.sealed_secret.startswith("wmi-sealed:v1:")
    assert row.sealed_previous_secret.startswith("wmi-sealed:v1:")
    # the operator rotates the key-encryption key and re-wraps: deliveries still sign alike
    settings = hook_app.state.settings
    later = settings.model_copy(update={"key_encryption_key": sealing.new_kek()})
    assert keystore.rewrap(session=db, settings=later, now=clock()) == (1, 1)
    db.refresh(row)
    assert sealing.keyring(later).is_current(row.sealed_secret)
    hook_app.state.settings = later
    hook_app.state.jobs = wiring.job_runner(hook_app.state.engine, later, clock)
    pass_exam(db, later, make_user(db), now=clock())
    drain(hook_app)
    assert len(receiver.verified(rotated["secret"])) == 1
    assert len(receiver.verified(endpoint["secret"])) == 1  # the previous, in its overlap


def test_the_migration_seals_the_secrets_stored_in_clear_and_the_downgrade_opens_them(db, settings):
    from sqlalchemy import text

    from alembic import command
    from app.core.db import alembic_config, make_engine
    from app.core.models import WebhookEndpoint

    cfg = alembic_config(settings.database_url, settings)
    db.close()
    command.downgrade(cfg, "e5b7a3c9d1f2")
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO webhook_endpoint (id, url, description, events, secret, "
                "previous_secret, active, created_at) VALUES (7, 'https://hooks.example.org/', "
                "'', '[]', 'whsec_Y3VycmVudA==', NULL, :t, '2026-11-25 09:00:00')"
            ),
            {"t": True},
        )
    command.upgrade(cfg, "head")
    row = db.get(WebhookEndpoint, 7)
    assert row.sealed_secret.startswith("wmi-sealed:v1:") and "Y3VycmVudA" not in row.sealed_secret
    assert row.sealed_previous_secret is None
    assert webhooks._open(sealing.keyring(settings), row, row.sealed_secret) == "whsec_Y3VycmVudA=="
    db.close()
    command.downgrade(cfg, "e5b7a3c9d1f2")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT secret FROM webhook_endpoint")).all() == [
            ("whsec_Y3VycmVudA==",)
        ]
    engine.dispose()
    command.upgrade(cfg, "head")
