"""Issue 15's account findings that need no throttle: tokens and reset links (F-05, F-07,
F-16), names (F-18), the administrator's search and update (F-19, F-20)."""

import base64
import hashlib
import itertools
import json
import re

from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.accounts import passwords
from app.accounts.models import ApiToken, LoginAttempt, PasswordReset, User
from app.accounts.schemas import NAME_MAX
from app.core import mail
from app.core.config import Settings
from app.core.models import AuditEntry, Job, OutboxMessage
from app.main import create_app
from tests.factories.accounts import (
    PASSWORD,
    ask_reset,
    csrf,
    csrf_from,
    mailed_token,
    make_token,
    make_user,
    sign_in,
)


def _session_payload(client) -> dict:
    """What the session cookie carries (signed, not encrypted: whoever holds it reads it)."""
    value = client.cookies.get("wmi_session")
    data = value.split(".", 1)[0]
    return json.loads(base64.b64decode(data + "=" * (-len(data) % 4)))


def _reset(client, token: str, password: str):
    form = csrf_from(client.get("/password/forgot").text)
    return client.post(
        "/password/reset", data={"token": token, "password": password, "csrf_token": form}
    )


# F-19: the administrator's user search takes % and _ literally.


def test_admin_user_search_treats_percent_and_underscore_literally(client, session):
    admin = make_user(session, role="admin")
    make_user(session, name="Plain Person")
    make_user(session, name="Ten_Percent 100%")
    auth = {"Authorization": f"Bearer {make_token(session, admin)}"}
    for q in ("%", "_", "t_n"):
        names = {u["name"] for u in client.get(f"/api/v1/admin/users?q={q}", headers=auth).json()}
        wanted = {"Ten_Percent 100%"} if q != "t_n" else set()
        assert names == wanted, q
    page = client.get("/admin/users?q=%25", headers=auth).text
    assert "Ten_Percent 100%" in page and "Plain Person" not in page


# F-20: the admin API takes booleans only as booleans.


def test_admin_api_refuses_a_number_for_is_active(client, session):
    admin, user = make_user(session, role="admin"), make_user(session)
    auth = {"Authorization": f"Bearer {make_token(session, admin)}"}
    for value in (0, "false", "0"):
        r = client.patch(f"/api/v1/admin/users/{user.id}", json={"is_active": value}, headers=auth)
        assert r.status_code == 422, value
    session.refresh(user)
    assert user.is_active
    r = client.patch(f"/api/v1/admin/users/{user.id}", json={"is_active": False}, headers=auth)
    assert r.status_code == 200 and r.json()["is_active"] is False


# F-16: a new token's secret never travels in the session cookie.


def test_new_token_secret_is_shown_without_passing_through_the_cookie(client, session):
    user = make_user(session)
    sign_in(client, user)
    r = client.post("/profile/tokens", data={"name": "laptop", "csrf_token": csrf(client)})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = re.search(r'data-testid="new-token">([^<]+)<', r.text)[1]
    assert secret.startswith("wmi_")
    assert secret not in json.dumps(_session_payload(client))
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert secret not in client.get("/profile").text


# F-07: one use of a reset link ends every other link of the account.


def test_using_a_reset_link_ends_every_earlier_link(app, client, session, capsys):
    user = make_user(session)
    ask_reset(client, app, user.email)
    older = mailed_token(capsys)
    ask_reset(client, app, user.email)
    newer = mailed_token(capsys)
    assert older != newer
    assert _reset(client, newer, "brand new secret").status_code == 303
    r = _reset(client, older, "attacker's choice")
    assert r.status_code == 422 and "invalid or has expired" in r.text
    sign_in(client, user, "brand new secret")


# F-05: tokens do not survive a reset; a change offers to revoke them.


def test_password_reset_revokes_every_api_token(app, client, session, capsys):
    user = make_user(session)
    secrets = [make_token(session, user, "a"), make_token(session, user, "b")]
    ask_reset(client, app, user.email)
    assert _reset(client, mailed_token(capsys), "new secret!!").status_code == 303
    for secret in secrets:
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 401
    revoked = session.exec(select(ApiToken.revoked_at).where(ApiToken.user_id == user.id)).all()
    assert len(revoked) == 2 and all(revoked)


def _change_password(client, **extra):
    data = {
        "current_password": PASSWORD,
        "new_password": "a newer password",
        "csrf_token": csrf(client),
        **extra,
    }
    return client.post("/profile/password", data=data)


def test_password_change_revokes_tokens_only_when_asked(app, client, session):
    user = make_user(session)
    kept = make_token(session, user)
    sign_in(client, user)
    assert "Also revoke my" in client.get("/profile").text
    assert _change_password(client).status_code == 303
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {kept}"})
    assert me.status_code == 200

    other = make_user(session)
    gone = make_token(session, other)
    with TestClient(app, follow_redirects=False) as second:
        sign_in(second, other)
        r = _change_password(second, revoke_tokens="on")
        assert r.status_code == 303
        assert "1 API token was revoked" in second.get("/profile").text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {gone}"})
    assert me.status_code == 401
    assert session.exec(select(User).where(User.id == other.id)).one().is_active


