"""The printable certificate: an A4 landscape PDF (fpdf2) with a QR code (segno)."""

import importlib.util
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from fpdf import FPDF


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


def _font_dir() -> Path:
    # DejaVu Sans covers Latin, Greek and Cyrillic; matplotlib (a dependency) ships it.
    spec = importlib.util.find_spec("matplotlib")
    return Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def render(cert: CertificatePrint) -> bytes:
    """The certificate as PDF bytes."""
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(f"{cert.track_title}: {cert.number}")
    pdf.set_author("Work Management Institute")
    pdf.set_auto_page_break(False)
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_draw_color(31, 78, 121)
    pdf.set_line_width(1.5)
    pdf.rect(10, 10, 277, 190)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, 269, 182)

    pdf.set_y(30)
    pdf.set_font("DejaVu", "B", 14)
    pdf.set_text_color(31, 78, 121)
    pdf.cell(0, 8, "WORK MANAGEMENT INSTITUTE", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 12)
    pdf.cell(0, 12, "certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    for line in cert.holder_name.splitlines() or [""]:
        size = 26
        pdf.set_font("DejaVu", "B", size)
        while size > 10 and pdf.get_string_width(line) > 250:  # long names shrink to fit
            size -= 1
            pdf.set_font("DejaVu", "B", size)
        pdf.cell(0, 13, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 12)
    pdf.cell(0, 12, "has earned the credential", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 20)
    pdf.cell(0, 11, cert.track_title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 13)
    pdf.cell(0, 8, f"({cert.track_code})", align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_xy(24, 150)
    pdf.set_font("DejaVu", "", 10)
    details = (
        f"Certificate number: {cert.number}\n"
        f"Issued: {cert.issued_at:%d %B %Y}\n"
        f"Valid until: {cert.expires_at:%d %B %Y}\n"
        f"Verify at: {cert.verify_url}"
    )
    if not cert.in_force:
        details += f"\nStatus: {cert.standing_label.upper()}"
    pdf.multi_cell(200, 6, details)
    pdf.image(_qr_png(cert.verify_url), x=240, y=145, w=36, h=36)
    pdf.set_xy(232, 182)
    pdf.set_font("DejaVu", "", 7)
    pdf.cell(52, 4, "Scan to verify", align="C")
    return bytes(pdf.output())
