"""The pure pieces: status list bits and encoding, did:web names, numbers, the badge builder."""

import base64
import gzip
from datetime import UTC, datetime

import pytest

from app.credentials import did, openbadge, service, statuslist
from app.credentials.jsonld import UnsafeDocument, check_safe


def test_bit_zero_is_the_most_significant_bit_of_the_first_byte():
    bits = statuslist.set_bit(statuslist.empty(), 0, True)
    assert bits[0] == 0x80
    bits = statuslist.set_bit(bits, 131_071, True)
    assert bits[-1] == 0x01
    assert statuslist.get_bit(bits, 0) and statuslist.get_bit(bits, 131_071)
    assert not statuslist.get_bit(bits, 1)
    assert statuslist.get_bit(statuslist.set_bit(bits, 0, False), 0) is False


def test_the_encoding_is_multibase_base64url_of_gzip():
    bits = statuslist.set_bit(statuslist.empty(), 12345, True)
    encoded = statuslist.encode(bits)
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded
    body = encoded[1:]
    raw = gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert raw == bits and statuslist.decode(encoded) == bits


def test_a_list_is_never_shorter_than_the_spec_minimum():
    assert len(statuslist.empty()) * 8 == 131_072
    with pytest.raises(ValueError):
        statuslist.empty(1024)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://certify.example.org", "did:web:certify.example.org"),
        ("http://127.0.0.1:8000", "did:web:127.0.0.1%3A8000"),
        ("https://example.org/wmi/certify/", "did:web:example.org:wmi:certify"),
    ],
)
def test_did_web_follows_the_method_spec(base, expected):
    assert did.did_web(base) == expected


def test_numbers_are_readable_and_random():
    numbers = {service.new_number("CWA", 2027) for _ in range(200)}
    assert len(numbers) == 200
    for number in numbers:
        prefix, track, year, a, b = number.split("-")
        assert (prefix, track, year) == ("WMI", "CWA", "2027")
        assert len(a) == len(b) == 4 and not set(a + b) & set("ILOU")
    assert service.normalise_number(" wmi-cwa-2027-abio-lxyz ") == "WMI-CWA-2027-AB10-1XYZ"


def _badge(**overrides) -> dict:
    values = {
        "credential_url": "https://c.example/credentials/N.json",
        "verify_url": "https://c.example/verify/N",
        "number": "N",
        "issuer_did": "did:web:c.example",
        "base_url": "https://c.example",
        "track_code": "CAWM",
        "track_title": "Certified Associate in Work Management",
        "track_summary": "Summary.",
        "holder_name": "Ada",
        "valid_from": datetime(2026, 1, 1, tzinfo=UTC),
        "valid_until": datetime(2029, 1, 1, tzinfo=UTC),
        "status": statuslist.entry(list_url="https://c.example/credentials/status/1", index=7),
    }
    values.update(overrides)
    return openbadge.build(openbadge.BadgeInput(**values))


def test_the_badge_uses_only_defined_terms():
    document = _badge()
    check_safe(document)  # raises on an undefined term
    assert document["credentialStatus"]["statusListIndex"] == "7"


def test_the_holder_is_identified_by_name_only():
    """No e-mail identifier, hashed or not (issue 15, F-21: a salted hash published with its
    salt lets anyone confirm a guessed address); docs/CREDENTIALS.md."""
    identifiers = _badge()["credentialSubject"]["identifier"]
    assert identifiers == [
        {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "Ada"}
    ]


@pytest.mark.parametrize("name", ["Tab\there", "Bell\x07", "CR\rLF", "Del\x7f"])
def test_the_builder_refuses_control_characters_in_names(name):
    with pytest.raises(UnsafeDocument):
        _badge(holder_name=name)


def test_the_longest_name_stays_inside_the_certificates_frame():
    """Issue 15, F-18: a name of NAME_MAX of the widest letter wraps inside the frame (it ran
    off the page). Reads where each piece of text starts in the PDF's page content."""
    import re
    import zlib

    from app.accounts.schemas import NAME_MAX
    from app.credentials.pdf import CertificatePrint, render

    cert = CertificatePrint(
        number="WMI-CAWM-2026-000001", holder_name="W" * NAME_MAX, track_code="CAWM",
        track_title="Certified Associate in Work Management", issued_at=datetime(2026, 1, 1),
        expires_at=datetime(2029, 1, 1), verify_url="http://testserver/verify/1",
        standing_label="In force", in_force=True,
    )  # fmt: skip
    starts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", render(cert), re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        starts += [float(x) for x in re.findall(rb"BT (-?[\d.]+) -?[\d.]+ Td", content)]
    frame_left = 14 / 25.4 * 72  # the inner frame, 14 mm from the edge, in points
    assert len(starts) > 8 and min(starts) >= frame_left, sorted(starts)[:3]
