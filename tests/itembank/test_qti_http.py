"""The QTI exchange over HTTP: the API with an author's token, and the page."""

import io
import zipfile

from sqlmodel import select

from app.itembank import qti
from app.itembank.models import Item, ItemVersion
from tests.factories.accounts import csrf, make_token, make_user, sign_in
from tests.itembank.qti_helpers import item_count, members, zip_of
from tests.itembank.test_qti_import import choice21, manifest


def _auth(session, role="author"):
    return {"Authorization": f"Bearer {make_token(session, make_user(session, role=role))}"}


def test_an_author_downloads_a_filtered_package(client, session):
    r = client.get("/api/v1/items/qti?track=CWA&pool=pretest&domain=2", headers=_auth(session))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == 'attachment; filename="wmi-CWA-pretest-2-qti.zip"'
    names = members(r.content)
    assert "imsmanifest.xml" in names
    assert names.keys() - {"imsmanifest.xml"} and all(
        n.startswith("items/CWA-2-") for n in names if n != "imsmanifest.xml"
    )


def test_the_export_refuses_an_unknown_track_or_a_learner(client, session):
    r = client.get("/api/v1/items/qti?track=XYZ", headers=_auth(session))
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "There is no track 'XYZ' (CAWM, WMP or CWA)."
    learner = client.get("/api/v1/items/qti?track=CWA", headers=_auth(session, "learner"))
    assert learner.status_code == 403
    assert client.get("/api/v1/items/qti?track=CWA").status_code == 401


def test_uploading_a_package_answers_with_the_report_per_item(client, session):
    t = "imsqti_item_xmlv2p1"
    data = zip_of({"imsmanifest.xml": manifest(("R1", t, "a.xml")), "a.xml": choice21("ext-1")})
    form = {
        "track": "CWA",
        "pool": "pretest",
        "domain": "1",
        "module": "A1",
        "fact": "wa.practice",
        "level": "apply",
        "source": "WA, WARCH",
    }
    before = item_count(session)
    r = client.post(
        "/api/v1/items/qti",
        headers=_auth(session),
        files={"package": ("ext.zip", data, "application/zip")},
        data=form,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["imported"], body["skipped"], body["refused"]) == (1, 0, None)
    assert body["items"] == [
        {"identifier": "ext-1", "outcome": "imported", "code": "CWA-1-800", "reason": ""}
    ]
    assert item_count(session) == before + 1


def test_a_refused_upload_is_a_422_with_the_report_and_imports_nothing(client, session):
    exported = client.get("/api/v1/items/qti?track=CWA&pool=pretest", headers=_auth(session))
    files_ = members(exported.content)
    before = item_count(session)
    r = client.post(
        "/api/v1/items/qti",
        headers=_auth(session),
        files={
            "package": ("bad.zip", zip_of({**files_, "../escape.xml": b"<x/>"}), "application/zip")
        },
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "package_refused"
    assert (
        error["message"]
        == "The path '../escape.xml' climbs out of the package (absolute or with '..')."
    )
    assert error["report"]["refused"] == error["message"] and error["report"]["items"] == []
    assert item_count(session) == before


def test_the_page_exports_and_imports_without_javascript(client, session):
    admin = make_user(session, role="admin")
    sign_in(client, admin)
    assert 'href="/items/qti"' in client.get("/admin").text
    page = client.get("/items/qti")
    assert page.status_code == 200
    for text in ("<h1>QTI exchange</h1>", '<label for="package">', "Download the package"):
        assert text in page.text
    download = client.get("/items/qti/export?track=WMP&pool=pretest&status=&domain=&fact=")
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert "imsmanifest.xml" in archive.namelist()
    r = client.post(
        "/items/qti",
        data={"csrf_token": csrf(client), "pool": "exam"},
        files={"package": ("wmp.zip", download.content, "application/zip")},
    )
    assert r.status_code == 200
    assert "0 imported as drafts" in r.text and "already in the bank" in r.text
    refused = client.post(
        "/items/qti",
        data={"csrf_token": csrf(client), "pool": "exam"},
        files={"package": ("x.zip", b"not a zip", "application/zip")},
    )
    assert refused.status_code == 422
    assert "The package was refused and nothing was imported." in refused.text
    assert "The upload is not a zip file" in refused.text


def test_an_author_sees_the_page_and_a_learner_does_not(client, session):
    sign_in(client, make_user(session, role="author"))
    assert 'href="/items/qti"' in client.get("/workbench").text
    assert client.get("/items/qti").status_code == 200
    client.cookies.clear()
    sign_in(client, make_user(session, role="learner"))
    assert client.get("/items/qti").status_code == 403


def test_any_filtered_set_of_the_workbench_exports_and_comes_back_unchanged(
    client, session, settings, clock
):
    """The workbench list's filters (here level and type across every track and pool, which the
    track-bound export cannot say) select exactly the package's items, every page of them."""
    wanted = set(
        session.exec(
            select(Item.code).join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(ItemVersion.level == "understand", ItemVersion.type == "multiple")
        ).all()
    )  # fmt: skip
    assert len(wanted) > 25  # more than one page of the list
    params = {"level": "understand", "type": "multiple"}
    r = client.get("/api/v1/workbench/export", params=params, headers=_auth(session))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    items = {n.removeprefix("items/").removesuffix(".xml") for n in members(r.content)}
    assert items - {"imsmanifest"} == wanted

    sign_in(client, make_user(session, role="author"))
    page = client.get("/workbench", params=params).text
    assert f"Download these {len(wanted)} items as a QTI 3.0 package" in page
    download = client.get("/workbench/export", params=params)
    assert download.status_code == 200 and members(download.content) == members(r.content)

    report = qti.import_package(
        session=session, data=r.content, name="workbench.zip", facts=None,
        defaults=qti.Defaults(), max_bytes=settings.qti_max_bytes, now=clock(),
    )  # fmt: skip
    assert report.refused is None and report.count("unchanged") == len(wanted)
    assert client.get("/api/v1/workbench/export", params={"level": "x" * 13},
                      headers=_auth(session)).status_code == 422  # fmt: skip
