"""Hostile or broken QTI packages: each refused as a whole with a clear report, nothing
imported, no entity expanded, no file read, no network fetch."""

import json
import os
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from app.itembank import qti
from tests.itembank.qti_helpers import empty_the_bank, facts, item_count, members, zip_of

LATER = datetime(2026, 11, 26, tzinfo=UTC)
SECRET = "TOP-SECRET-MARKER-4417"


@pytest.fixture
def package(session):
    """A good package of a few items, as its members, for the cases to break."""
    data, count = qti.export_package(session, qti.Filters(track="CWA", pool="pretest"))
    assert count > 5
    return members(data)


def _first_item(files: dict[str, bytes]) -> str:
    return next(n for n in sorted(files) if n.startswith("items/"))


def _with_doctype(files, doctype: str, use: str = "") -> bytes:
    name = _first_item(files)
    xml = files[name].decode().split("\n", 1)[1]  # without the XML declaration
    if use:
        xml = xml.replace("<qti-prompt>", f"<qti-prompt>{use}", 1)
    return zip_of({**files, name: f'<?xml version="1.0"?>\n{doctype}\n{xml}'.encode()})


def _refused(session, settings, data, *, max_bytes=None):
    audits = session.execute(text("SELECT count(*) FROM audit_entry")).scalar()
    before = item_count(session)
    empty_report = qti.import_package(
        session=session,
        data=data,
        name="hostile.zip",
        facts=facts(settings),
        defaults=qti.Defaults(),
        max_bytes=max_bytes or settings.qti_max_bytes,
        now=LATER,
    )
    session.rollback()
    assert empty_report.refused, empty_report
    assert empty_report.items == [] and empty_report.count("imported") == 0
    assert item_count(session) == before
    assert session.execute(text("SELECT count(*) FROM audit_entry")).scalar() == audits
    return empty_report


def _imports_into_an_empty_bank(session, settings, data) -> None:
    """The unbroken package does import (so the refusals below are the breakage's doing)."""
    empty_the_bank(session)
    report = qti.import_package(
        session=session,
        data=data,
        name="good.zip",
        facts=facts(settings),
        defaults=qti.Defaults(),
        max_bytes=settings.qti_max_bytes,
        now=LATER,
    )
    assert report.refused is None and report.count("imported") == len(report.items) > 5


def test_the_unbroken_package_imports(session, settings, package):
    _imports_into_an_empty_bank(session, settings, zip_of(package))


def test_malformed_xml_is_refused(session, settings, package):
    name = _first_item(package)
    data = zip_of({**package, name: package[name][:-40]})
    report = _refused(session, settings, data)
    assert report.refused.startswith(f"'{name}' is not well-formed XML")


def test_a_malformed_manifest_is_refused(session, settings, package):
    data = zip_of({**package, "imsmanifest.xml": b"<manifest><resources></manifest>"})
    assert "'imsmanifest.xml' is not well-formed XML" in _refused(session, settings, data).refused


def test_a_file_reading_entity_is_refused_and_its_content_never_appears(
    session, settings, package, tmp_path
):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    data = _with_doctype(
        package,
        f'<!DOCTYPE qti-assessment-item [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        use="&xxe;",
    )
    report = _refused(session, settings, data)
    assert "declares a DTD; DTDs and entities are refused" in report.refused
    assert SECRET not in json.dumps(report.as_dict())
    empty_the_bank(session)  # even with nothing in the way, no item carries the file's text
    assert _refused(session, settings, data).refused == report.refused


def test_an_internal_entity_bomb_is_refused_without_expanding_it(session, settings, package):
    lol = "".join(f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    data = _with_doctype(
        package, f'<!DOCTYPE qti-assessment-item [<!ENTITY l0 "lol">{lol}]>', use="&l9;"
    )
    assert "declares a DTD" in _refused(session, settings, data).refused


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        _Recorder.hits.append(self.path)
        body = b'<!ENTITY leak "LEAKED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_external_dtd_or_parameter_entity_is_refused_without_any_fetch(
    session, settings, package, http_server
):
    cases = [
        f'<!DOCTYPE qti-assessment-item SYSTEM "{http_server}/item.dtd">',
        f'<!DOCTYPE qti-assessment-item [<!ENTITY % p SYSTEM "{http_server}/p.dtd"> %p;]>',
    ]
    for doctype in cases:
        report = _refused(session, settings, _with_doctype(package, doctype, use="&leak;"))
        assert "DTD" in report.refused and "LEAKED" not in json.dumps(report.as_dict())
    assert _Recorder.hits == []  # the server was never asked


