"""OpenID Connect sign-in against a real OpenID Provider (tests/oidc/provider.mjs): the whole
authorization-code flow over HTTP, linking, SSO-required domains, and every refusal."""

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from app.accounts.models import OidcLink, User
from app.core.config import OidcProvider
from app.core.models import AuditEntry
from tests.conftest import FakeClock, _base_settings
from tests.factories.accounts import PASSWORD, csrf, csrf_from, make_user, sign_in
from tests.oidc.provider import configs, free_port, sign_in_at_provider


@pytest.fixture
def clock() -> FakeClock:
    """The provider signs tokens at the real time: the platform's clock starts there too."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture(scope="module")
def half_provider():
    """A provider whose discovery document answers but whose token endpoint is down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = f"http://127.0.0.1:{server.server_port}"
    document = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/auth",
        "token_endpoint": f"http://127.0.0.1:{free_port()}/token",  # nobody listens there
        "jwks_uri": issuer + "/jwks",
    }

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server.RequestHandlerClass = Discovery
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield OidcProvider(name="half", label="Half ID", issuer=issuer, client_id="wmi")
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(database_url, tmp_path, oidc_provider, half_provider):
    base = _base_settings(tmp_path, database_url)
    providers = [*configs(oidc_provider.issuer), half_provider]
    return base.model_copy(update={"oidc_providers": providers})


def email() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@example.org"


def start(client, name: str = "acme", next_url: str = "/dashboard") -> str:
    """Press "Sign in with ..." (the sign-in page, or the profile's "Link"); where it leads."""
    token = csrf(client)
    response = client.post(f"/signin/oidc/{name}", data={"csrf_token": token, "next": next_url})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def back(client, url: str):
    """The browser returns to the platform's callback."""
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def sso(client, login: str, name: str = "acme", **kwargs):
    return back(client, sign_in_at_provider(start(client, name), login, **kwargs))


def actions(session) -> list[str]:
    return list(session.exec(select(AuditEntry.action).order_by(AuditEntry.seq)))


def test_sign_in_page_offers_each_provider(client, oidc_provider):
    response = client.get("/signin")
    assert "Sign in with Acme ID" in response.text and "Sign in with Tampered ID" in response.text
    assert 'action="/signin/oidc/acme"' in response.text
    # the form's redirect to the provider must pass the page's CSP (browsers check form-action)
    form_action = response.headers["content-security-policy"].split("form-action")[1]
    assert oidc_provider.issuer in form_action.split(";")[0].split()


def test_authorization_request_uses_pkce_state_and_nonce(client, oidc_provider):
    query = parse_qs(urlsplit(start(client)).query)
    assert urlsplit(start(client)).netloc == urlsplit(oidc_provider.issuer).netloc
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["client_id"] == ["wmi"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/signin/oidc/acme/callback"]
    assert len(query["state"][0]) >= 40 and len(query["nonce"][0]) >= 40


def test_first_sign_in_creates_a_learner_and_the_next_one_finds_the_link(
    client, session, oidc_provider
):
    address = email()
    done = sso(client, address)
    assert done.status_code == 303 and done.headers["location"] == "/dashboard"
    assert f"Signed in with Acme ID as {address}." in client.get("/dashboard").text
    user = session.exec(select(User).where(User.email == address)).one()
    assert user.role == "learner" and user.name == f"{address.split('@')[0].capitalize()} Tester"
    link = session.exec(select(OidcLink).where(OidcLink.user_id == user.id)).one()
    assert (link.issuer, link.subject) == (oidc_provider.issuer, address)
    assert actions(session)[-3:] == [
        "account.signup_sso",
        "account.sso_linked",
        "account.signin_sso",
    ]
    client.post("/signout", data={"csrf_token": csrf(client)})
    again = sso(client, address)
    assert again.status_code == 303
    assert session.exec(select(User).where(User.email == address)).all() == [user]
    assert actions(session)[-1] == "account.signin_sso"


def test_existing_account_links_only_after_its_password(client, session):
    user = make_user(session, email=email())
    done = sso(client, user.email)
    assert done.headers["location"] == "/signin/oidc/link"
    page = client.get("/signin/oidc/link")
    assert "Acme ID signed you in as" in page.text and user.email in page.text
    assert client.get("/dashboard").status_code == 303  # not signed in yet
    token = csrf_from(page.text)
    wrong = client.post("/signin/oidc/link", data={"csrf_token": token, "password": "not it!"})
    assert wrong.status_code == 422 and "not correct" in wrong.text
    assert session.exec(select(OidcLink)).all() == []
    ok = client.post("/signin/oidc/link", data={"csrf_token": token, "password": PASSWORD})
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"
    assert "is now linked" in client.get("/dashboard").text
    link = session.exec(select(OidcLink)).one()
    assert link.user_id == user.id and link.subject == user.email
    assert "account.sso_linked" in actions(session)


def test_signed_in_owner_confirms_the_link_with_a_button(client, session):
    user = make_user(session, email=email())
    sign_in(client, user)
    assert sso(client, user.email).headers["location"] == "/signin/oidc/link"
    page = client.get("/signin/oidc/link")
    assert "You are signed in to this account" in page.text and 'name="password"' not in page.text
    ok = client.post("/signin/oidc/link", data={"csrf_token": csrf_from(page.text)})
    assert ok.status_code == 303
    assert session.exec(select(OidcLink.user_id)).one() == user.id
    assert "Linked to Acme ID as" in client.get("/profile").text


def test_unverified_address_is_never_linked_nor_given_an_account(client, session):
    user = make_user(session, email=email())
    refused = sso(client, f"unverified:{user.email}")
    assert refused.status_code == 403
    assert "does not say that" in refused.text and "is verified" in refused.text
    stranger = email()
    refused = sso(client, f"unverified:{stranger}")
    assert refused.status_code == 403
    assert session.exec(select(User).where(User.email == stranger)).first() is None
    assert session.exec(select(OidcLink)).all() == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("tampered", "has a signature that does not match its content"),
        ("untrusted", "has a signature that does not match its content"),
        ("wrong-aud", "was issued for another application (wrong audience)"),
        ("wrong-nonce", "belongs to another sign-in (wrong nonce)"),
        ("wrong-iss", "was issued by another provider (wrong issuer)"),
        ("expired", "has expired"),
    ],
)
def test_bad_id_tokens_are_refused_with_a_page(client, session, name, words):
    refused = sso(client, email(), name)
    assert refused.status_code == 400, refused.text
    assert words in refused.text and "Traceback" not in refused.text
    assert session.exec(select(OidcLink)).all() == []
    assert client.get("/dashboard").status_code == 303
    assert actions(session)[-1] == "account.signin_sso_failed"


