"""Calibration runs: estimate a track's item parameters from the platform's stored responses.

An administrator starts a run (page, API or `wmi calibrate run`) against the pool revision in
force (its base): model (2PL or 3PL), mode and the minimum responses per item. The run is a
background job (app/core/jobs.py): it reads the responses of the track's closed attempts to the
base revision's item versions, estimates (app/psychometrics/calibration.py) and stores one row
per item version (estimated, anchor or skipped with the reason). An item with fewer responses
than the minimum is never estimated: it keeps its provisional parameters. The job reports
progress per EM cycle, stops when cancelled (nothing stored), and goes back to the queue when
its process stops (it runs again from the start). Nothing here changes a pool: the review
(app/psychops/calibration_review.py) does, once an administrator activates the result.

Modes: "pretest" (fixed-parameter calibration: operational items held at their values in the
base revision, pretest items estimated on that scale; anchors' displacement reported) and
"full" (every item with enough responses estimated freely, then linked back to the base
revision's scale by Stocking-Lord over the operational items; their displacement reported)
and "free" (every item with enough responses estimated, the scale set by the candidates'
ability distribution, N(0, 1): the first calibration of a bank whose parameters are all
provisional, where there is no operational scale to hold or to link to yet).
"""

import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.core import audit, db, jobs
from app.core.clock import to_db
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.models import Job
from app.exams.models import ExamAttempt, ExamResponse
from app.itembank import pools, withdrawal
from app.psychometrics import calibration, linking
from app.psychops.models import CalibrationItem, CalibrationRun

JOB = "psychops.calibrate"
MODELS = ("2pl", "3pl")
MODES = ("pretest", "full", "free")
MIN_COMMON = 5  # operational items with enough responses that a full recalibration links on
CLOSED = ("finished", "expired")
PARTITION = 100_000  # responses read at a time
_A, _R = db.table(ExamAttempt), db.table(ExamResponse)


class CalibrationProblem(Exception):
    """The data cannot give the run a result (the message says why); the run fails."""


def start(
    session: Session, *, track: str, model: str, mode: str, min_responses: int, now: datetime,
    actor_id: int | None = None,
) -> CalibrationRun:  # fmt: skip
    """Record a run against the revision in force and queue its job. Commits."""
    track, model, mode = track.upper(), model.lower(), mode.lower()
    if model not in MODELS:
        raise InvalidInput(f"There is no model {model!r}; choose 2pl or 3pl.")
    if mode not in MODES:
        raise InvalidInput(f"There is no mode {mode!r}; choose pretest, full or free.")
    if not 1 <= min_responses <= 1_000_000:
        raise InvalidInput("The minimum responses per item must be between 1 and 1,000,000.")
    base = pools.active_id(session, track=track)
    if base is None:
        raise InvalidInput(f"{track} has no pool revision in force to calibrate against.")
    run = CalibrationRun(
        track=track, model=model, mode=mode, min_responses=min_responses, base_revision_id=base,
        job_key=f"calibration_run:{secrets.token_hex(8)}", created_at=to_db(now),
        created_by=actor_id,
    )  # fmt: skip
    session.add(run)
    session.flush()
    jobs.enqueue(session, JOB, {"run_id": run.id}, at=now, key=run.job_key)
    audit.record(
        session, action="psychops.calibration_started", at=now, actor_id=actor_id,
        subject=f"calibration_run:{run.id}",
        data={"track": track, "model": model, "mode": mode, "min_responses": min_responses,
              "base": base},
    )  # fmt: skip
    db.commit(session)
    return run


def get(session: Session, run_id: int) -> CalibrationRun:
    run = session.get(CalibrationRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"There is no calibration run {run_id}.")
    return run


def runs(session: Session, *, track: str | None = None, limit: int = 50) -> list[CalibrationRun]:
    query = select(CalibrationRun).order_by(col(CalibrationRun.id).desc()).limit(limit)
    if track:
        query = query.where(CalibrationRun.track == track.upper())
    return list(session.exec(query))


