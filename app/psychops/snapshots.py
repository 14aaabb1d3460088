"""Item analyses as stored runs: computed by a background job, read by the pages.

At scale (hundreds of items, tens of thousands of candidates) the analysis takes tens of
seconds, so no page computes it: an administrator (or `run_now` in a command or a bench) runs
it; the result is one `item_analysis` row and one `item_analysis_item` row per item version. The
item list reads the newest analysis's list columns only (`listing`), an item page one item's row
(`item`); the CSV, the API and the monitoring read the whole analysis (`get`, cached per process
by its id: rows never change). A run covers the closed attempts up to the newest one when it
started; the pages say how many closed since. The analysis queues the job that draws every
item page's charts ahead (app/psychops/item_views.py), so no page view draws them.
"""

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from app.core import db, jobs
from app.core.clock import to_db
from app.core.errors import NotFound
from app.core.lru import LRU
from app.exams.models import ExamAttempt
from app.itembank import pools
from app.itembank.models import Item, ItemVersion
from app.psychops import analysis, loading
from app.psychops.analysis_models import ItemAnalysis, ItemAnalysisItem

KIND = "psychops.item_analysis"
CLOSED = ("finished", "expired")


@dataclass(frozen=True)
class Head:
    """A stored analysis without its items."""

    id: int
    track: str
    revision_id: int | None
    attempts: int
    responses: int
    last_attempt_id: int
    computed_at: datetime
    summary: dict


@dataclass(frozen=True)
class Snapshot(Head):
    """A stored analysis, its items parsed (treat as read-only)."""

    items: list[analysis.ItemStats]
    by_version: dict[int, analysis.ItemStats]

    @property
    def flagged(self) -> list[analysis.ItemStats]:
        return [s for s in self.items if s.flags]


@dataclass(frozen=True)
class Listed:
    """One line of the item list: the columns it shows."""

    version: int
    item: str
    pretest: bool
    n: int
    omit_rate: float
    p: float
    r_theta: float | None
    median_seconds: float
    rmsd: float | None
    sx2: float | None
    sx2_df: int | None
    sx2_p: float | None
    flags: tuple[str, ...]


LISTED = tuple(Listed.__dataclass_fields__)
CHARTS = "psychops.item_charts"


def parameters(session: Session, *, track: str) -> tuple[int | None, analysis.Params, frozenset]:
    """(revision in force, version id -> (a, b, c), calibrated version ids): the parameters in
    force, and for versions no longer in it those of the newest revision that had them."""
    in_force = pools.active(session, track=track)
    params: analysis.Params = {}
    calibrated: set[int] = set()
    ordered = pools.revisions(session, track=track)
    if in_force is not None:
        ordered = [in_force] + [r for r in ordered if r.id != in_force.id]
    for revision in ordered:
        for p in revision.items:
            if p["id"] not in params:
                params[p["id"]] = (float(p["a"]), float(p["b"]), float(p["c"]))
                if p["id"] in set(revision.calibrated or ()):
                    calibrated.add(p["id"])
    return (None if in_force is None else in_force.id), params, frozenset(calibrated)


def item_codes(session: Session, versions: list[int]) -> dict[int, str]:
    rows = session.exec(
        select(ItemVersion.id, Item.code).join(Item, Item.id == ItemVersion.item_id)
        .where(ItemVersion.id.in_(versions))  # type: ignore[attr-defined]
    ).all()  # fmt: skip
    return {int(v): str(c) for v, c in rows}


def compute(session: Session, *, track: str, now: datetime, progress=None) -> ItemAnalysis:
    """Run the analysis of a track and store it (helper: flushes; the caller commits)."""
    started = time.perf_counter()
    revision_id, params, calibrated = parameters(session, track=track)
    data = loading.load(session, track=track)
    if progress:
        progress(0.3, f"{len(data)} responses loaded")
    loaded = time.perf_counter()
    codes = item_codes(
        session, sorted({int(v) for v in set(data.version.tolist())} | set(data.omits))
    )
    stats, quintiles = analysis.analyse(data, params, codes, calibrated)
    row = ItemAnalysis(
        track=track, revision_id=revision_id, attempts=data.attempts, responses=len(data),
        last_attempt_id=int(data.attempt.max()) if len(data) else 0, computed_at=to_db(now),
        summary={"quintile_theta": quintiles, "thresholds": analysis.THRESHOLDS,
                 "min_responses": analysis.MIN_RESPONSES,
                 "load_seconds": round(loaded - started, 2),
                 "seconds": round(time.perf_counter() - started, 2)},
    )  # fmt: skip
    session.add(row)
    session.flush()
    add_items(session, int(row.id or 0), [s.to_dict() for s in stats])
    jobs.enqueue(session, CHARTS, {"analysis_id": row.id}, at=now, key=f"item_charts:{row.id}")
    return row


def add_items(session: Session, analysis_id: int, items: list[dict]) -> None:
    """Store an analysis's items (ItemStats.to_dict() each, in the list's order)."""
    if items:
        session.execute(insert(ItemAnalysisItem), [
            {**{k: d[k] for k in LISTED}, "analysis_id": analysis_id, "stats": d}
            for d in items
        ])  # fmt: skip


def run_now(session: Session, *, track: str, now: datetime) -> int:
    """Compute and commit an analysis now (commands, benches); its id."""
    row = compute(session, track=track, now=now)
    db.commit(session)
    return int(row.id or 0)


@jobs.handler(KIND, lease_seconds=900, max_tries=2, backoff_seconds=60)
def analysis_job(ctx: jobs.Context) -> dict:
    row = compute(ctx.session, track=str(ctx.payload["track"]), now=ctx.now(),
                  progress=ctx.progress)  # fmt: skip
    return {"analysis_id": row.id, "responses": row.responses}


