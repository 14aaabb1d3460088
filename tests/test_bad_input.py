"""Every route answers malformed or hostile input with a clear message and the right status."""

import re

from tests.factories.accounts import csrf, make_token, make_user, sign_in
from tests.routes import api_routes


def test_every_route_survives_bad_input(app, client, session):
    admin = make_user(session, role="admin")
    token = make_token(session, admin)
    sign_in(client, admin)
    form_token = csrf(client)
    for method, path, _ in api_routes(app):
        bad_path = re.sub(r"\{\w+\}", "%00not-an-id'\"<x>", path)
        long_path = re.sub(r"\{\w+\}", "9" * 40, path)
        api = path.startswith("/api/")
        auth = {"Authorization": f"Bearer {token}"} if api else {}
        attempts = [
            client.request(method, bad_path, headers=auth),
            client.request(method, long_path, headers=auth),
            client.request(
                method,
                path.replace("{", "").replace("}", "") + "?page=-1&q=" + "x" * 5000,
                headers=auth,
            ),
        ]
        if method != "GET":
            attempts += [
                client.request(
                    method,
                    re.sub(r"\{\w+\}", "1", path),
                    content=b"{not json",
                    headers={
                        **auth,
                        "content-type": "application/json",
                        "X-CSRF-Token": form_token,
                    },
                ),
                client.request(
                    method,
                    re.sub(r"\{\w+\}", "1", path),
                    json={"name": 12, "answers": "x", "role": ["admin"]},
                    headers={**auth, "X-CSRF-Token": form_token},
                ),
                client.request(
                    method,
                    re.sub(r"\{\w+\}", "1", path),
                    data={
                        "csrf_token": form_token,
                        "email": "\x00" * 10,
                        "name": "x" * 5000,
                        "password": ["a", "b"],
                    },
                ),
            ]
        for response in attempts:
            label = f"{method} {path} -> {response.status_code}"
            assert response.status_code < 500, label
            if response.status_code >= 400:
                body = response.text
                assert "Traceback" not in body and 'File "' not in body, label
                if response.headers.get("content-type", "").startswith("application/json"):
                    assert response.json()["error"]["message"], label
                else:
                    assert re.search(r"<h1>[^<]+</h1>", body), label


def test_oversized_body_is_refused_with_413(client):
    r = client.post(
        "/signin",
        content=b"x" * 2_000_001,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and "larger than" in r.json()["error"]["message"]


def test_unknown_page_and_method(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "Page not found" in r.text
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.put("/signin")
    assert r.status_code == 405


def test_server_error_page_hides_the_trace(app):
    from fastapi.testclient import TestClient

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom-for-test")
        assert r.status_code == 500
        assert "secret internals" not in r.text and "Traceback" not in r.text
        assert "Something went wrong" in r.text
        r = c.get("/boom-for-test", headers={"accept": "application/json"})
        assert r.json()["error"]["code"] == "server_error"


def test_security_headers_on_every_page(client):
    r = client.get("/signin")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    cookie = r.headers.get("set-cookie", "")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_secure_cookie_behind_https(settings, clock):
    from fastapi.testclient import TestClient

    from app.main import create_app

    secure = settings.model_copy(
        update={"base_url": "https://certify.example", "cookie_secure": True}
    )
    with TestClient(create_app(secure, clock=clock), base_url="https://testserver") as c:
        r = c.get("/signin")
        assert "secure" in r.headers["set-cookie"].lower()
        assert "strict-transport-security" in r.headers


def test_healthz_checks_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_api_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn." not in page.text
    assert client.get("/api/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "WMI Certify API"
