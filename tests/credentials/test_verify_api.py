"""POST /credentials/verify (W3C VC API shape): every check, each failure named, rate limit,
CORS. The credentials are real ones the platform issued and served."""

import copy

import pytest
from fastapi.testclient import TestClient

from app.credentials import did, revocation
from app.main import create_app
from tests.factories.accounts import make_user
from tests.factories.credentials import pass_exam
from tests.factories.exams import make_admin


def issued(client, session, settings, clock) -> tuple[str, dict]:
    cert = pass_exam(session, settings, make_user(session), now=clock())
    document = client.get(f"/credentials/{cert.number}.json").json()
    return cert.number, document


def verify(client, credential):
    return client.post("/credentials/verify", json={"verifiableCredential": credential})


def failed(response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["verified"] is False
    return {e["check"]: e["message"] for e in body["errors"]}


def test_an_issued_credential_verifies_with_every_check_named(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    response = verify(client, document)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True
    assert body["checks"] == ["issuer", "key", "proof", "status", "validity"]
    assert body["errors"] == []
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_changed_credential_fails_the_proof_check_only(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    changed = copy.deepcopy(document)
    changed["credentialSubject"]["name"] = "Someone Else"
    assert set(failed(verify(client, changed))) == {"proof"}


def test_a_revoked_credential_fails_the_status_check(client, session, settings, clock):
    number, document = issued(client, session, settings, clock)
    admin = make_admin(session)
    revocation.revoke_certificate(
        session=session, settings=settings, number=number, admin=admin, reason="Fraud", now=clock()
    )
    errors = failed(verify(client, document))
    assert set(errors) == {"status"} and "revoked" in errors["status"]


def test_an_expired_credential_fails_the_validity_check(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    clock.advance(days=365 * 3 + 2)
    errors = failed(verify(client, document))
    assert set(errors) == {"validity"} and "expired" in errors["validity"]
    clock.advance(days=-(365 * 3 + 3))  # before validFrom
    assert "not valid before" in failed(verify(client, document))["validity"]


def test_a_credential_signed_before_a_key_rotation_still_verifies(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    did.rotate(session=session, settings=settings, actor_id=None, now=clock())
    assert (
        did.active_key(session, settings).verification_method
        != document["proof"]["verificationMethod"]
    )
    assert verify(client, document).status_code == 200


def test_an_unknown_key_or_issuer_is_named(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    foreign = copy.deepcopy(document)
    foreign["proof"]["verificationMethod"] = "did:web:elsewhere.example#z6MkFake"
    errors = failed(verify(client, foreign))
    assert "not one of this issuer's keys" in errors["key"] and "proof" in errors
    other = copy.deepcopy(document)
    other["issuer"] = {**other["issuer"], "id": "did:web:elsewhere.example"}
    assert "issuer" in failed(verify(client, other))


def test_a_status_list_elsewhere_is_refused(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    moved = copy.deepcopy(document)
    moved["credentialStatus"]["statusListCredential"] = "https://elsewhere.example/status/1"
    errors = failed(verify(client, moved))
    assert "not one this platform publishes" in errors["status"]


@pytest.mark.parametrize(
    "body",
    [{}, {"verifiableCredential": "a string"}, {"verifiableCredential": [1, 2]}, []],
)
def test_a_request_that_is_not_a_credential_gets_422(client, body):
    response = client.post("/credentials/verify", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert response.headers["access-control-allow-origin"] == "*"  # a page can read why


def test_a_credential_with_contexts_not_shipped_fails_cleanly(client, session, settings, clock):
    _, document = issued(client, session, settings, clock)
    odd = copy.deepcopy(document)
    odd["@context"] = [*odd["@context"], "https://evil.example/context.json"]
    assert "proof" in failed(verify(client, odd))


def test_verification_is_rate_limited_per_address(settings, clock):
    limited = create_app(settings.model_copy(update={"verify_rate_per_minute": 3}), clock=clock)
    try:
        with TestClient(limited) as client:
            answers = [verify(client, {"issuer": "x"}).status_code for _ in range(4)]
            assert answers == [400, 400, 400, 429]
            refused = verify(client, {})
            assert "try again in" in refused.json()["error"]["message"]
            assert refused.headers["access-control-allow-origin"] == "*"
            clock.advance(seconds=61)
            assert verify(client, {"issuer": "x"}).status_code == 400
    finally:
        limited.state.engine.dispose()


def test_the_preflight_allows_any_origin(client):
    response = client.options(
        "/credentials/verify",
        headers={"Origin": "https://employer.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_a_renewed_certificate_verifies_with_a_warning_naming_its_successor(
    client, session, settings, clock
):
    user = make_user(session)
    old = pass_exam(session, settings, user, now=clock())
    document = client.get(f"/credentials/{old.number}.json").json()
    assert verify(client, document).json()["warnings"] == []
    clock.advance(days=400)
    new = pass_exam(session, settings, user, now=clock())  # supersedes the one in force
    response = verify(client, document)
    assert response.status_code == 200
    [warning] = response.json()["warnings"]
    assert warning["check"] == "status" and new.number in warning["message"]
