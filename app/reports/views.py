"""Each report as a page: its tables (also its CSV) and charts with their text alternatives."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from app.core.errors import NotFound
from app.reports import facts, queries
from app.reports.queries import Filters
from app.web import plots


@dataclass(frozen=True)
class Table:
    caption: str
    columns: list[tuple[str, str]]  # (key, heading)
    rows: list[dict]


@dataclass(frozen=True)
class Figure:
    chart: plots.Chart
    alt: str


@dataclass
class Report:
    name: str
    title: str
    about: str
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    pending: int = 0  # attempts whose facts are still being written (a job)


def _pct(value) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _attempts(session: Session, f: Filters, report: Report) -> None:
    rows = queries.attempts_by_month(session, f)
    months = sorted({r["month"] for r in rows})
    per_track: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(months))
    for r in rows:
        per_track[r["track"]][months.index(r["month"])] = r["attempts"]
    if months:
        report.figures.append(
            Figure(
                plots.bars(
                    months, dict(per_track), xlabel="month", ylabel="attempts", stacked=True
                ),
                "Attempts per month, stacked by track; the table gives the numbers.",
            )
        )
    shown = [
        {
            **r,
            "pass_rate": _pct(r["pass_rate"]),
            "first_pass_rate": _pct(r["first_pass_rate"]),
            "retake_pass_rate": _pct(r["retake_pass_rate"]),
        }
        for r in rows
    ]
    report.tables.append(
        Table(
            "Attempts and pass rates per track and month (decisions in force)",
            [
                ("track", "Track"),
                ("month", "Month"),
                ("attempts", "Attempts"),
                ("passed", "Passed"),
                ("pass_rate", "Pass rate"),
                ("first", "First attempts"),
                ("first_pass_rate", "First-attempt pass rate"),
                ("retakes", "Retakes"),
                ("retake_pass_rate", "Retake pass rate"),
                ("voided", "Voided"),
            ],
            shown,
        )
    )


def _scores(session: Session, f: Filters, report: Report) -> None:
    rows = queries.score_distribution(session, f)
    series: dict[str, dict[int, int]] = defaultdict(dict)
    for r in rows:
        series[r["track"]][r["from"]] = r["results"]
    if rows:
        low, high = min(r["from"] for r in rows), max(r["from"] for r in rows) + queries.SCORE_BIN
        edges = list(range(low, high + 1, queries.SCORE_BIN))
        counts = {t: [s.get(e, 0) for e in edges[:-1]] for t, s in series.items()}
        report.figures.append(
            Figure(
                plots.histogram(edges, counts, xlabel="scaled score", ylabel="results"),
                "Distribution of scaled scores per track in bands of 20 points; see the table.",
            )
        )
    report.tables.append(
        Table(
            "Scaled scores in bands of 20 points",
            [
                ("track", "Track"),
                ("from", "From"),
                ("to", "To"),
                ("results", "Results"),
                ("passed", "Of which passed"),
            ],
            rows,
        )
    )


def _domains(session: Session, f: Filters, report: Report) -> None:
    rows = queries.domain_performance(session, f)
    labels = [f"{r['track']} {r['domain']}" for r in rows]
    if rows:
        shares = {
            k: [r[k] / r["results"] if r["results"] else 0 for r in rows]
            for k in ("below", "unclear", "above")
        }
        report.figures.append(
            Figure(
                plots.bars(labels, shares, xlabel="track and domain", ylabel="share", stacked=True),
                "Share of results below the cut, unclear and above it, per domain; see the table.",
            )
        )
    shown = [{**r, "below_share": _pct(r["below_share"])} for r in rows]
    report.tables.append(
        Table(
            "Domain performance",
            [
                ("track", "Track"),
                ("domain", "Domain"),
                ("results", "Results"),
                ("below", "Below"),
                ("unclear", "Unclear (too few items)"),
                ("above", "Above"),
                ("none", "No items"),
                ("below_share", "Share below"),
            ],
            shown,
        )
    )


def _time(session: Session, f: Filters, report: Report) -> None:
    rows = queries.time_used(session, f)
    series: dict[str, list[int]] = defaultdict(lambda: [0] * queries.TIME_BINS)
    for r in rows:
        series[r["track"]][r["from_percent"] * queries.TIME_BINS // 100] = r["attempts"]
    if rows:
        edges = [k * 100 / queries.TIME_BINS for k in range(queries.TIME_BINS + 1)]
        report.figures.append(
            Figure(
                plots.histogram(
                    edges,
                    dict(series),
                    xlabel="percent of the time allowed used",
                    ylabel="attempts",
                ),
                "Attempts by the share of their time they used, per track; see the table.",
            )
        )
    report.tables.append(
        Table(
            "Time used (share of the time allowed, accommodations included)",
            [
                ("track", "Track"),
                ("from_percent", "From %"),
                ("to_percent", "To %"),
                ("attempts", "Attempts"),
                ("time_ran_out", "Time ran out"),
            ],
            rows,
        )
    )


def _certificates(session: Session, f: Filters, report: Report, now: datetime) -> None:
    rows = queries.certificates_by_month(session, f)
    months = sorted({r["month"] for r in rows})
    if months:
        by_route = {
            k: [sum(r[k] for r in rows if r["month"] == m) for m in months]
            for k in ("first_exam", "renewed_by_exam", "renewed_by_ceu")
        }
        report.figures.append(
            Figure(
                plots.bars(
                    months, by_route, xlabel="month issued", ylabel="certificates", stacked=True
                ),
                "Certificates issued per month by route; see the table.",
            )
        )
    report.tables.append(
        Table(
            "Certificates in force now",
            [
                ("track", "Track"),
                ("active", "Active"),
                ("expiring_90_days", "Expiring within 90 days"),
                ("expired", "Expired"),
                ("revoked", "Revoked"),
                ("superseded", "Superseded"),
                ("pending", "Awaiting approval"),
            ],
            queries.certificate_standing(session, f, now=now),
        )
    )
    report.tables.append(
        Table(
            "Certificates issued per month: first exam and renewals",
            [
                ("track", "Track"),
                ("month", "Month"),
                ("issued", "Issued"),
                ("first_exam", "First exam"),
                ("renewed_by_exam", "Renewed by re-examination"),
                ("renewed_by_ceu", "Renewed by CE credits"),
            ],
            rows,
        )
    )


REPORTS = {
    "attempts": ("Attempts and pass rates", "Per track and month, first attempts against retakes."),
    "scores": ("Scaled-score distributions", "How results spread over the reported scale."),
    "domains": ("Domain performance", "Below, unclear and above the cut in each blueprint domain."),
    "time": ("Time used", "How much of the time allowed candidates used."),
    "certificates": ("Certificates", "Issued, active, expiring and revoked; renewals by route."),
}


def build(session: Session, name: str, f: Filters, *, now: datetime, charts: bool = True) -> Report:
    """A report by name, with its facts brought up to date first (or left to the job)."""
    if name not in REPORTS:
        raise NotFound(f"There is no report '{name}'.")
    report = Report(name, *REPORTS[name])
    if name != "certificates":
        report.pending = facts.bring_up_to_date(session, now=now)
    builder = {"attempts": _attempts, "scores": _scores, "domains": _domains, "time": _time}
    if name == "certificates":
        _certificates(session, f, report, now)
    else:
        builder[name](session, f, report)
    if not charts:
        report.figures.clear()
    return report


def to_csv(report: Report) -> str:
    """Every table of the report, one after the other, each with its header row."""
    out = io.StringIO()
    writer = csv.writer(out)
    for k, table in enumerate(report.tables):
        if k:
            writer.writerow([])
        writer.writerow([heading for _key, heading in table.columns])
        for row in table.rows:
            writer.writerow([row.get(key, "") for key, _heading in table.columns])
    return out.getvalue()