def items(session: Session, run_id: int) -> list[CalibrationItem]:
    query = select(CalibrationItem).where(CalibrationItem.run_id == run_id)
    return list(session.exec(query.order_by(CalibrationItem.code, CalibrationItem.version_id)))


def job_of(session: Session, run: CalibrationRun) -> Job | None:
    job = jobs.find(session, run.job_key)
    if job is not None:
        session.refresh(job)
    return job


def status(run: CalibrationRun, job: Job | None) -> str:
    """queued, running, done, failed or cancelled (a cancelled or dead job stored nothing)."""
    if run.status in ("done", "failed") or job is None:
        return run.status
    ended = {"cancelled": "cancelled", "dead": "failed", "done": run.status}
    return ended.get(job.status, job.status)


def cancel(session: Session, run_id: int, *, now: datetime, actor_id: int | None = None) -> Job:
    """Stop a queued or running run (a running one stops at its next EM cycle). Commits."""
    run = get(session, run_id)
    job = job_of(session, run)
    if job is None or status(run, job) not in ("queued", "running"):
        raise Conflict(f"Calibration run {run_id} has already ended; there is nothing to cancel.")
    job = jobs.cancel(session, job.id, at=now)
    audit.record(session, action="psychops.calibration_cancelled", at=now, actor_id=actor_id,
                 subject=f"calibration_run:{run_id}", data={"track": run.track})  # fmt: skip
    db.commit(session)
    return job


@dataclass(frozen=True)
class Data:
    """Responses (P, N) 1 / 0 / NaN of P attempts to the base revision's N item versions."""

    x: np.ndarray
    ignored: int  # responses to versions the base revision does not hold


def load(session: Session, *, track: str, version_ids: list[int]) -> Data:
    """The responses of the track's closed attempts to these item versions, as a matrix."""
    query = (
        sa_select(_R.c.attempt_id, _R.c.item_version_id, _R.c.correct)
        .join_from(_R, _A, _A.c.id == _R.c.attempt_id)
        .where(_A.c.track == track, _A.c.status.in_(CLOSED))
    )
    result = session.connection().execute(query)
    # each Row made a plain tuple first: numpy's conversion of a list of Rows probes every
    # Row for the array protocols (3.3 s per 100,000 rows, against 0.05 s for tuples)
    parts = [np.array(list(map(tuple, part)), dtype=np.int64).reshape(-1, 3)
             for part in result.partitions(PARTITION)]  # fmt: skip
    rows = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
    position = {v: j for j, v in enumerate(version_ids)}
    column = np.array([position.get(int(v), -1) for v in rows[:, 1]], dtype=np.int64)
    held = column >= 0
    attempts, row = np.unique(rows[held, 0], return_inverse=True)
    x = np.full((len(attempts), len(version_ids)), np.nan)
    x[row, column[held]] = rows[held, 2]
    return Data(x=x, ignored=int((~held).sum()))


@dataclass(frozen=True)
class Estimates:
    """Per item version (N,): outcome, reason and estimates (NaN where not estimated)."""

    outcome: list[str]
    reason: list[str]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    se_a: np.ndarray
    se_b: np.ndarray
    se_c: np.ndarray
    fit_p: np.ndarray
    disp_a: np.ndarray
    disp_b: np.ndarray
    summary: dict


