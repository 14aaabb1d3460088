"""Accounts over HTTP: sign-up (confirmed by mail), sign-in, throttling, reset, profile,
tokens, CSRF."""

from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.accounts.models import User
from app.core.models import AuditEntry, OutboxMessage
from tests.factories.accounts import (
    PASSWORD,
    ask_reset,
    ask_sign_up,
    confirm_sign_up,
    csrf,
    csrf_from,
    mailed_token,
    make_token,
    make_user,
    sign_in,
)


def test_sign_up_opens_the_account_once_its_mailed_link_is_confirmed(app, client, session, capsys):
    capsys.readouterr()
    r = ask_sign_up(client, app, "Ada@Example.org", "Ada Lovelace", "a long password")
    assert "ada@example.org" in r.text.lower() and client.get("/dashboard").status_code == 303
    user = session.exec(select(User).where(User.email == "ada@example.org")).one()
    assert user.password_hash.startswith("$argon2id$") and not user.confirmed
    message = session.exec(select(OutboxMessage)).one()
    assert message.subject == "Confirm your WMI Certify account" and "token=" not in message.body
    token = mailed_token(capsys, "/signup/confirm")
    with TestClient(app, follow_redirects=False) as other:  # no sign-in before the link
        form = csrf_from(other.get("/signin").text)
        early = other.post(
            "/signin",
            data={"email": user.email, "password": "a long password", "csrf_token": form},
        )
        assert early.status_code == 422 and "not correct" in early.text
    page = client.get(f"/signup/confirm?token={token}")  # a GET uses nothing (mail scanners)
    assert page.status_code == 200 and "Confirm my account" in page.text
    r = confirm_sign_up(client, token)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    actions = session.exec(select(AuditEntry.action)).all()
    assert "account.signup_requested" in actions and "account.signup" in actions
    with TestClient(app, follow_redirects=False) as again:
        assert confirm_sign_up(again, token).status_code == 422  # single use
        sign_in(again, user, "a long password")


def test_a_sign_up_link_expires(app, client, session, clock, capsys):
    capsys.readouterr()
    ask_sign_up(client, app, "late@example.org")
    clock.advance(hours=25)
    r = confirm_sign_up(client, mailed_token(capsys, "/signup/confirm"))
    assert r.status_code == 422 and "invalid or has expired" in r.text
    user = session.exec(select(User).where(User.email == "late@example.org")).one()
    assert not user.confirmed


def test_signing_up_again_before_confirming_replaces_name_and_password(
    app, client, session, capsys
):
    """Someone who signs up with another's address first cannot keep it: the owner's own
    sign-up replaces the name and password, and only the owner's mailbox gets the links."""
    capsys.readouterr()
    ask_sign_up(client, app, "owner@example.org", "Squatter", "squatter password")
    ask_sign_up(client, app, "owner@example.org", "Real Owner", "owner's password")
    assert confirm_sign_up(client, mailed_token(capsys, "/signup/confirm")).status_code == 303
    user = session.exec(select(User).where(User.email == "owner@example.org")).one()
    session.refresh(user)
    assert user.name == "Real Owner" and user.confirmed
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, user, "owner's password")


def test_sign_up_rejects_bad_input_with_messages(client):
    token = csrf_from(client.get("/signup").text)
    r = client.post(
        "/signup",
        data={"email": "not-an-email", "name": "", "password": "short", "csrf_token": token},
    )
    assert r.status_code == 422
    assert "Enter a valid email address, such as name@example.org." in r.text
    assert "This is required: fill it in." in r.text  # the empty name
    assert "Enter at least 10 characters." in r.text
    assert "should have" not in r.text and "String" not in r.text


def test_signing_up_with_a_taken_address_mails_its_owner_a_reset_link(app, client, session, capsys):
    user = make_user(session)
    capsys.readouterr()
    r = ask_sign_up(client, app, user.email.upper(), "X", "another password")
    assert "already exists" not in r.text and r.status_code == 200
    message = session.exec(select(OutboxMessage)).one()
    assert message.to_address == user.email
    assert message.subject == "Someone tried to sign up with your address"
    assert session.exec(select(func.count()).select_from(User)).one() == 1
    r = client.post(
        "/password/reset",
        data={
            "token": mailed_token(capsys),
            "password": "chosen anew!",
            "csrf_token": csrf(client),
        },
    )
    assert r.status_code == 303
    sign_in(client, user, "chosen anew!")


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
    assert "minute(s)" not in r.text  # the wording is issue 15's (tests/accounts/test_throttle.py)
    assert int(r.headers["retry-after"]) > 0
    clock.advance(minutes=16)
    r = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303


def test_deactivated_account_answers_as_a_wrong_password(client, session):
    """F-09: the right password of a deactivated account confirms nothing to whoever holds it."""
    user = make_user(session, is_active=False)
    token = csrf_from(client.get("/signin").text)
    right = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    wrong = client.post(
        "/signin", data={"email": user.email, "password": "not it at all", "csrf_token": token}
    )
    assert right.status_code == wrong.status_code == 422
    assert "not correct" in right.text and "deactivated" not in right.text


def test_password_reset_by_mailed_token(app, client, session, capsys):
    user = make_user(session)
    ask_reset(client, app, user.email)
    message = session.exec(
        select(OutboxMessage).where(OutboxMessage.to_address == user.email)
    ).one()
    assert message.status == "logged"
    reset_token = mailed_token(capsys)
    token = csrf(client)
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


def test_reset_token_expires(app, client, session, clock, capsys):
    user = make_user(session)
    ask_reset(client, app, user.email)
    clock.advance(hours=2)
    r = client.post(
        "/password/reset",
        data={
            "token": mailed_token(capsys),
            "password": "brand new secret",
            "csrf_token": csrf(client),
        },
    )
    assert r.status_code == 422


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client, session):
    ask_reset(client, app, "nobody@example.org")
    assert session.exec(select(OutboxMessage)).all() == []


def test_password_change_signs_out_other_sessions(app, client, session):

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
