"""Reviewing a calibration run and putting its result in service.

1. Decisions per item (`decide`): accept the new estimates, keep the provisional parameters,
   retire the item, or promote a pretest item to operational (with its new estimates).
2. `propose`: the pool revision the decisions make, on top of the run's base (which must still
   be in force), created by app/itembank/pools.py (which queues its exposure derivation); a
   review job derives its exposure control and simulates it beside the base revision with the
   parts an attempt would freeze (app/exams/exposure.revision_parts, the function `wmi simulate
   --revision` uses), so the comparison is of what candidates would get.
3. `activate`: pools.activate against the run's base: one conditional write, so of two
   administrators activating at once one wins and the other gets 409 naming the revision in
   force; attempts already started keep the revision they froze.
"""

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import update
from sqlmodel import Session, col

from app.core import audit, db, jobs
from app.core.clock import to_db
from app.core.errors import AppError, Conflict, InvalidInput
from app.exams import engine_bridge as bridge
from app.exams import exposure
from app.itembank import pools
from app.psychometrics import engine, irt, metrics, simulation
from app.psychops import calibration_runs as runs
from app.psychops.models import CalibrationItem, CalibrationRun

REVIEW_JOB = "psychops.calibration_review"


class AlreadyActivated(Conflict):
    """Another administrator put this run in force a moment earlier."""

    code = "calibration_run_activated"


DECISIONS = ("accept", "keep", "retire", "promote")


def allowed(item: CalibrationItem) -> tuple[str, ...]:
    """The decisions open to an item: new estimates only where the run made some."""
    if item.outcome != "estimated":
        return ("keep", "retire")
    return DECISIONS if item.pretest else ("accept", "keep", "retire")


def decide(session: Session, run_id: int, decisions: dict[int, str], *, now: datetime,
           actor_id: int | None = None) -> int:  # fmt: skip
    """Record decisions (version id -> decision) on a finished, not yet activated run; every
    refusal names the item. Returns how many changed. Commits."""
    run = _finished(session, run_id)
    if run.activated_at is not None:
        raise InvalidInput(f"Calibration run {run_id} is already in force; start a new run.")
    rows = {i.version_id: i for i in runs.items(session, run_id)}
    problems, changed = [], 0
    for version, choice in decisions.items():
        item = rows.get(version)
        if item is None:
            problems.append(f"item version {version} is not part of run {run_id}")
        elif choice not in allowed(item):
            problems.append(f"{item.code}: {choice!r} is not open to it "
                            f"(choose {', '.join(allowed(item))})")  # fmt: skip
        elif item.decision != choice:
            item.decision, changed = choice, changed + 1
            session.add(item)
    if problems:
        db.rollback(session)
        raise InvalidInput("; ".join(problems) + ".")
    audit.record(session, action="psychops.calibration_decisions", at=now, actor_id=actor_id,
                 subject=f"calibration_run:{run_id}", data={"changed": changed})  # fmt: skip
    db.commit(session)
    return changed


def _finished(session: Session, run_id: int) -> CalibrationRun:
    run = runs.get(session, run_id)
    if run.status != "done":
        raise InvalidInput(f"Calibration run {run_id} has no result to review "
                           f"({runs.status(run, runs.job_of(session, run))}).")  # fmt: skip
    return run


def proposed_items(base: list[dict], rows: list[CalibrationItem]) -> tuple[list[dict], list[int]]:
    """The revision's items (base order) under the decisions, and the versions they set."""
    by_version = {r.version_id: r for r in rows}
    out, set_ids = [], []
    for p in base:
        row = by_version.get(p["id"])
        if row is None or row.decision == "keep":
            out.append(dict(p))
        elif row.decision in ("accept", "promote"):
            new = {**p, "a": row.a, "b": row.b, "c": row.c}
            if row.decision == "promote":
                new["pretest"] = False
            out.append(new)
            set_ids.append(p["id"])
    return out, set_ids


