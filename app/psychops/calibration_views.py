"""What the calibration pages and API show of a run."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.core.models import Job
from app.itembank import pools
from app.psychops import calibration_review as review
from app.psychops import calibration_runs as runs
from app.psychops.models import CalibrationItem, CalibrationRun
from app.web import plots


@dataclass(frozen=True)
class Listed:
    run: CalibrationRun
    status: str
    progress: float


def listing(session: Session) -> list[Listed]:
    out = []
    for run in runs.runs(session):
        job = runs.job_of(session, run)
        out.append(Listed(run, runs.status(run, job), 0.0 if job is None else job.progress))
    return out


@dataclass(frozen=True)
class RunPage:
    run: CalibrationRun
    status: str
    job: Job | None
    items: list[CalibrationItem]
    skipped: list[CalibrationItem]
    in_force: int | None
    proposed_derived: bool
    curves: review.Curves | None
    charts: dict[str, plots.Chart]

    def allowed(self, item: CalibrationItem) -> tuple[str, ...]:
        return review.allowed(item)


def run_page(session: Session, run_id: int, *, now: datetime) -> RunPage:
    run = runs.get(session, run_id)
    job = runs.job_of(session, run)
    items = runs.items(session, run_id)
    derived = False
    if run.proposed_revision_id is not None:
        derived = pools.get(session, run.proposed_revision_id).exposure is not None
    curves = review.curves(session, run, now=now) if run.status == "done" else None
    return RunPage(
        run=run, status=runs.status(run, job), job=job, items=items,
        skipped=[i for i in items if i.outcome == "skipped"],
        in_force=pools.active_id(session, track=run.track), proposed_derived=derived,
        curves=curves, charts=_charts(items, curves),
    )  # fmt: skip


def _charts(items: list[CalibrationItem], curves: review.Curves | None) -> dict[str, plots.Chart]:
    if curves is None:
        return {}
    est = [i for i in items if i.b is not None]
    series = {}
    for label, rows in (("operational", [i for i in est if not i.pretest]),
                        ("pretest", [i for i in est if i.pretest])):  # fmt: skip
        if rows:
            series[label] = ([i.old_b for i in rows], [i.b for i in rows])
    charts = {
        "info": plots.lines(
            {"before": (curves.theta, curves.info_before),
             "after": (curves.theta, curves.info_after)},
            xlabel="ability (theta)", ylabel="pool information",
        ),
        "se": plots.lines(
            {"before": (curves.theta, curves.se_before),
             "after": (curves.theta, curves.se_after)},
            xlabel="ability (theta)", ylabel=f"SE, best {curves.length} items",
        ),
    }  # fmt: skip
    if series:
        charts["b"] = plots.scatter(series, xlabel="b in the base revision",
                                    ylabel="b estimated by this run", diagonal=True)  # fmt: skip
    return charts


def _item_json(i: CalibrationItem) -> dict:
    return {
        "item": i.code, "version": i.version_id, "pretest": i.pretest, "domain": i.domain,
        "responses": i.responses, "outcome": i.outcome, "reason": i.reason,
        "old": {"a": i.old_a, "b": i.old_b, "c": i.old_c},
        "new": None if i.a is None else {"a": i.a, "b": i.b, "c": i.c},
        "se": None if i.se_a is None else {"a": i.se_a, "b": i.se_b, "c": i.se_c},
        "fit_p": i.fit_p, "displacement": None if i.displacement_b is None else
        {"a": i.displacement_a, "b": i.displacement_b}, "decision": i.decision,
    }  # fmt: skip


def run_json(session: Session, run_id: int, *, with_items: bool = False) -> dict:
    run = runs.get(session, run_id)
    job = runs.job_of(session, run)
    out = {
        "id": run.id, "track": run.track, "model": run.model, "mode": run.mode,
        "min_responses": run.min_responses, "base_revision": run.base_revision_id,
        "status": runs.status(run, job), "progress": None if job is None else job.progress,
        "progress_note": None if job is None else job.progress_note, "error": run.error,
        "summary": run.summary, "proposed_revision": run.proposed_revision_id,
        "simulation": run.simulation,
        "activated_at": None if run.activated_at is None else run.activated_at.isoformat(),
    }  # fmt: skip
    if with_items:
        rows = runs.items(session, run_id)
        out["items"] = [_item_json(i) for i in rows]
        out["skipped"] = [{"item": i.code, "version": i.version_id, "reason": i.reason}
                          for i in rows if i.outcome == "skipped"]  # fmt: skip
    return out
