"""Exposure control per pool revision: derived by simulation, stored, frozen into attempts.

The policy a revision's exposure parameters are derived for, the policy `wmi simulate
--revision N` evaluates and the policy a candidate starting on revision N gets are built by
the same function here (`revision_parts`), so the three are one
value (tests/exams/test_exposure.py asserts it). The derivation itself is the engine's
(`simulation.derive_exposure`, for the design `design_of` builds from the settings: caps
overall and per band of theta, the rates K aims at, the simulation's size; the same object
bench/bench_sequential_oracle.py evaluates); its result is stored as the CatPolicy fields it
sets and never interpreted here.
"""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from sqlmodel import Session

from app.core import jobs
from app.courses import service as courses
from app.exams import engine_bridge as bridge
from app.itembank import pools
from app.psychometrics import engine, simulation


def design_of(settings) -> simulation.ExposureDesign:
    """The exposure design pool revisions are derived for, from the WMI_EXPOSURE_* settings
    (whose defaults are simulation.ExposureDesign's; a band target of 0 turns the
    conditional control off)."""
    band = settings.exposure_band_target or None
    return simulation.ExposureDesign(
        cap=settings.exposure_target,
        aim=round(settings.exposure_target - settings.exposure_margin, 6),
        band_cap=band,
        band_aim=None if band is None else round(band - settings.exposure_band_margin, 6),
        examinees=settings.exposure_examinees, iterations=settings.exposure_iterations,
        stage_at=settings.exposure_stage_at if band is not None else 0,
    )  # fmt: skip


def attempt_policy(session: Session, *, track: str, now: datetime) -> dict:
    """The policy an attempt starting now freezes (the track's, with the cut in force)."""
    row = courses.get_track(session, track)
    policy = bridge.freeze_policy(row.policy)
    cut = courses.cut_in_force(session, track=row, now=now)  # an approved standard, if any
    policy["exam"]["cut_theta"], policy["cut"] = cut.theta, cut.to_dict()
    return policy


@dataclass(frozen=True)
class Parts:
    """What an attempt starting now on a revision freezes: the policy (stored form and engine
    value, exposure control applied) and the items it may be given."""

    revision_id: int
    track: str
    policy: dict
    cat_policy: engine.CatPolicy
    items: list[dict]


def revision_parts(session: Session, *, revision_id: int, now: datetime) -> Parts:
    """The parts of a derived revision for an attempt starting now (also what `wmi simulate
    --revision` evaluates); items withdrawn since the revision was made are left out."""
    revision = pools.derived(session, revision_id)
    policy = attempt_policy(session, track=revision.track, now=now)
    policy["pool_revision"] = revision.id
    live = bridge.cat_policy(policy, revision.exposure)
    return Parts(revision.id, revision.track, policy, live, pools.deliverable(session, revision))


def start_parts(session: Session, *, track: str, now: datetime) -> Parts | None:
    """The parts of the revision in force for track, or None while it has none."""
    revision_id = pools.active_id(session, track=track)
    if revision_id is None:
        return None
    return revision_parts(session, revision_id=revision_id, now=now)


