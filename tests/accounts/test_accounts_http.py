"""Accounts over HTTP: sign-up, sign-in, throttling, reset, profile, tokens, CSRF."""

import re

from sqlmodel import select

from app.accounts.models import User
from app.core.models import AuditEntry, OutboxMessage
from tests.factories.accounts import PASSWORD, csrf, csrf_from, make_token, make_user, sign_in


def test_sign_up_signs_in_and_is_audited(client, session):
    token = csrf_from(client.get("/signup").text)
    r = client.post(
        "/signup",
        data={
            "email": "Ada@Example.org",
            "name": "Ada Lovelace",
            "password": "a long password",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    user = session.exec(select(User).where(User.email == "ada@example.org")).one()
    assert user.password_hash.startswith("$argon2id$")
    actions = session.exec(select(AuditEntry.action)).all()
    assert "account.signup" in actions


def test_sign_up_rejects_bad_input_with_messages(client):
    token = csrf_from(client.get("/signup").text)
    r = client.post(
        "/signup",
        data={"email": "not-an-email", "name": "", "password": "short", "csrf_token": token},
    )
    assert r.status_code == 422
    assert "valid email" in r.text.lower()
    assert "at least 10 characters" in r.text


def test_duplicate_sign_up_is_a_conflict(client, session):
    user = make_user(session)
    token = csrf_from(client.get("/signup").text)
    r = client.post(
        "/signup",
        data={
            "email": user.email.upper(),
            "name": "X",
            "password": "another password",
            "csrf_token": token,
        },
    )
    assert r.status_code == 409 and "already exists" in r.text


def test_sign_in_and_out(client, session):
    user = make_user(session)
    sign_in(client, user)
    assert client.get("/dashboard").status_code == 200
    r = client.post("/signout", data={"csrf_token": csrf(client)})
    assert r.status_code == 303
    r = client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")


def test_wrong_password_then_throttled_then_window_passes(client, session, clock):
    user = make_user(session)
    token = csrf_from(client.get("/signin").text)
    for _ in range(5):
        r = client.post(
            "/signin",
            data={"email": user.email, "password": "wrong password!", "csrf_token": token},
        )
        assert r.status_code == 422 and "not correct" in r.text
    r = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert int(r.headers["retry-after"]) > 0
    clock.advance(minutes=16)
    r = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303


def test_deactivated_user_cannot_sign_in(client, session):
    user = make_user(session, is_active=False)
    token = csrf_from(client.get("/signin").text)
    r = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 403 and "deactivated" in r.text


def test_password_reset_by_mailed_token(client, session, clock):
    user = make_user(session)
    token = csrf_from(client.get("/password/forgot").text)
    r = client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    assert r.status_code == 200 and "If an account exists" in r.text
    message = session.exec(
        select(OutboxMessage).where(OutboxMessage.to_address == user.email)
    ).one()
    assert message.status == "logged"
    reset_token = re.search(r"token=([\w\-]+)", message.body).group(1)
    r = client.post(
        "/password/reset",
        data={"token": reset_token, "password": "brand new secret", "csrf_token": token},
    )
    assert r.status_code == 303
    r = client.post(
        "/password/reset",
        data={"token": reset_token, "password": "another secret!", "csrf_token": csrf(client)},
    )
    assert r.status_code == 422 and "invalid or has expired" in r.text
    sign_in(client, user, "brand new secret")


def test_reset_token_expires(client, session, clock):
    user = make_user(session)
    token = csrf_from(client.get("/password/forgot").text)
    client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    body = session.exec(select(OutboxMessage.body)).one()
    clock.advance(hours=2)
    r = client.post(
        "/password/reset",
        data={
            "token": re.search(r"token=([\w\-]+)", body)[1],
            "password": "brand new secret",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422


def test_unknown_address_gets_the_same_answer_and_no_mail(client, session):
    token = csrf_from(client.get("/password/forgot").text)
    r = client.post("/password/forgot", data={"email": "nobody@example.org", "csrf_token": token})
    assert r.status_code == 200 and "If an account exists" in r.text
    assert session.exec(select(OutboxMessage)).all() == []


def test_password_change_signs_out_other_sessions(app, client, session):
    from fastapi.testclient import TestClient

    user = make_user(session)
    sign_in(client, user)
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, user)
        r = client.post(
            "/profile/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a newer password",
                "csrf_token": csrf(client),
            },
        )
        assert r.status_code == 303
        assert client.get("/profile").status_code == 200
        assert other.get("/profile").status_code == 303


def test_missing_or_wrong_csrf_is_refused(client, session):
    user = make_user(session)
    sign_in(client, user)
    r = client.post("/profile", data={"name": "New Name"})
    assert r.status_code == 403 and "Reload the page" in r.text
    r = client.post("/profile", data={"name": "New Name", "csrf_token": "forged"})
    assert r.status_code == 403
    r = client.post("/profile", data={"name": "New Name", "csrf_token": csrf(client)})
    assert r.status_code == 303


def test_expired_or_forged_session_cookie_is_anonymous(client, session):
    user = make_user(session)
    sign_in(client, user)
    client.cookies.set("wmi_session", "garbage.value.here")
    r = client.get("/profile")
    assert r.status_code == 303 and "/signin" in r.headers["location"]
    r = client.post("/profile", data={"name": "x", "csrf_token": "old"})
    assert r.status_code == 403 and "expired" in r.text


def test_profile_update_refuses_control_characters(client, session):
    user = make_user(session)
    sign_in(client, user)
    r = client.post("/profile", data={"name": "Bad\x07Name", "csrf_token": csrf(client)})
    assert r.status_code == 422 and "control characters" in r.text
    r = client.post("/profile", data={"name": "Zoë O'Brien-Łukasz", "csrf_token": csrf(client)})
    assert r.status_code == 303
    session.refresh(user)
    assert user.name == "Zoë O'Brien-Łukasz"


def test_api_tokens_create_use_revoke(client, session):
    user = make_user(session)
    secret = make_token(session, user)
    auth = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/v1/me", headers=auth)
    assert me.status_code == 200 and me.json()["email"] == user.email
    r = client.post("/api/v1/tokens", json={"name": "script"}, headers=auth)
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("wmi_") and new["prefix"] == new["token"][:10]
    listed = client.get("/api/v1/tokens", headers=auth).json()
    assert all("token" not in t for t in listed) and len(listed) == 2
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=auth).status_code == 200
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {new['token']}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    actions = session.exec(select(AuditEntry.action)).all()
    assert "token.create" in actions


def test_token_page_shows_secret_once(client, session):
    user = make_user(session)
    sign_in(client, user)
    r = client.post("/profile/tokens", data={"name": "laptop", "csrf_token": csrf(client)})
    assert r.status_code == 303
    page = client.get("/profile").text
    secret = re.search(r'data-testid="new-token">([^<]+)<', page).group(1)
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    assert secret not in client.get("/profile").text


def test_api_cookie_auth_needs_csrf_header(client, session):
    user = make_user(session)
    sign_in(client, user)
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 403
    r = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 201


def test_one_user_cannot_revoke_anothers_token(client, session):
    alice, bob = make_user(session), make_user(session)
    bob_token = make_token(session, bob)
    alice_token = make_token(session, alice)
    bob_id = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {bob_token}"}).json()[
        0
    ]["id"]
    r = client.delete(
        f"/api/v1/tokens/{bob_id}", headers={"Authorization": f"Bearer {alice_token}"}
    )
    assert r.status_code == 404
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {bob_token}"}).status_code
        == 200
    )