def closed_attempts(session: Session, *, track: str) -> tuple[int, int]:
    """(closed attempts of the track, the newest one's id)."""
    n, last = session.exec(
        select(func.count(), func.max(ExamAttempt.id))
        .where(ExamAttempt.track == track, ExamAttempt.status.in_(CLOSED))  # type: ignore[attr-defined]
    ).one()  # fmt: skip
    return int(n), int(last or 0)


def request(session: Session, *, track: str, now: datetime) -> tuple[bool, str]:
    """Queue an analysis of the track's data as it is now (once per state of the data);
    (queued now, the job's key). Commits."""
    n, last = closed_attempts(session, track=track)
    key = f"item_analysis:{track}:{n}:{last}"
    queued = jobs.enqueue(session, KIND, {"track": track}, at=now, key=key)
    db.commit(session)
    return queued, key


_SNAPSHOTS: LRU[tuple[str, int], Snapshot] = LRU(8)


def latest_id(session: Session, *, track: str) -> int | None:
    return session.exec(select(func.max(ItemAnalysis.id)).where(ItemAnalysis.track == track)).one()


def latest(session: Session, *, track: str) -> Snapshot | None:
    """The newest analysis of the track (None before the first run)."""
    analysis_id = latest_id(session, track=track)
    return None if analysis_id is None else get(session, analysis_id)


def head(session: Session, analysis_id: int) -> Head:
    row = session.get(ItemAnalysis, analysis_id)
    if row is None:
        raise NotFound(f"There is no item analysis {analysis_id}.")
    return Head(
        id=analysis_id, track=row.track, revision_id=row.revision_id, attempts=row.attempts,
        responses=row.responses, last_attempt_id=row.last_attempt_id,
        computed_at=row.computed_at, summary=dict(row.summary),
    )  # fmt: skip


def latest_head(session: Session, *, track: str) -> Head | None:
    analysis_id = latest_id(session, track=track)
    return None if analysis_id is None else head(session, analysis_id)


def get(session: Session, analysis_id: int) -> Snapshot:
    key = (db.cache_scope(session), analysis_id)
    hit = _SNAPSHOTS.get(key)
    if hit is not None:
        return hit
    top = head(session, analysis_id)
    query = select(ItemAnalysisItem.stats).where(ItemAnalysisItem.analysis_id == analysis_id)
    items = [analysis.ItemStats.from_dict(d)
             for d in session.exec(query.order_by(ItemAnalysisItem.id))]  # fmt: skip
    snap = Snapshot(**top.__dict__, items=items, by_version={s.version: s for s in items})
    return _SNAPSHOTS.put(key, snap)


def listing(session: Session, analysis_id: int) -> list[Listed]:
    """The item list's columns of every item of the analysis, in the analysis's order."""
    columns = [getattr(ItemAnalysisItem, k) for k in LISTED]
    query = select(*columns).where(ItemAnalysisItem.analysis_id == analysis_id)
    rows = session.exec(query.order_by(ItemAnalysisItem.id))
    return [Listed(**{**dict(zip(LISTED, r, strict=True)), "flags": tuple(r[-1])}) for r in rows]


def item(
    session: Session, analysis_id: int, version: int
) -> tuple[analysis.ItemStats, dict | None] | None:
    """One item version's statistics in the analysis and its charts drawn ahead (None if not
    yet drawn); None if the analysis has no such item."""
    row = session.exec(
        select(ItemAnalysisItem.stats, ItemAnalysisItem.charts).where(
            ItemAnalysisItem.analysis_id == analysis_id, ItemAnalysisItem.version == version
        )
    ).first()  # fmt: skip
    return None if row is None else (analysis.ItemStats.from_dict(row[0]), row[1])


def undrawn(session: Session, analysis_id: int) -> list[int]:
    """The ids of the analysis's item rows whose charts are not drawn yet."""
    query = select(ItemAnalysisItem.id).where(
        ItemAnalysisItem.analysis_id == analysis_id, col(ItemAnalysisItem.charts).is_(None)
    )
    return list(session.exec(query.order_by(ItemAnalysisItem.id)))


def stats_of(session: Session, row_id: int) -> analysis.ItemStats:
    row = session.get(ItemAnalysisItem, row_id)
    if row is None:
        raise NotFound(f"There is no item analysis row {row_id}.")
    return analysis.ItemStats.from_dict(row.stats)


def store_charts(session: Session, row_id: int, charts: dict) -> None:
    """Keep an item row's drawn charts (helper: flushes)."""
    session.execute(
        update(ItemAnalysisItem).where(col(ItemAnalysisItem.id) == row_id).values(charts=charts)
    )
    session.flush()


def job_state(session: Session, key: str) -> str | None:
    """The status of the analysis job with this key (None if there is none)."""
    job = jobs.find(session, key)
    return None if job is None else job.status


def item_flags(session: Session, track: str | None) -> dict[str, tuple[str, ...]]:
    """The flags of each flagged item in the newest analysis of its track (of every track when
    `track` is None), by item code: those of the item's newest analysed version (the
    workbench's list filter, app.itembank.flags)."""
    tracks = [track] if track else session.exec(select(ItemAnalysis.track).distinct()).all()
    out: dict[str, tuple[str, ...]] = {}
    for t in tracks:
        analysis_id = latest_id(session, track=t)
        newest: dict[str, Listed] = {}
        for s in listing(session, analysis_id) if analysis_id else ():
            if s.item not in newest or s.version > newest[s.item].version:
                newest[s.item] = s
        out.update({code: s.flags for code, s in newest.items() if s.flags})
    return out
