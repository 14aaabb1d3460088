"""The printable certificate: an A4 landscape PDF (fpdf2) with the track's seal, a signature
line and a QR code to the verification page (segno).

Names are printed in DejaVu Sans (Latin, Greek, Cyrillic; shipped with matplotlib), falling back
for any other character to the first installed font that has it: the Noto families of Debian's
fonts-noto-core and fonts-noto-cjk, then Symbola (fonts-symbola) for symbols and emoji
(`make fonts`). A character that no installed font has is never dropped silently: it prints as
a white square and a note under the name says that the verification page shows the name
exactly; the service logs it. Long names shrink to fit, then wrap (at most three lines).
"""

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import segno
from fontTools.ttLib import TTCollection, TTFont
from fpdf import FPDF

from app.credentials import badge

log = logging.getLogger("wmi.credentials.pdf")

BRAND = (31, 78, 121)
GOLD = (191, 144, 0)
MISSING = "\u25a1"  # WHITE SQUARE, in DejaVu Sans
NAME_WIDTH = 240  # mm available to the holder's name
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),  # fonts-noto-core: one file per script
    Path("/usr/share/fonts/opentype/noto"),  # fonts-noto-cjk: Chinese, Japanese, Korean
    Path("/usr/share/fonts/truetype/ancient-scripts"),  # fonts-symbola: symbols, emoji
)


@dataclass(frozen=True)
class CertificatePrint:
    number: str
    holder_name: str
    track_code: str
    track_title: str
    issued_at: datetime
    expires_at: datetime
    verify_url: str
    standing_label: str
    in_force: bool


def _dejavu() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def _coverage(path: str, number: int) -> frozenset[int]:
    """The code points a font file (or one face of a collection) has glyphs for."""
    if path.endswith(".ttc"):
        font = TTCollection(path, lazy=True).fonts[number]
    else:
        font = TTFont(path, lazy=True)
    return frozenset(font.getBestCmap() or {})


@cache
def fallback_candidates() -> tuple[tuple[str, int], ...]:
    """Installed fallback faces in order: Noto Sans first, then the other Noto regular faces,
    the CJK collection's Simplified Chinese face (it covers Japanese kana and Hangul too), then
    Symbola."""
    found: list[tuple[str, int]] = []
    noto, cjk, symbola = FONT_DIRS
    found += [(str(p), 0) for p in sorted(noto.glob("NotoSans-Regular.ttf"))]
    found += [
        (str(p), 0)
        for p in sorted(noto.glob("NotoSans*-Regular.ttf"))
        if p.name != "NotoSans-Regular.ttf"
    ]
    ttc = cjk / "NotoSansCJK-Regular.ttc"
    if ttc.exists():
        found.append((str(ttc), 2))  # faces: JP, KR, SC, TC, HK (SC is index 2)
    found += [(str(p), 0) for p in sorted(symbola.glob("Symbola*.ttf"))]
    return tuple(found)


def plan_fonts(text: str) -> tuple[list[tuple[str, int]], set[str]]:
    """The fallback faces a text needs beyond DejaVu Sans, and the characters none has."""
    dejavu = _coverage(str(_dejavu() / "DejaVuSans.ttf"), 0)
    needed: list[tuple[str, int]] = []
    missing: set[str] = set()
    for char in sorted({c for c in text if not c.isspace()} - {chr(c) for c in dejavu}):
        face = next((f for f in needed if ord(char) in _coverage(*f)), None)
        face = face or next((f for f in fallback_candidates() if ord(char) in _coverage(*f)), None)
        if face is None:
            missing.add(char)
        elif face not in needed:
            needed.append(face)
    return needed, missing


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def _fonts(pdf: FPDF, faces: list[tuple[str, int]]) -> None:
    fonts = _dejavu()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    names = []
    for k, (path, number) in enumerate(faces):
        name = f"Fallback{k}"
        kwargs = {"collection_font_number": number} if path.endswith(".ttc") else {}
        pdf.add_font(name, "", path, **kwargs)
        names.append(name.lower())
    if names:
        pdf.set_fallback_fonts(names, exact_match=False)