def estimate(
    x: np.ndarray, params: list[dict], *, model: str, mode: str, min_responses: int,
    withdrawn: set[int] = frozenset(), calibrated: set[int] | None = None, progress=None,
) -> Estimates:  # fmt: skip
    """Calibrate the (P, N) responses to the items params (the base revision's, in order).

    calibrated: the base's version ids whose parameters came from a calibration. When the base
    has any, only they hold the scale (anchors of a pretest run, common items of a full run's
    link): an authored, provisional parameter is a guess, and linking to it would pull the
    scale toward the guesses. When it has none (a bank never calibrated), the authored
    parameters are the scale in force and every operational item holds it.
    """
    n_items = x.shape[1]
    n = (~np.isnan(x)).sum(axis=0)
    pretest = np.array([bool(p["pretest"]) for p in params], dtype=bool)
    gone = np.array([p["item"] in withdrawn for p in params], dtype=bool)
    scale = np.array([not calibrated or p["id"] in calibrated for p in params], dtype=bool)
    old = [np.array([float(p[k]) for p in params]) for k in ("a", "b", "c")]
    enough = (n >= min_responses) & ~gone
    out = {k: np.full(n_items, np.nan) for k in ("a", "b", "c", "se_a", "se_b", "se_c", "fit")}
    disp_a, disp_b = np.full(n_items, np.nan), np.full(n_items, np.nan)
    outcome, reason = ["skipped"] * n_items, [""] * n_items
    for j in range(n_items):
        if gone[j]:
            reason[j] = "withdrawn since the base revision was made"
        elif n[j] < min_responses:
            reason[j] = f"{n[j]} responses, fewer than the minimum of {min_responses}"
    if mode == "pretest":
        free, anchor = enough & pretest, (n > 0) & ~pretest & ~gone & scale
        if not anchor.any():
            raise CalibrationProblem(
                "No operational item that holds the scale has responses, so nothing anchors "
                "it: a pretest calibration needs responses to the calibrated operational items."
            )
    else:
        free, anchor = enough.copy(), np.zeros(n_items, bool)
        common = free & ~pretest & scale
        if mode == "full" and common.sum() < MIN_COMMON:
            held = "calibrated operational" if calibrated else "operational"
            raise CalibrationProblem(
                f"Only {int(common.sum())} {held} items have at least {min_responses} "
                f"responses; linking a full recalibration to the scale needs {MIN_COMMON}."
            )
        if mode == "free" and free.sum() < MIN_COMMON:
            raise CalibrationProblem(
                f"Only {int(free.sum())} items have at least {min_responses} responses; a "
                f"first calibration needs {MIN_COMMON} to set the scale."
            )
    used = free | anchor
    rows = (~np.isnan(x[:, used])).any(axis=1)
    xs = x if rows.all() and used.all() else x[rows][:, used]  # a copy only when needed
    anchors = None
    if anchor.any():
        held = anchor[used]
        anchors = calibration.Anchors(held, *(v[used] for v in old))
    res = calibration.calibrate(xs, model, anchors=anchors, progress=progress)
    a, b, c = res.a, res.b, res.c
    se_a, se_b = res.se_a, res.se_b
    link = None
    if mode == "full":
        common_u = common[used]
        link = linking.stocking_lord(
            tuple(v[used][common_u] for v in old), (a[common_u], b[common_u], c[common_u])
        )
        a, b, c = link.apply(a, b, c)
        se_a, se_b = se_a / link.A, se_b * link.A
        da, db_ = np.full(len(a), np.nan), np.full(len(a), np.nan)
        shown = (~pretest)[used]  # every operational item's change, linking items or not
        da[shown], db_[shown] = a[shown] - old[0][used][shown], b[shown] - old[1][used][shown]
    elif mode == "pretest":
        da, db_ = linking.displacement(xs, res)
    else:  # free: the new scale is the candidates', nothing to compare with
        da, db_ = np.full(len(a), np.nan), np.full(len(a), np.nan)
    idx = np.flatnonzero(used)
    for key, values in (("a", a), ("b", b), ("c", c), ("se_a", se_a), ("se_b", se_b),
                        ("se_c", res.se_c), ("fit", res.fit_p)):  # fmt: skip
        out[key][idx] = values
    disp_a[idx], disp_b[idx] = da, db_
    for j in idx:
        outcome[j] = "anchor" if anchor[j] else "estimated"
    summary = {
        "attempts": int(rows.sum()), "responses": int((~np.isnan(xs)).sum()),
        "estimated": int(free.sum()), "anchors": int(anchor.sum()),
        "skipped": int(n_items - used.sum()), "iterations": res.iterations, "cycles": res.cycles,
        "converged": bool(res.converged), "log_likelihood": round(float(res.log_likelihood), 3),
        "pop_mean": round(res.pop_mean, 4), "pop_sd": round(res.pop_sd, 4),
        "linking": None if link is None else {"A": round(link.A, 4), "B": round(link.B, 4),
                                              "items": int(common.sum())},
    }  # fmt: skip
    return Estimates(outcome, reason, out["a"], out["b"], out["c"], out["se_a"], out["se_b"],
                     out["se_c"], out["fit"], disp_a, disp_b, summary)  # fmt: skip


