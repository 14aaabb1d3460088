"""The reports' figures: sums over the report rollup (app/reports/facts.py) and GROUP BY
queries over the certificates.

Every function takes the same Filters (track, first and last month) and returns plain rows
that a page tabulates and charts and a CSV download writes out as they are.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, func
from sqlmodel import Session, select

from app.credentials.models import Certificate
from app.reports.facts import SCORE_BIN, TIME_BINS
from app.reports.models import Rollup

EXPIRING = timedelta(days=90)


@dataclass(frozen=True)
class Filters:
    """track: '' for all; since / until: 'YYYY-MM' or '' (inclusive)."""

    track: str = ""
    since: str = ""
    until: str = ""

    def apply(self, query, table):
        if self.track:
            query = query.where(table.track == self.track)
        if self.since:
            query = query.where(table.month >= self.since)
        if self.until:
            query = query.where(table.month <= self.until)
        return query

    def describe(self) -> str:
        where = f"track {self.track}" if self.track else "all tracks"
        span = f" from {self.since or 'the start'} to {self.until or 'now'}"
        return where + span


def _count(condition) -> object:
    return func.sum(case((condition, 1), else_=0).cast(Integer))


def _rollup(session: Session, f: Filters, kind: str, by_month: bool = False) -> list:
    """(track, [month,] a, b, n) summed over the rollup rows of a kind."""
    R = Rollup
    keys = [R.track, R.month, R.a, R.b] if by_month else [R.track, R.a, R.b]
    query = select(*keys, func.sum(R.n)).where(R.kind == kind, R.n != 0)
    return list(session.exec(f.apply(query, R).group_by(*keys).order_by(*keys)))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def attempts_by_month(session: Session, f: Filters) -> list[dict]:
    """Per track and month: attempts (voided ones apart), passes, first attempts and their
    passes, retakes and theirs; pass decisions as now in force."""
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for track, month, first, state, n in _rollup(session, f, "attempt", by_month=True):
        cells[(track, month)][(first == "1", state)] += int(n)
    out = []
    for (track, month), c in sorted(cells.items()):
        first = c[(True, "pass")] + c[(True, "fail")]
        first_passed = c[(True, "pass")]
        retakes = c[(False, "pass")] + c[(False, "fail")]
        passed = first_passed + c[(False, "pass")]
        out.append(
            {
                "track": track,
                "month": month,
                "attempts": first + retakes,
                "passed": passed,
                "pass_rate": _rate(passed, first + retakes),
                "first": first,
                "first_passed": first_passed,
                "first_pass_rate": _rate(first_passed, first),
                "retakes": retakes,
                "retakes_passed": passed - first_passed,
                "retake_pass_rate": _rate(passed - first_passed, retakes),
                "voided": c[(True, "void")] + c[(False, "void")],
            }
        )
    return out


def score_distribution(session: Session, f: Filters) -> list[dict]:
    """Per track: how many results fall in each SCORE_BIN-point band of the scaled score."""
    cells: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for track, band, state, n in _rollup(session, f, "score"):
        cells[(track, int(band))][state] += int(n)
    return [
        {
            "track": t,
            "from": b,
            "to": b + SCORE_BIN - 1,
            "results": c["pass"] + c["fail"],
            "passed": c["pass"],
        }
        for (t, b), c in sorted(cells.items())
    ]


def domain_performance(session: Session, f: Filters) -> list[dict]:
    """Per track and domain: results whose domain interval lies below the cut, holds it
    (unclear: too few items to tell; "near" in results before 2026-12-06) or lies above it."""
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for track, domain, label, n in _rollup(session, f, "domain"):
        cells[(track, domain)]["unclear" if label == "near" else label] += int(n)
    out = []
    for (track, domain), c in sorted(cells.items()):
        n = sum(c.values())
        out.append(
            {
                "track": track,
                "domain": domain,
                "results": n,
                "below": c["below"],
                "unclear": c["unclear"],
                "above": c["above"],
                "none": c["none"],
                "below_share": _rate(c["below"], n),
            }
        )
    return out


def time_used(session: Session, f: Filters) -> list[dict]:
    """Per track: attempts by the tenth of the time allowed they used, and how many ran out."""
    cells: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for track, tenth, end, n in _rollup(session, f, "time"):
        cells[(track, int(tenth))][end] += int(n)
    return [
        {
            "track": t,
            "from_percent": k * 100 // TIME_BINS,
            "to_percent": (k + 1) * 100 // TIME_BINS,
            "attempts": c["expired"] + c["ended"],
            "time_ran_out": c["expired"],
        }
        for (t, k), c in sorted(cells.items())
    ]


def _month_of(column, dialect: str):
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def certificates_by_month(session: Session, f: Filters) -> list[dict]:
    """Per track and month of issue: certificates issued, by route (first exam, renewal by
    re-examination, renewal by CE credits)."""
    C = Certificate
    month = _month_of(C.issued_at, session.get_bind().dialect.name)
    query = select(
        C.track,
        month.label("month"),
        _count(C.route == "exam"),
        _count(C.route == "reexam"),
        _count(C.route == "ceu"),
    ).where(C.issued_at.is_not(None))
    if f.track:
        query = query.where(C.track == f.track)
    if f.since:
        query = query.where(month >= f.since)
    if f.until:
        query = query.where(month <= f.until)
    query = query.group_by(C.track, month).order_by(C.track, month)
    return [
        {
            "track": t,
            "month": m,
            "issued": e + r + c,
            "first_exam": e,
            "renewed_by_exam": r,
            "renewed_by_ceu": c,
        }
        for t, m, e, r, c in session.exec(query)
    ]


def certificate_standing(session: Session, f: Filters, *, now: datetime) -> list[dict]:
    """Per track, now: active (of which expiring within 90 days), expired, revoked, superseded,
    awaiting approval."""
    C = Certificate
    active = C.status == "active"
    query = (
        select(
            C.track,
            _count(active & (C.expires_at > now)),
            _count(active & (C.expires_at > now) & (C.expires_at <= now + EXPIRING)),
            _count(active & (C.expires_at <= now)),
            _count(C.status == "revoked"),
            _count(C.status == "superseded"),
            _count(C.status == "pending"),
        )
        .group_by(C.track)
        .order_by(C.track)
    )
    if f.track:
        query = query.where(C.track == f.track)
    keys = ("active", "expiring_90_days", "expired", "revoked", "superseded", "pending")
    return [
        {"track": row[0], **dict(zip(keys, row[1:], strict=True))} for row in session.exec(query)
    ]
