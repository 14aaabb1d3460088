"""The printed certificate never drops a character silently (issue 14): names in any script
are printed with installed fonts (DejaVu Sans, then Noto, then Symbola, installed by `make
fonts`), a character no font has is printed as a square with a note and logged, long names
shrink then wrap, and the certificate carries the seal and a signature line."""

import logging
import re
from datetime import datetime

import pytest

from app.credentials import pdf

WIDE = (
    "Ἀριστοτέλης Wolfeschlegelsteinhausenbergerdorff von Hohenzollern-Sigmaringen und Brandenburg"
)


def cert(name: str) -> pdf.CertificatePrint:
    return pdf.CertificatePrint(
        number="WMI-CAWM-2026-AAAA-BBBB",
        holder_name=name,
        track_code="CAWM",
        track_title="Certified Associate in Work Management",
        issued_at=datetime(2026, 11, 25),
        expires_at=datetime(2029, 11, 25),
        verify_url="https://certify.example.org/verify/WMI-CAWM-2026-AAAA-BBBB",
        standing_label="Valid",
        in_force=True,
    )


def fonts_in(document: bytes) -> set[str]:
    return {m.decode() for m in re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([\w-]+)", document)}


def test_the_fonts_of_make_fonts_are_installed():
    families = {p.rsplit("/", 1)[1] for p, _ in pdf.fallback_candidates()}
    assert {"NotoSans-Regular.ttf", "NotoSansCJK-Regular.ttc", "Symbola_hint.ttf"} <= families


@pytest.mark.parametrize(
    ("name", "font"),
    [
        ("山田 太郎", "NotoSansCJKSC"),
        ("김민준", "NotoSansCJKSC"),
        ("Ada 🙂 Lovelace", "Symbola"),
        ("देवनागरी नाम", "NotoSansDevanagari"),
    ],
)
def test_a_name_in_any_script_is_printed_with_a_font_that_has_it(name, font, caplog):
    faces, missing = pdf.plan_fonts(name)
    assert missing == set() and faces
    with caplog.at_level(logging.WARNING):
        document = pdf.render(cert(name))
    assert any(f.startswith(font) for f in fonts_in(document)), fonts_in(document)
    assert not caplog.records  # nothing dropped (fpdf2 warns of missing glyphs too)


def test_a_character_no_font_has_prints_as_a_square_with_a_note_and_is_logged(caplog):
    unassigned = "\U000e01f0"  # a code point no installed font has
    printed, _, missing = pdf.printed_name(f"Ada {unassigned}Lovelace")
    assert printed == f"Ada {pdf.MISSING}Lovelace" and missing == {unassigned}
    with caplog.at_level(logging.WARNING, logger="wmi.credentials.pdf"):
        document = pdf.render(cert(f"Ada {unassigned}Lovelace"))
    assert document.startswith(b"%PDF-")
    assert "WMI-CAWM-2026-AAAA-BBBB: no installed font has U+E01F0" in caplog.text


def test_long_names_shrink_then_wrap_and_the_page_has_seal_and_signature():
    document = pdf.render(cert(WIDE))
    assert document.startswith(b"%PDF-") and document.count(b"/Subtype /Image") >= 2  # seal, QR
    assert "DejaVuSansBold" in fonts_in(document)


def test_the_plan_prefers_dejavu_and_needs_no_fallback_for_european_names():
    assert pdf.plan_fonts("Zoë Ødegård Ἀριστοτέλης Пушкин") == ([], set())