def _base_in_force(session: Session, run: CalibrationRun) -> None:
    current = pools.active_id(session, track=run.track)
    if current != run.base_revision_id:
        raise pools.StaleRevision(
            f"The {run.track} pool changed since calibration run {run.id} started: revision "
            f"{current} is now in force, not {run.base_revision_id}. Start a new run."
        )


def propose(session: Session, run_id: int, *, now: datetime, actor_id: int | None = None
            ) -> CalibrationRun:  # fmt: skip
    """Create the pool revision the decisions make and queue its review simulation. Commits."""
    run = _finished(session, run_id)
    _base_in_force(session, run)
    base = pools.get(session, run.base_revision_id)
    items, set_ids = proposed_items(list(base.items), runs.items(session, run_id))
    retired = {p["id"] for p in base.items} - {p["id"] for p in items}
    calibrated = sorted((set(base.calibrated) - retired) | set(set_ids))
    withheld = sorted(set(base.withheld or ()) | retired)
    revision = pools.create_revision(
        session, track=run.track, items=items, calibrated=calibrated,
        source=f"calibration run {run.id}", now=now, actor_id=actor_id, withheld=withheld,
    )  # fmt: skip
    run.proposed_revision_id, run.simulation = revision.id, None
    session.add(run)
    jobs.enqueue(session, REVIEW_JOB, {"run_id": run.id, "revision_id": revision.id}, at=now,
                 key=f"{run.job_key}:review:{revision.id}")  # fmt: skip
    audit.record(session, action="psychops.calibration_proposed", at=now, actor_id=actor_id,
                 subject=f"calibration_run:{run.id}",
                 data={"revision": revision.id, "base": run.base_revision_id,
                       "set": len(set_ids), "retired": len(retired)})  # fmt: skip
    db.commit(session)
    return run


def activate(session: Session, run_id: int, *, now: datetime, actor_id: int | None = None
             ) -> CalibrationRun:  # fmt: skip
    """Put the run's proposed revision in force if the base is still in force (else 409 with
    the revision now in force); audited. Commits."""
    run = runs.get(session, run_id)
    if run.proposed_revision_id is None:
        raise InvalidInput(f"Calibration run {run_id} has no proposed revision yet; review "
                           "its items and propose one first.")  # fmt: skip
    db.commit(session)  # the claim below is the first statement of its transaction: it reads fresh
    claimed = session.execute(
        update(CalibrationRun)
        .where(col(CalibrationRun.id) == run_id, col(CalibrationRun.activated_at).is_(None))
        .values(activated_at=to_db(now), activated_by=actor_id)
    )  # fmt: skip
    if not db.rowcount(claimed):
        db.rollback(session)
        raise AlreadyActivated(f"Calibration run {run_id} was already put in force; nothing "
                               "changed.")  # fmt: skip
    try:  # the claim commits with the activation's conditional write, or not at all
        pools.activate(session, revision_id=run.proposed_revision_id, now=now,
                       actor_id=actor_id, base_revision_id=run.base_revision_id)  # fmt: skip
    except AppError:
        db.rollback(session)
        raise
    run = runs.get(session, run_id)
    audit.record(session, action="psychops.calibration_activated", at=now, actor_id=actor_id,
                 subject=f"calibration_run:{run.id}",
                 data={"revision": run.proposed_revision_id})  # fmt: skip
    db.commit(session)
    return run


def design_row(run: simulation.CatRun, pool: engine.ItemPool, policy: engine.CatPolicy) -> dict:
    """What a simulation of a revision measured (as `wmi simulate`'s CAT row)."""
    lookup = {d: i for i, (d, _) in enumerate(policy.blueprint)}
    codes = np.array([lookup.get(d, -1) for d in pool.domain])
    weights = np.array([w for _, w in policy.blueprint])
    cls = metrics.classification(run.theta_true, run.passed, policy.cut_theta)
    exp = metrics.exposure(run.items, len(pool.ids))
    dev = metrics.blueprint_deviation(run.items, codes, weights) if policy.blueprint else None
    return {
        "accuracy": round(float(cls["accuracy"]), 4),
        "mean_length": round(float(run.length.mean()), 2),
        "rmse": round(float(np.sqrt(np.mean((run.theta_hat - run.theta_true) ** 2))), 4),
        "max_exposure": round(float(exp["max_exposure"]), 4),
        "blueprint_dev_pp": None if dev is None else round(100 * dev["mean_abs_deviation"], 2),
    }