def _name(pdf: FPDF, name: str) -> None:
    """The holder's name: 28 pt, shrinking to 16 pt to fit one line, then wrapped."""
    lines = name.splitlines() or [""]
    for line in lines:
        size = 28
        pdf.set_font("DejaVu", "B", size)
        while size > 16 and pdf.get_string_width(line) > NAME_WIDTH:
            size -= 1
            pdf.set_font("DejaVu", "B", size)
        pdf.set_x((297 - NAME_WIDTH) / 2)
        pdf.multi_cell(NAME_WIDTH, size * 0.5, line, align="C", max_line_height=size * 0.5)


def printed_name(name: str) -> tuple[str, list[tuple[str, int]], set[str]]:
    """The name as printed (a square for each character no font has), the fallback faces it
    needs, and those characters."""
    faces, missing = plan_fonts(name)
    return "".join(MISSING if c in missing else c for c in name), faces, missing


def render(cert: CertificatePrint) -> bytes:
    """The certificate as PDF bytes."""
    name, faces, missing = printed_name(cert.holder_name)
    if missing:
        codes = ", ".join(f"U+{ord(c):04X}" for c in sorted(missing))
        log.warning("certificate %s: no installed font has %s", cert.number, codes)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"{cert.track_title}: {cert.number}")
    pdf.set_author("Work Management Institute")
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 20, 20)
    _fonts(pdf, faces)
    pdf.add_page()
    _frame(pdf)

    pdf.set_y(26)
    pdf.set_font("DejaVu", "B", 15)
    pdf.set_text_color(*BRAND)
    pdf.cell(0, 8, "WORK MANAGEMENT INSTITUTE", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 12)
    pdf.cell(0, 12, "certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    _name(pdf, name)
    if missing:
        pdf.set_font("DejaVu", "", 8)
        note = (
            f"{MISSING} marks a character this certificate cannot print; "
            "the verification page shows the name exactly."
        )
        pdf.cell(0, 5, note, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 12)
    pdf.cell(0, 12, "has earned the credential", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 20)
    pdf.multi_cell(0, 10, cert.track_title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 13)
    pdf.cell(0, 8, f"({cert.track_code})", align="C", new_x="LMARGIN", new_y="NEXT")
    _footer(pdf, cert)
    return bytes(pdf.output())


def _frame(pdf: FPDF) -> None:
    """A brand border, a gold rule inside it, and gold corner marks."""
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(2.2)
    pdf.rect(9, 9, 279, 192)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.6)
    pdf.rect(14, 14, 269, 182)
    pdf.set_fill_color(*GOLD)
    for x, y in ((14, 14), (283, 14), (14, 196), (283, 196)):
        pdf.circle(x, y, 2.2, style="F")


def _footer(pdf: FPDF, cert: CertificatePrint) -> None:
    """Details and signature line on the left, the seal in the middle, the QR code right."""
    pdf.set_xy(24, 146)
    pdf.set_font("DejaVu", "", 9.5)
    details = (
        f"Certificate number: {cert.number}\n"
        f"Issued: {cert.issued_at:%d %B %Y}\n"
        f"Valid until: {cert.expires_at:%d %B %Y}\n"
        f"Verify at: {cert.verify_url}"
    )
    if not cert.in_force:
        details += f"\nStatus: {cert.standing_label.upper()}"
    pdf.multi_cell(105, 5.5, details)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    pdf.line(24, 186, 104, 186)
    pdf.set_xy(24, 187)
    pdf.set_font("DejaVu", "", 8)
    pdf.cell(80, 4, "Registrar, Work Management Institute")
    pdf.image(io.BytesIO(badge.badge_png(cert.track_code)), x=126, y=140, w=45, h=45)
    pdf.image(_qr_png(cert.verify_url), x=236, y=145, w=36, h=36)
    pdf.set_xy(228, 182)
    pdf.set_font("DejaVu", "", 7)
    pdf.cell(52, 4, "Scan to verify", align="C")