def test_replayed_and_unknown_state_are_refused(client):
    callback = sign_in_at_provider(start(client), email())
    assert back(client, callback).status_code == 303
    replay = back(client, callback)
    assert replay.status_code == 400 and "already used once" in replay.text
    unknown = client.get("/signin/oidc/acme/callback?state=made-up&code=x")
    assert (
        unknown.status_code == 400 and "does not belong to a sign-in started here" in unknown.text
    )


def test_a_response_meant_for_another_browser_is_refused(app, client, oidc_provider):
    from fastapi.testclient import TestClient

    callback = sign_in_at_provider(start(client), email())
    with TestClient(app, follow_redirects=False) as other:
        refused = back(other, callback)
    assert refused.status_code == 400 and "started in another browser" in refused.text


def test_an_expired_flow_is_refused(client, clock, settings):
    callback = sign_in_at_provider(start(client), email())
    clock.advance(seconds=settings.oidc_flow_seconds + 1)
    refused = back(client, callback)
    assert refused.status_code == 400 and "took too long" in refused.text


def test_cancelling_at_the_provider_says_so(client):
    refused = sso(client, email(), cancel=True)
    assert refused.status_code == 403
    assert "You did not allow Acme ID to sign you in here (access_denied)" in refused.text


def test_an_unreachable_provider_gets_a_clear_page(client):
    token = csrf_from(client.get("/signin").text)
    refused = client.post("/signin/oidc/gone", data={"csrf_token": token})
    assert refused.status_code == 502 and "Gone ID could not be reached" in refused.text


def test_a_provider_down_when_the_code_is_exchanged_gets_a_clear_page(client, session):
    state = parse_qs(urlsplit(start(client, "half")).query)["state"][0]
    refused = client.get(f"/signin/oidc/half/callback?state={state}&code=some-code")
    assert refused.status_code == 502
    assert "Half ID could not be reached to finish signing in" in refused.text
    assert actions(session)[-1] == "account.signin_sso_failed"


def test_sso_required_domain_refuses_passwords_and_names_the_provider(client, session):
    admin = make_user(session, email="root@wmi.test", role="admin")
    sign_in(client, admin)
    page = client.get("/admin/sso")
    assert "http://testserver/signin/oidc/acme/callback" in page.text
    r = client.post(
        "/admin/sso",
        data={"domain": "Corp.example", "provider": "acme", "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 303
    client.post("/signout", data={"csrf_token": csrf(client)})
    worker = make_user(session, email="jo@corp.example")
    token = csrf_from(client.get("/signin").text)
    refused = client.post(
        "/signin", data={"email": worker.email, "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 403
    assert "Addresses at corp.example sign in with Acme ID" in refused.text
    signup = client.post(
        "/signup",
        data={"email": "new@corp.example", "name": "New", "password": "long enough pw",
              "csrf_token": token},
    )  # fmt: skip
    assert signup.status_code == 403 and "sign in with Acme ID" in signup.text
    elsewhere = make_user(session, email=email())
    sign_in(client, elsewhere)  # other domains keep their passwords
    assert "sso.domain_required" in actions(session)


def test_sso_required_domain_links_by_its_provider_only(client, session):
    admin = make_user(session, email="root@wmi.test", role="admin")
    sign_in(client, admin)
    token = csrf(client)
    api = client.put(
        "/api/v1/admin/sso-domains/corp.example",
        json={"provider": "acme"},
        headers={"x-csrf-token": token},
    )
    assert api.status_code == 200 and api.json()["provider"] == "acme"
    assert client.get("/api/v1/admin/sso-domains").json()[0]["domain"] == "corp.example"
    bad = client.put(
        "/api/v1/admin/sso-domains/corp.example",
        json={"provider": "nope"},
        headers={"x-csrf-token": token},
    )
    assert bad.status_code == 422 and "no provider named 'nope'" in bad.json()["error"]["message"]
    client.post("/signout", data={"csrf_token": token})
    refused = sso(client, "kim@corp.example", "partner")
    assert refused.status_code == 403
    assert "Addresses at corp.example sign in with Acme ID, not Partner ID." in refused.text
    assert session.exec(select(User).where(User.email == "kim@corp.example")).first() is None
    assert sso(client, "kim@corp.example").status_code == 303  # the domain's own provider
    learner = client.delete(
        "/api/v1/admin/sso-domains/corp.example", headers={"x-csrf-token": csrf(client)}
    )
    assert learner.status_code == 403
    assert actions(session).count("sso.domain_required") == 1
