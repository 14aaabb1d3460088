"""What the item analysis pages show: the list of a track's items and one item's page with its
plots (matplotlib SVG through app/web/plots.py, each beside a table with the same numbers).

Drawing an item's three charts costs 100-300 ms of CPU, so the charts job draws every item's
ahead, once per analysis, at the cut in force then, and keeps them with the item's row; an item
page shows the kept charts, and draws its own only when they are not drawn yet or the cut has
changed since.
"""

import csv
import io
import math
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session

from app.core import jobs
from app.courses import service as courses
from app.psychometrics import irt
from app.psychops import analysis, snapshots
from app.psychops.snapshots import Head, Snapshot
from app.web import plots

GRID = np.round(np.linspace(-4.0, 4.0, 81), 2)
TABLE_THETAS = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
Z95 = 1.959964


def wilson(share: float, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion observed in n trials."""
    if n <= 0:
        return 0.0, 1.0
    z2 = Z95 * Z95
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class IccRow:
    theta: float
    n: int
    observed: float
    low: float
    high: float
    model: float | None


@dataclass(frozen=True)
class ItemPage:
    """An item's statistics, the numbers of its three plots and the plots."""

    stats: analysis.ItemStats
    abc: tuple[float, float, float] | None
    cut: float
    icc: list[IccRow]
    options: list[str]
    quintiles: list[tuple[str, float]]
    information: list[tuple[float, float]]
    icc_chart: plots.Chart | plots.Drawn
    option_chart: plots.Chart | plots.Drawn | None
    information_chart: plots.Chart | plots.Drawn | None
    drawn_ahead: bool = False

    def charts(self, *, cut: float) -> dict:
        """The SVG data: URIs of the three charts (drawing them if needed), to keep."""
        uri = {k: None if c is None else c.uri for k, c in (
            ("icc", self.icc_chart), ("options", self.option_chart),
            ("information", self.information_chart))}  # fmt: skip
        return {"cut": cut, **uri}


def _arrays(abc) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array([abc[0]]), np.array([abc[1]]), np.array([abc[2]])


def item_page(
    head: Head, stats: analysis.ItemStats, *, cut: float, drawn: dict | None = None
) -> ItemPage:
    """An item's page; its charts those drawn ahead when they were drawn at this cut."""
    abc = None if stats.abc is None else tuple(float(x) for x in stats.abc)
    model = None if abc is None else irt.probability(GRID, *_arrays(abc))[:, 0]
    rows = []
    for theta, n, observed in stats.icc:
        low, high = wilson(observed, n)
        at = None if abc is None else float(irt.probability(theta, *_arrays(abc))[0])
        rows.append(IccRow(theta, n, observed, low, high, at))
    icc_chart = plots.curve_with_points(
        (GRID, model if model is not None else np.full(len(GRID), np.nan)),
        [(r.theta, r.observed, r.low, r.high) for r in rows],
        xlabel="ability (theta, logits)", ylabel="share correct", marks=[(cut, "cut")],
    )  # fmt: skip
    means = head.summary.get("quintile_theta", [])
    quintiles = [(name, t) for name, t in zip(analysis.QUINTILES, means, strict=False)
                 if t is not None]  # fmt: skip
    options = sorted({o for shares in stats.choice.values() for o in shares})
    option_chart = None
    if options and quintiles:
        series = {
            (f"{o} (key)" if o == stats.key else o): (
                [t for _, t in quintiles],
                [stats.choice.get(name, {}).get(o, 0.0) for name, _ in quintiles],
            )
            for o in options
        }
        option_chart = plots.lines(series, xlabel="ability quintile (mean final theta)",
                                   ylabel="share choosing", ylim=(0, 1))  # fmt: skip
    information, information_chart = [], None
    if abc is not None:
        info = irt.information(GRID, *_arrays(abc))[:, 0]
        information = [(t, float(info[int(np.argmin(np.abs(GRID - t)))])) for t in TABLE_THETAS]
        information_chart = plots.lines(
            {"information": (GRID, info)}, xlabel="ability (theta, logits)",
            ylabel="item information", marks=[(cut, "cut")],
        )  # fmt: skip
    if drawn is not None and drawn.get("cut") == cut:
        kept = {k: None if drawn.get(k) is None else plots.Drawn(drawn[k])
                for k in ("icc", "options", "information")}  # fmt: skip
        return ItemPage(stats, abc, cut, rows, options, quintiles, information,
                        kept["icc"] or icc_chart, kept["options"], kept["information"],
                        drawn_ahead=True)  # fmt: skip
    return ItemPage(stats, abc, cut, rows, options, quintiles, information, icc_chart,
                    option_chart, information_chart)  # fmt: skip


def cut_of(session: Session, track: str, now) -> float:
    """The cut in force for the track (the charts mark it)."""
    return courses.cut_in_force(session, track=courses.get_track(session, track), now=now).theta


CHART_BATCH = 25  # items drawn between commits (and progress reports)


@jobs.handler(snapshots.CHARTS, lease_seconds=600, max_tries=3, backoff_seconds=60)
def charts_job(ctx: jobs.Context) -> dict:
    """Draw the item pages' charts of an analysis ahead, at the cut in force now, and keep
    them with its items; committed every CHART_BATCH items, so a restart resumes where it
    stopped."""
    session = ctx.session
    head = snapshots.head(session, int(ctx.payload["analysis_id"]))
    cut = cut_of(session, head.track, ctx.now())
    todo = snapshots.undrawn(session, head.id)
    for k, row_id in enumerate(todo, start=1):
        ctx.check()
        stats = snapshots.stats_of(session, row_id)
        snapshots.store_charts(session, row_id, item_page(head, stats, cut=cut).charts(cut=cut))
        if k % CHART_BATCH == 0 or k == len(todo):
            ctx.progress(k / len(todo), f"{k} of {len(todo)} items drawn")
    return {"analysis_id": head.id, "drawn": len(todo), "cut": cut}


CSV_COLUMNS = ("item", "version", "pretest", "n", "omits", "omit_rate", "p", "r_theta",
               "median_seconds", "rmsd", "sx2", "sx2_df", "sx2_p", "a", "b", "c", "key",
               *(f"choice_{q}" for q in ("q1", "q2", "q3", "q4", "q5")), "flags")  # fmt: skip


def _num(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def analysis_csv(snapshot: Snapshot) -> str:
    """The item statistics as CSV (one line per item version); option choice per quintile as
    'A=0.25;B=0.75'."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in snapshot.items:
        abc = s.abc or (None, None, None)
        choice = [";".join(f"{k}={v:.4f}" for k, v in sorted(s.choice.get(q, {}).items()))
                  for q in analysis.QUINTILES]  # fmt: skip
        writer.writerow([
            s.item, s.version, s.pretest, s.n, s.omits, _num(s.omit_rate), _num(s.p),
            _num(s.r_theta), f"{s.median_seconds:.1f}", _num(s.rmsd), _num(s.sx2, 3),
            "" if s.sx2_df is None else s.sx2_df, "" if s.sx2_p is None else f"{s.sx2_p:.4g}",
            *(_num(x) for x in abc), s.key or "", *choice, "; ".join(s.flags),
        ])  # fmt: skip
    return out.getvalue()


def as_json(s: analysis.ItemStats) -> dict:
    """One item's statistics for the API."""
    return s.to_dict()
