"""What verifiers and link previews fetch: public documents readable from any origin, the
achievement's badge image, and the verification page's preview tags."""

import re

from tests.factories.accounts import make_user
from tests.factories.credentials import pass_exam

PNG = b"\x89PNG\r\n\x1a\n"


def test_public_credential_documents_may_be_fetched_from_any_origin(
    client, session, settings, clock
):
    cert = pass_exam(session, settings, make_user(session), now=clock())
    status_url = client.get(f"/credentials/{cert.number}.json").json()["credentialStatus"]
    for path in (
        "/.well-known/did.json",
        f"/credentials/{cert.number}.json",
        f"/verify/{cert.number}.json",
        status_url["statusListCredential"].removeprefix("http://testserver"),
        "/badges/CAWM.png",
    ):
        response = client.get(path, headers={"Origin": "https://verifier.example"})
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == "*", path
    page = client.get(f"/verify/{cert.number}", headers={"Origin": "https://verifier.example"})
    assert "access-control-allow-origin" not in page.headers  # pages are not documents


def test_the_credential_names_the_achievements_badge_image(client, session, settings, clock):
    cert = pass_exam(session, settings, make_user(session), now=clock())
    achievement = client.get(f"/credentials/{cert.number}.json").json()["credentialSubject"][
        "achievement"
    ]
    image = achievement["image"]
    assert image["type"] == "Image" and image["id"] == "http://testserver/badges/CAWM.png"
    badge = client.get("/badges/CAWM.png")
    assert badge.headers["content-type"] == "image/png" and badge.content.startswith(PNG)
    assert badge.content[16:24] == (512).to_bytes(4, "big") * 2  # IHDR: 512 x 512
    assert client.get("/badges/NOPE.png").status_code == 404


def test_the_verification_page_has_preview_tags_and_a_preview_image(
    client, session, settings, clock
):
    cert = pass_exam(session, settings, make_user(session, name="Ada Lovelace"), now=clock())
    page = client.get(f"/verify/{cert.number}").text
    tags = dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', page))
    assert tags["og:title"] == "Certified Associate in Work Management (CAWM): Valid"
    assert tags["og:url"] == f"http://testserver/verify/{cert.number}"
    assert tags["og:image"] == "http://testserver/badges/CAWM/preview.png"
    assert tags["twitter:card"] == "summary_large_image"
    preview = client.get(tags["og:image"].removeprefix("http://testserver"))
    assert preview.status_code == 200 and preview.content.startswith(PNG)
    width, height = (int.from_bytes(preview.content[k : k + 4], "big") for k in (16, 20))
    assert (width, height) == (1200, 630)