def simulate_revision(session: Session, revision_id: int, *, n: int, seed: int,
                      now: datetime) -> dict:  # fmt: skip
    """Simulate n candidates, theta ~ N(0, 1), on a derived revision with the policy and items
    an attempt starting now would freeze (exposure.revision_parts)."""
    parts = exposure.revision_parts(session, revision_id=revision_id, now=now)
    pool = bridge.item_pool(parts.items)
    thetas = np.random.default_rng([seed, 0x7E]).normal(0.0, 1.0, n)
    sim = simulation.simulate_cat(parts.cat_policy, pool, thetas, seed)
    return {"revision": revision_id, "policy_digest": exposure.policy_digest(parts.cat_policy),
            **design_row(sim, pool, parts.cat_policy)}  # fmt: skip


@jobs.handler(REVIEW_JOB, lease_seconds=900, max_tries=3, backoff_seconds=30)
def review_job(ctx: jobs.Context) -> dict:
    """Derive the proposed revision's exposure control, then simulate it and the base."""
    session, settings = ctx.session, ctx.settings
    run = runs.get(session, int(ctx.payload["run_id"]))
    revision_id = int(ctx.payload["revision_id"])
    exposure.derive(session, revision_id=revision_id, settings=settings, now=ctx.now(),
                    progress=lambda f, note: ctx.progress(0.5 * f, note))  # fmt: skip
    ctx.progress(0.5, "simulating the base and the proposed revision")
    n, seed = settings.calibration_review_examinees, settings.exposure_seed
    result = {"examinees": n, "seed": seed}
    for label, rid in (("base", run.base_revision_id), ("proposed", revision_id)):
        result[label] = simulate_revision(session, rid, n=n, seed=seed, now=ctx.now())
        ctx.progress(0.75 if label == "base" else 0.99, f"{label} revision simulated")
    run = runs.get(session, run.id)
    if run.proposed_revision_id == revision_id:
        run.simulation = result
        session.add(run)
    return result


@dataclass(frozen=True)
class Curves:
    """Information of the operational items and the SE of the best max-length test, by theta,
    for the base revision and the proposed one."""

    theta: list[float]
    info_before: list[float]
    info_after: list[float]
    se_before: list[float]
    se_after: list[float]
    length: int


def _curve(items: list[dict], theta: np.ndarray, length: int) -> tuple[list[float], list[float]]:
    ops = [p for p in items if not p["pretest"]]
    if not ops:
        return [0.0] * len(theta), [float("inf")] * len(theta)
    a, b, c = (np.array([p[k] for p in ops], dtype=float) for k in ("a", "b", "c"))
    info = irt.information(theta, a, b, c)  # (T, N)
    best = -np.sort(-info, axis=1)[:, :length].sum(axis=1)
    return [round(float(v), 3) for v in info.sum(axis=1)], [
        round(float(1 / np.sqrt(v)), 4) for v in best
    ]


def curves(session: Session, run: CalibrationRun, *, now: datetime) -> Curves:
    base = pools.get(session, run.base_revision_id)
    after, _ = proposed_items(list(base.items), runs.items(session, run.id))
    policy = exposure.attempt_policy(session, track=run.track, now=now)
    length = int(policy["exam"]["max_items"])
    theta = np.round(np.linspace(-3.0, 3.0, 25), 2)
    ib, sb = _curve(list(base.items), theta, length)
    ia, sa = _curve(after, theta, length)
    return Curves([float(t) for t in theta], ib, ia, sb, sa, length)