def test_a_package_over_the_size_limit_is_refused(session, settings, package):
    data = zip_of({**package, "padding.bin": os.urandom(300_000)})
    report = _refused(session, settings, data, max_bytes=200_000)
    assert report.refused == (
        f"The package is {len(data)} bytes, over the limit of 200000 (WMI_QTI_MAX_BYTES)."
    )


def test_a_zip_bomb_is_refused_by_its_unpacked_size(session, settings, package):
    data = zip_of({**package, "zeros.bin": b"\0" * 50_000_000})
    assert len(data) < 200_000  # small packed
    report = _refused(session, settings, data, max_bytes=1_000_000)
    assert report.refused == (
        "Unpacked, the package is over the limit of 1000000 bytes (WMI_QTI_MAX_BYTES)."
    )


def test_many_small_members_count_towards_the_unpacked_limit(session, settings, package):
    data = zip_of({**package, **{f"pad/{n}.txt": b"x" * 60_000 for n in range(20)}})
    report = _refused(session, settings, data, max_bytes=1_000_000)
    assert report.refused.startswith("Unpacked, the package is over the limit")


@pytest.mark.parametrize("name", ["../evil.xml", "/etc/evil.xml", "items/../../evil.xml"])
def test_a_member_path_climbing_out_of_the_package_is_refused(session, settings, package, name):
    data = zip_of({**package, name: b"<x/>"})
    report = _refused(session, settings, data)
    assert report.refused == (
        f"The path '{name}' climbs out of the package (absolute or with '..')."
    )


@pytest.mark.parametrize("href", ["../outside.xml", "/outside.xml"])
def test_a_manifest_href_climbing_out_is_refused(session, settings, package, href):
    first = _first_item(package)
    manifest = package["imsmanifest.xml"].replace(first.encode(), href.encode())
    report = _refused(session, settings, zip_of({**package, "imsmanifest.xml": manifest}))
    assert report.refused == f"The path '{href}' climbs out of the package (absolute or with '..')."


def test_duplicate_resource_identifiers_are_refused(session, settings, package):
    names = sorted(n for n in package if n.startswith("items/"))
    one, two = (n.removeprefix("items/").removesuffix(".xml") for n in names[:2])
    manifest = package["imsmanifest.xml"].replace(
        f'identifier="{two}"'.encode(), f'identifier="{one}"'.encode()
    )
    report = _refused(session, settings, zip_of({**package, "imsmanifest.xml": manifest}))
    assert report.refused == f"The manifest uses the identifier '{one}' twice."


def test_two_items_with_one_identifier_are_refused(session, settings, package):
    names = sorted(n for n in package if n.startswith("items/"))
    one, two = (n.removeprefix("items/").removesuffix(".xml") for n in names[:2])
    renamed = package[names[1]].replace(
        f'identifier="{two}"'.encode(), f'identifier="{one}"'.encode()
    )
    report = _refused(session, settings, zip_of({**package, names[1]: renamed}))
    assert report.refused == f"Two items use the identifier '{one}'."


def test_a_manifest_naming_a_missing_file_is_refused(session, settings, package):
    name = _first_item(package)
    rest = {k: v for k, v in package.items() if k != name}
    report = _refused(session, settings, zip_of(rest))
    assert report.refused == f"The manifest names '{name}', which the package does not hold."


def test_a_file_that_is_no_zip_or_has_no_manifest_is_refused(session, settings, package):
    assert _refused(session, settings, b"PK\x03\x04 not really").refused == (
        "The upload is not a zip file (a QTI content package is a zip)."
    )
    rest = {k: v for k, v in package.items() if k != "imsmanifest.xml"}
    assert _refused(session, settings, zip_of(rest)).refused == (
        "The package has no imsmanifest.xml at its root."
    )
