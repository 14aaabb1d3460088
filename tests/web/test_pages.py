"""Small things a newcomer trips over (issue 14, minors): the icon, HEAD requests, the menu on
unknown addresses, the certificate lookup on the home page and in the footer."""

from tests.factories.accounts import make_user, sign_in


def test_the_favicon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert 'rel="icon"' in client.get("/").text


def test_head_is_answered_like_get_without_a_body(client):
    for path in ("/", "/healthz", "/verify", "/tracks/CAWM"):
        r = client.head(path)
        assert r.status_code == 200, path
        assert r.content == b""
        assert r.headers["content-type"] == client.get(path).headers["content-type"]
    assert client.head("/verify/WMI-CAWM-2026-AAAA-AAAA").status_code == 404


def test_an_unknown_address_shows_a_signed_in_user_their_menu(client, session):
    user = make_user(session)
    sign_in(client, user)
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "Sign out" in r.text and "Create account" not in r.text


def test_an_unknown_certificate_number_keeps_the_lookup_box(client):
    r = client.get("/verify/CAWM-2026-NOPE-NOPE")
    assert r.status_code == 404
    assert 'value="CAWM-2026-NOPE-NOPE"' in r.text and "No certificate has the number" in r.text
    assert 'href="/verify"' in client.get("/").text and 'action="/verify"' in client.get("/").text
