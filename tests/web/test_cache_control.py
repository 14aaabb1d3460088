"""Nothing personal is kept by a browser or proxy cache: signed-in pages, every API response and
the page that shows a new API token carry `Cache-Control: no-store` (issue 14, F-15)."""

import re

from tests.factories.accounts import csrf, make_token, make_user, sign_in


def test_signed_in_pages_are_never_stored(client, session):
    sign_in(client, make_user(session))
    for path in ("/dashboard", "/exams", "/exams/CAWM", "/profile", "/certificates", "/tracks"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-store", path


def test_the_page_showing_a_new_token_is_not_stored(client, session):
    sign_in(client, make_user(session))
    r = client.post("/profile/tokens", data={"name": "laptop", "csrf_token": csrf(client)})
    assert r.status_code == 200  # shown on the response itself (F-16: never via the cookie)
    assert re.search(r"wmi_[A-Za-z0-9_-]{20,}", r.text), "the new secret is shown once"
    assert r.headers["cache-control"] == "no-store"


def test_api_responses_are_never_stored(client, session):
    user = make_user(session)
    bearer = {"Authorization": f"Bearer {make_token(session, user)}"}
    for path in ("/api/v1/me", "/api/v1/exams", "/api/v1/tokens"):
        r = client.get(path, headers=bearer)
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-store", path
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["cache-control"] == "no-store"


def test_static_files_stay_cacheable(client):
    r = client.get("/static/app.css")
    assert r.status_code == 200 and "no-store" not in r.headers.get("cache-control", "")
