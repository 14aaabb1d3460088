"""The study report as a PDF (fpdf2): panel, rounds, ratings, recommendation, impact, decision."""

import io

from fpdf import FPDF

from app.standards.views import StudyView
from app.web import plots


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
    pdf.set_font("DejaVu", "B", 8)
    for text, width in zip(header, widths, strict=True):
        pdf.cell(width, 5, text, border=1)
    pdf.ln()
    pdf.set_font("DejaVu", "", 8)
    for row in rows:
        for text, width in zip(row, widths, strict=True):
            pdf.cell(width, 5, text, border=1)
        pdf.ln()
    pdf.ln(2)


def _heading(pdf: FPDF, text: str, size: int = 12) -> None:
    pdf.set_font("DejaVu", "B", size)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)


def _round(pdf: FPDF, view: StudyView, rv) -> None:
    res = rv.result
    _heading(
        pdf,
        f"Round {res.number}: opened {rv.round.opened_at:%d %B %Y %H:%M}, closed "
        f"{rv.round.closed_at:%d %B %Y %H:%M} UTC",
    )
    names = {p.user.id: p.user.name for p in view.panel}
    text = f"{len(res.complete)} of {len(res.panelists)} panelists rated every item."
    if res.result is None:
        pdf.multi_cell(0, 5, text + " No recommendation.", new_x="LMARGIN", new_y="NEXT")
        return
    a = res.result
    text += (
        f" Recommended cut {a.raw_cut:.2f} of {a.n_items} ({a.percent_cut:.1f}%), SE "
        f"{a.se:.3f}, theta {a.theta.theta:.3f}; {res.candidates} candidates tested so far."
    )
    pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    cuts = [
        [names.get(u, str(u)), f"{c:.2f}"]
        for u, c in zip(res.complete, a.panelist_cuts, strict=True)
    ]
    _table(pdf, ["Panelist", "Cut (raw)"], cuts, [70, 30])
    impact = [
        [
            f"{r.step:+d} SE" if r.step else "cut",
            f"{r.raw:.2f}",
            f"{r.theta:.3f}",
            "-" if r.pass_rate is None else f"{100 * r.pass_rate:.1f}%",
        ]
        for r in a.impact
    ]
    _table(pdf, ["", "Raw", "Theta", "Pass rate"], impact, [25, 25, 25, 30])
    if rv.chart is not None:
        pdf.image(io.BytesIO(rv.chart.png()), w=150)
    items = [
        [
            str(i.position),
            i.code,
            _fmt(i.mean),
            _fmt(i.low, ".0f"),
            _fmt(i.high, ".0f"),
            _fmt(i.p_value, ".2f"),
            str(i.responses),
        ]
        for i in res.rows
    ]
    _table(
        pdf,
        ["#", "Item", "Mean", "Min", "Max", "p-value", "Responses"],
        items,
        [10, 35, 20, 15, 15, 20, 25],
    )


def pdf(view: StudyView) -> bytes:
    """The report of a study as PDF bytes."""
    s = view.study
    doc = FPDF(unit="mm", format="A4")
    doc.set_title(f"Standard-setting study {s.id}: {s.title}")
    doc.set_author("Work Management Institute")
    fonts = plots.font_dir()
    doc.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    doc.add_page()
    _heading(doc, f"Modified-Angoff study {s.id}: {s.title}", 15)
    doc.multi_cell(
        0,
        5,
        (
            f"Track {s.track}. {view.n_items} items rated over {s.rounds_planned} planned rounds "
            f"by a panel of {len(view.panel)} (at least {s.min_panelists} needed). Set up "
            f"{s.created_at:%d %B %Y}. Status: {s.status}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    _heading(doc, "Panel")
    _table(
        doc,
        ["Name", "E-mail", "Items rated (last round)"],
        [[p.user.name, p.user.email, str(p.rated)] for p in view.panel],
        [55, 80, 45],
    )
    for rv in view.rounds:
        _round(doc, view, rv)
    _heading(doc, "Decision")
    if s.status == "approved":
        text = (
            f"Approved {s.approved_at:%d %B %Y %H:%M} UTC: raw cut {s.approved_raw_cut:.2f}, "
            f"theta {s.approved_theta:.4f}, in force for attempts started from "
            f"{s.effective_at:%d %B %Y %H:%M} UTC. {s.decision_note}"
        )
    else:
        text = "Not approved. " + " ".join(view.problems)
    doc.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