# F-18: names that go onto certificates are readable: no direction overrides, visible letters,
# a length a certificate can print.

BAD_NAMES = {
    "Ann\u202eeoD": "direction",  # right-to-left override: shows as "AnnDoe" reversed
    "\u2067Bob\u2069": "direction",  # isolates
    "\u200b\u200c\u200d": "letter",  # zero-width only
    "\u200b \ufeff": "letter",
    "A" * (NAME_MAX + 1): f"at most {NAME_MAX}",
}


def test_sign_up_and_profile_refuse_unreadable_names(client, session):
    form = csrf_from(client.get("/signup").text)
    for n, (name, words) in enumerate(BAD_NAMES.items()):
        r = client.post(
            "/signup",
            data={"email": f"n{n}@example.org", "name": name, "password": "a long password",
                  "csrf_token": form},
        )  # fmt: skip
        assert r.status_code == 422 and words in r.text, name
    user = make_user(session)
    sign_in(client, user)
    for name, words in BAD_NAMES.items():
        r = client.post("/profile", data={"name": name, "csrf_token": csrf(client)})
        assert r.status_code == 422 and words in r.text, name
    for good in ("Zoë O'Brien-Łukasz", "محمد\u200cرضا", "李小龙", "W" * NAME_MAX):
        r = client.post("/profile", data={"name": good, "csrf_token": csrf(client)})
        assert r.status_code == 303, good


# F-04: signing out ends the session on the server.


def test_a_copy_of_the_session_cookie_stops_working_at_sign_out(app, client, session):
    user = make_user(session)
    sign_in(client, user)
    copied = client.cookies.get("wmi_session")
    r = client.post("/signout", data={"csrf_token": csrf(client)})
    assert r.status_code == 303
    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set("wmi_session", copied)
        assert thief.get("/profile").status_code == 303
        assert thief.get("/api/v1/me").status_code == 401


def test_signing_out_one_browser_leaves_the_others_signed_in(app, client, session):
    user = make_user(session)
    sign_in(client, user)
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, user)
        other.post("/signout", data={"csrf_token": csrf(other)})
        assert other.get("/profile").status_code == 303
    assert client.get("/profile").status_code == 200


# F-06: a working reset link is never readable from the outbox page, the database or the log.


def test_reset_links_are_withheld_from_the_outbox_and_the_log(settings, clock, session, capsys):
    assert Settings.model_fields["mail_log_secrets"].default is False
    quiet = settings.model_copy(update={"mail_log_secrets": False})
    app = create_app(quiet, clock=clock)
    user, admin = make_user(session), make_user(session, role="admin")
    with TestClient(app, follow_redirects=False) as client:
        ask_reset(client, app, user.email)
        printed = capsys.readouterr().out
        assert "Reset your WMI Certify password" in printed
        assert mail.WITHHELD in printed and "token=" not in printed
        message = session.exec(select(OutboxMessage)).one()
        assert message.status == "logged" and message.sealed is None
        assert "token=" not in message.body and mail.WITHHELD in message.body
        sign_in(client, admin)
        page = client.get("/admin/outbox").text
        assert "Reset your WMI Certify password" in page and "token=" not in page
    app.state.engine.dispose()


def test_a_link_waiting_in_the_outbox_is_sealed(app, session, settings, clock):
    user = make_user(session)
    result = passwords.reset_mail(session=session, settings=settings, email=user.email, now=clock())
    session.commit()
    assert result == {"sent": True}
    message = session.exec(select(OutboxMessage)).one()
    link = mail.readable_body(message, settings)
    token = re.search(r"token=([\w\-]+)", link)[1]
    assert token not in message.body and token not in message.sealed
    digests = session.exec(select(PasswordReset.token_hash)).all()
    assert digests == [hashlib.sha256(token.encode()).hexdigest()]


# F-08: reset mails to one account are limited.


def test_at_most_three_reset_mails_an_hour_reach_one_account(app, client, session, clock):
    user = make_user(session)
    for _ in range(5):
        ask_reset(client, app, user.email)
    sent = select(func.count()).select_from(OutboxMessage)
    assert session.exec(sent).one() == 3
    clock.advance(minutes=61)
    ask_reset(client, app, user.email)
    assert session.exec(sent).one() == 4


# F-09: asking for a reset does the same work for a real and an unknown address.


def _row_counts(session) -> dict:
    tables = (PasswordReset, OutboxMessage, AuditEntry, Job, LoginAttempt)
    return {
        t.__tablename__: session.exec(select(func.count()).select_from(t)).one() for t in tables
    }


def test_asking_for_a_reset_costs_the_same_for_a_real_and_an_unknown_address(client, session):
    user = make_user(session)
    form = csrf_from(client.get("/password/forgot").text)
    seen = [_row_counts(session)]
    pages = []
    for email in (user.email, "nobody@example.org"):
        r = client.post("/password/forgot", data={"email": email, "csrf_token": form})
        pages.append((r.status_code, r.text.replace(form, "")))
        seen.append(_row_counts(session))
    assert pages[0] == pages[1]
    steps = [{k: b[k] - a[k] for k in a if b[k] != a[k]} for a, b in itertools.pairwise(seen)]
    assert steps == [{"job": 1}, {"job": 1}]