def _num(v) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 5)


def store(session: Session, run: CalibrationRun, params: list[dict], codes: dict[int, str],
          est: Estimates, n: np.ndarray) -> None:  # fmt: skip
    """One CalibrationItem per base item (helper: flushes); estimated items default to
    accept, the others to keep."""
    session.execute(delete(CalibrationItem).where(col(CalibrationItem.run_id) == run.id))
    for j, p in enumerate(params):
        session.add(CalibrationItem(
            run_id=run.id, version_id=p["id"], item_id=p["item"], code=codes.get(p["item"], "?"),
            domain=p["domain"], pretest=bool(p["pretest"]), responses=int(n[j]),
            outcome=est.outcome[j], reason=est.reason[j], old_a=p["a"], old_b=p["b"],
            old_c=p["c"], a=_num(est.a[j]), b=_num(est.b[j]), c=_num(est.c[j]),
            se_a=_num(est.se_a[j]), se_b=_num(est.se_b[j]), se_c=_num(est.se_c[j]),
            fit_p=_num(est.fit_p[j]), displacement_a=_num(est.disp_a[j]),
            displacement_b=_num(est.disp_b[j]),
            decision="accept" if est.outcome[j] == "estimated" else "keep",
        ))  # fmt: skip
    session.flush()


def _codes(session: Session, item_ids: list[int]) -> dict[int, str]:
    from app.itembank.models import Item

    rows = session.exec(select(Item.id, Item.code).where(col(Item.id).in_(item_ids))).all()
    return dict(rows)


@jobs.handler(JOB, lease_seconds=600, max_tries=3, backoff_seconds=30)
def run_job(ctx: jobs.Context) -> dict:
    """The calibration job: read, estimate, store (nothing stored unless it completes)."""
    started = time.perf_counter()
    session = ctx.session
    run = get(session, int(ctx.payload["run_id"]))
    if run.status in ("done", "failed"):
        return {"status": run.status}
    run.status = "running"
    session.add(run)
    ctx.progress(0.01, "reading the stored responses")
    base = pools.get(session, run.base_revision_id)
    params = list(base.items)
    data = load(session, track=run.track, version_ids=[p["id"] for p in params])
    gone = set(session.exec(withdrawal.withdrawn_ids()).all())
    ctx.progress(0.1, f"{data.x.shape[0]} attempts read; estimating")

    def tick(cycle: int, most: int) -> None:
        if cycle % 5 == 0:
            ctx.progress(0.1 + 0.85 * cycle / most, f"EM step {cycle}")

    try:
        est = estimate(data.x, params, model=run.model, mode=run.mode,
                       min_responses=run.min_responses, withdrawn=gone,
                       calibrated=set(base.calibrated or ()), progress=tick)  # fmt: skip
    except CalibrationProblem as exc:
        run.status, run.error, run.finished_at = "failed", str(exc), to_db(ctx.now())
        session.add(run)
        return {"status": "failed", "error": str(exc)}
    store(session, run, params, _codes(session, [p["item"] for p in params]), est,
          (~np.isnan(data.x)).sum(axis=0))  # fmt: skip
    seconds = round(time.perf_counter() - started, 2)
    run.summary = {**est.summary, "ignored": data.ignored, "seconds": seconds}
    run.status, run.finished_at = "done", to_db(ctx.now())
    session.add(run)
    audit.record(session, action="psychops.calibration_done", at=ctx.now(),
                 subject=f"calibration_run:{run.id}",
                 data={"track": run.track, "estimated": est.summary["estimated"],
                       "skipped": est.summary["skipped"]})  # fmt: skip
    return {"status": "done", **run.summary}