def policy_digest(policy: engine.CatPolicy) -> str:
    """A short content address of an engine policy (printed by `wmi simulate --revision`)."""
    text = json.dumps(policy.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def exposure_rates(items: list[np.ndarray], n_items: int) -> np.ndarray:
    """(N,) share of attempts that were given each item (items: scored indices per attempt)."""
    counts = np.zeros(n_items)
    for idx in items:
        counts[np.unique(idx)] += 1
    return counts / max(len(items), 1)


def derive(
    session: Session,
    *,
    revision_id: int,
    settings,
    now: datetime,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Derive and store a revision's exposure control (once), check it by simulation, and put
    a bank load's revision in force if nothing else was activated meanwhile. Returns the
    report (helper: the caller commits)."""
    row = pools.get(session, revision_id)
    if row.exposure is None:
        started = time.perf_counter()
        policy = bridge.cat_policy(attempt_policy(session, track=row.track, now=now))
        pool = bridge.item_pool(row.items)
        design = design_of(settings)
        target = design.cap
        rng = np.random.default_rng([settings.exposure_seed, revision_id])
        steps = design.iterations + 1

        def tick(done: float) -> None:
            if progress is not None:
                progress(done / steps, f"Sympson-Hetter iteration {min(int(done) + 1, steps - 1)}")

        k = simulation.derive_exposure(design, policy, pool, rng, progress=tick)
        live = replace(policy, sh_exposure=k)
        exposure = {"sh_exposure": live.to_dict()["sh_exposure"]}
        n_check = settings.exposure_check_examinees
        report = _check(live, pool, rng, n_check, design, lambda e: tick(steps - 1 + e / n_check))
        report |= {
            "examinees": design.examinees,
            "iterations": design.iterations,
            "aim": round(design.aim, 4),
            "band_target": design.band_cap,
            "band_aim": None if design.band_aim is None else round(design.band_aim, 4),
            "seed": [settings.exposure_seed, revision_id],
            "seconds": round(time.perf_counter() - started, 1),
        }
        pools.set_exposure(
            session, revision_id=revision_id, exposure=exposure, target=target, report=report,
            now=now,
        )  # fmt: skip
        session.refresh(row)
    activated = pools.activate_if_base(session, revision_id=revision_id, now=now)
    return {**(row.exposure_report or {}), "activated": activated}


CHECK_BAND_MIN = 200  # a band's rate is judged from at least this many candidates


def _check(
    policy: engine.CatPolicy, pool: engine.ItemPool, rng: np.random.Generator, n: int,
    design: simulation.ExposureDesign, progress: Callable[[int], None] | None = None,
) -> dict:  # fmt: skip
    """Simulate n candidates, theta ~ N(0, 1), under the derived policy: what it achieves,
    overall and in each band of true theta holding at least CHECK_BAND_MIN of them."""
    thetas = rng.normal(0.0, 1.0, n)
    run = simulation.simulate_cat(policy, pool, thetas, int(rng.integers(2**31)), progress)
    rates = exposure_rates(run.items, len(pool.ids))
    band = np.searchsorted(np.asarray(design.band_edges), thetas, side="right")
    band_max, bands = None, 0
    for b in np.unique(band):
        held = np.flatnonzero(band == b)
        if len(held) >= CHECK_BAND_MIN:
            r = exposure_rates([run.items[e] for e in held], len(pool.ids)).max()
            band_max, bands = max(band_max or 0.0, float(r)), bands + 1
    return {
        "check_examinees": n,
        "policy_digest": policy_digest(policy),
        "max_exposure": round(float(rates.max()), 4),
        "over_target": int((rates > design.cap).sum()),
        "band_max_exposure": None if band_max is None else round(band_max, 4),
        "bands_judged": bands,
        "mean_length": round(float(run.length.mean()), 2),
        "accuracy": round(float(np.mean(run.passed == (run.theta_true >= policy.cut_theta))), 4),
    }


@jobs.handler(pools.DERIVE_EXPOSURE, lease_seconds=900, max_tries=3, backoff_seconds=30)
def derive_job(ctx: jobs.Context) -> dict:
    """The job that derives a revision's exposure control (queued by each bank load)."""
    last = [float("-inf")]

    def report(fraction: float, note: str) -> None:
        """Called after every simulated candidate: stop at once when the server stops; write
        the progress (a database commit) once a second."""
        ctx.check()
        if time.monotonic() - last[0] >= 1.0:
            last[0] = time.monotonic()
            ctx.progress(fraction, note)

    return derive(
        ctx.session, revision_id=int(ctx.payload["revision_id"]), settings=ctx.settings,
        now=ctx.now(), progress=report,
    )  # fmt: skip
