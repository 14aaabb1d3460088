"""Item analysis pages and API: the list of a track's items, one item's page with plots, the
CSV, and asking for a new run (a background job, app/psychops/snapshots.py)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse, Response

from app.accounts.deps import api_csrf_protect, csrf_protect, require_admin
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import InvalidInput, NotFound
from app.psychops import analysis, health, item_views, snapshots
from app.web.templating import flash, redirect, render

web = APIRouter(
    prefix="/admin/pools",
    include_in_schema=False,
    dependencies=[Depends(require_admin), Depends(csrf_protect)],
)
api = APIRouter(
    prefix="/api/v1/admin/pools",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)

TrackCode = Annotated[str, Path(max_length=8)]
VersionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TRACKS = ("CAWM", "WMP", "CWA")


def _track(code: str) -> str:
    if code.upper() not in TRACKS:
        raise InvalidInput(f"There is no track {code}; choose CAWM, WMP or CWA.")
    return code.upper()


def _state(request: Request, session, track: str) -> dict:
    """The newest analysis (its list columns only), how many attempts closed since, whether a
    run is queued."""
    snap = snapshots.latest_head(session, track=track)
    items = [] if snap is None else snapshots.listing(session, snap.id)
    n, last = snapshots.closed_attempts(session, track=track)
    pending = snapshots.job_state(session, f"item_analysis:{track}:{n}:{last}")
    return {"snap": snap, "items": items, "flagged": sum(1 for s in items if s.flags),
            "closed": n, "newer": n - (snap.attempts if snap else 0),
            "pending": pending if pending in ("queued", "running") else None}  # fmt: skip


@web.get("/{track}/analysis")
def analysis_page(request: Request, session: SessionDep, track: TrackCode):
    code = _track(track)
    state = _state(request, session, code)
    return render(
        request, "psychops/analysis.html",
        {"track": code, **state, "thresholds": analysis.THRESHOLDS, "flags": analysis.FLAGS,
         "minimum": analysis.MIN_RESPONSES, "quintiles": analysis.QUINTILES},
    )  # fmt: skip


@web.post("/{track}/analysis/run")
def analysis_run(request: Request, session: SessionDep, track: TrackCode, now: Now):
    code = _track(track)
    queued, _ = snapshots.request(session, track=code, now=now)
    flash(
        request,
        f"The {code} item analysis is queued; this page shows it once it has run."
        if queued
        else f"The {code} item analysis of these data is already queued or done.",
    )
    return redirect(f"/admin/pools/{code}/analysis")


@web.get("/{track}/analysis.csv")
def analysis_csv(session: SessionDep, track: TrackCode):
    code = _track(track)
    snap = _latest(session, code)
    return Response(
        item_views.analysis_csv(snap), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition":
                 f'attachment; filename="wmi-{code}-item-analysis-{snap.id}.csv"'},
    )  # fmt: skip


def _latest(session, code: str) -> snapshots.Snapshot:
    snap = snapshots.latest(session, track=code)
    if snap is None:
        raise NotFound(_NONE.format(code=code))
    return snap


_NONE = "{code} has no item analysis yet: run one from /admin/pools/{code}/analysis."


@web.get("/{track}/items/{version}")
def item_page(
    request: Request, session: SessionDep, track: TrackCode, version: VersionId, now: Now
):
    code = _track(track)
    snap = snapshots.latest_head(session, track=code)
    if snap is None:
        raise NotFound(_NONE.format(code=code))
    found = snapshots.item(session, snap.id, version)
    if found is None:
        raise NotFound(f"Item version {version} has no responses in the {code} item analysis "
                       f"{snap.id}.")  # fmt: skip
    stats, drawn = found
    page = item_views.item_page(snap, stats, cut=item_views.cut_of(session, code, now),
                                drawn=drawn)  # fmt: skip
    return render(
        request, "psychops/item.html",
        {"track": code, "snap": snap, "page": page, "s": page.stats,
         "thresholds": analysis.THRESHOLDS, "minimum": analysis.MIN_RESPONSES},
    )  # fmt: skip


@api.get("/{track}/analysis")
def analysis_api(session: SessionDep, track: TrackCode) -> dict:
    code = _track(track)
    snap = _latest(session, code)
    return {
        "analysis": snap.id, "track": code, "computed_at": snap.computed_at.isoformat(),
        "attempts": snap.attempts, "responses": snap.responses, "revision": snap.revision_id,
        "thresholds": analysis.THRESHOLDS, "min_responses": analysis.MIN_RESPONSES,
        "quintile_theta": snap.summary.get("quintile_theta"),
        "items": [item_views.as_json(s) for s in snap.items],
    }  # fmt: skip


@api.post("/{track}/analysis", status_code=202)
def analysis_run_api(session: SessionDep, track: TrackCode, now: Now):
    code = _track(track)
    queued, key = snapshots.request(session, track=code, now=now)
    return JSONResponse({"queued": queued, "job_key": key}, status_code=202)


@api.get("/{track}/items/{version}")
def item_api(session: SessionDep, track: TrackCode, version: VersionId) -> dict:
    code = _track(track)
    snap = _latest(session, code)
    stats = snap.by_version.get(version)
    if stats is None:
        raise NotFound(f"Item version {version} has no responses in analysis {snap.id}.")
    return {"analysis": snap.id, **item_views.as_json(stats)}


def _health(session, code: str, now: datetime, settings: Settings) -> health.Health:
    return health.health(
        session, track=code, now=now,
        min_responses=settings.calibration_min_responses,
        default_target=settings.exposure_target,
    )  # fmt: skip


@web.get("/{track}/monitoring")
def monitoring_page(
    request: Request, session: SessionDep, track: TrackCode, now: Now, settings: SettingsDep
):
    code = _track(track)
    h = _health(session, code, now, settings)
    return render(
        request, "psychops/monitoring.html", {"track": code, "h": h, "SE": health.SE_AT_CUT}
    )


@api.get("/{track}/monitoring")
def monitoring_api(session: SessionDep, track: TrackCode, now: Now, settings: SettingsDep) -> dict:
    code = _track(track)
    h = _health(session, code, now, settings)
    live = h.live
    return {
        "track": code, "revision": h.revision_id, "cut_theta": h.cut,
        "exposure": None if live is None else {
            "attempts": live.attempts, "target": live.target, "max": live.max_rate,
            "over_target": live.over_target,
            "by_band": [{"band": b, "attempts": n, "max_exposure": m} for b, n, m in live.by_band],
        },
        "overlap": h.overlap,
        "information_at_cut": [
            {"domain": d.domain, "weight": d.weight, "quota": d.quota, "items": d.items,
             "items_needed": d.items_needed, "information": d.information, "need": d.need,
             "supply": d.supply, "ratio": d.ratio, "short": d.short} for d in h.supply
        ],
        "drift": None if h.drift is None else {
            "older": h.drift.older, "newer": h.drift.newer, "common": h.drift.common,
            "changed": len(h.drift.changes), "mean_b": h.drift.mean_b, "rms_b": h.drift.rms_b,
            "large": [{"version": v, "da": da, "db": db, "dc": dc}
                      for v, da, db, dc in h.drift.large],
        },
        "flagged": [] if h.analysis is None else [
            {"version": s.version, "item": s.item, "flags": list(s.flags)}
            for s in h.analysis.flagged
        ],
        "pretest": {"min_responses": h.min_responses,
                    "items": [{"version": v, "responses": n, "ready": n >= h.min_responses}
                              for v, n in h.pretest]},
        "alerts": h.alerts,
    }  # fmt: skip


routers = (web, api)
