"""Monitoring of a track's pool (issue 16): exposure, test overlap, information at the cut per
domain against the blueprint, parameter drift between revisions, flagged items, pretest items
ready to calibrate, and the alerts the administrator's dashboard shows (docs/PSYCHOMETRICS.md
section 11.5).
"""

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from app.courses import service as courses
from app.exams.models import ExamAttempt, ExamResponse
from app.itembank import pools
from app.itembank.models import PoolRevision
from app.psychometrics import irt
from app.psychops import monitoring, snapshots

SE_AT_CUT = 0.30  # the test information a candidate at the cut should get: 1 / SE^2
OVERLAP_MARGIN = 0.05  # alert when the overlap exceeds the exposure target by more
DRIFT_ITEM = 0.5  # an item's |change in a| or |change in b| worth a look (logits)
DRIFT_MEAN_B = 0.3  # alert when the mean change in b of the common items exceeds this
CLOSED = ("finished", "expired")


@dataclass(frozen=True)
class DomainSupply:
    """What a domain's operational items offer at the cut against what the blueprint asks.

    quota: items per test (weight x maximum length, rounded up); items: operational items;
    items_needed: quota / exposure target (fewer cannot fill the quota without some item
    exceeding the target); information: sum of the items' information at the cut; need:
    weight / SE_AT_CUT^2; supply: exposure target x information (the most an average test can
    draw from the domain when no item exceeds the target); ratio: supply / need."""

    domain: str
    weight: float
    quota: int
    items: int
    items_needed: int
    information: float
    need: float
    supply: float

    @property
    def ratio(self) -> float:
        return self.supply / self.need if self.need else math.inf

    @property
    def short(self) -> bool:
        return self.ratio < 1.0 or self.items < self.items_needed


@dataclass(frozen=True)
class Drift:
    """Parameter changes of the item versions common to two revisions (newer - older)."""

    older: int
    newer: int
    common: int
    changes: list[tuple[int, float, float, float]]  # version, da, db, dc (changed ones)

    @property
    def mean_b(self) -> float:
        return float(np.mean([c[2] for c in self.changes])) if self.changes else 0.0

    @property
    def rms_b(self) -> float:
        return float(np.sqrt(np.mean([c[2] ** 2 for c in self.changes]))) if self.changes else 0.0

    @property
    def large(self) -> list[tuple[int, float, float, float]]:
        return [c for c in self.changes if max(abs(c[1]), abs(c[2])) > DRIFT_ITEM]


@dataclass(frozen=True)
class Health:
    track: str
    revision_id: int | None
    cut: float
    live: monitoring.Exposure | None
    overlap: float | None
    supply: list[DomainSupply]
    drift: Drift | None
    analysis: snapshots.Snapshot | None
    pretest: list[tuple[int, int]]  # version id, responses (pretest items of the revision)
    min_responses: int

    @property
    def pretest_ready(self) -> list[tuple[int, int]]:
        return [p for p in self.pretest if p[1] >= self.min_responses]

    @property
    def alerts(self) -> list[str]:
        out = []
        live, t = self.live, self.track
        target = None if live is None else live.target
        enough = live is not None and live.attempts >= monitoring.MIN_ATTEMPTS_TO_ALERT
        if (
            enough
            and self.overlap is not None
            and target
            and self.overlap > target + OVERLAP_MARGIN
        ):
            out.append(f"{t}: two candidates share {self.overlap:.1%} of their items on average "
                       f"(exposure target {target:.0%}).")  # fmt: skip
        for d in self.supply:
            if d.short:
                out.append(f"{t} domain {d.domain}: the pool offers {d.ratio:.2f} of the "
                           f"information at the cut the blueprint needs ({d.items} items, "
                           f"{d.items_needed} needed at the exposure target).")  # fmt: skip
        if self.drift and abs(self.drift.mean_b) > DRIFT_MEAN_B:
            out.append(f"{t}: b moved by {self.drift.mean_b:+.2f} on average between revisions "
                       f"{self.drift.older} and {self.drift.newer}.")  # fmt: skip
        if self.analysis and self.analysis.flagged:
            out.append(f"{t}: {len(self.analysis.flagged)} item(s) flagged in item analysis "
                       f"{self.analysis.id}.")  # fmt: skip
        if self.pretest_ready:
            out.append(f"{t}: {len(self.pretest_ready)} pretest item(s) have at least "
                       f"{self.min_responses} responses: ready to calibrate.")  # fmt: skip
        return out


def overlap(live: monitoring.Exposure) -> float | None:
    """Mean share of items two candidates have in common: sum_i n_i (n_i - 1) over all pairs,
    divided by N (N - 1) and by the mean test length (items given, pretest included)."""
    n = live.attempts
    if n < 2:
        return None
    counts = np.array(list(live.rates.values()) + list(live.pretest_rates.values())) * n
    mean_length = counts.sum() / n
    if mean_length <= 0:
        return None
    return float((counts * (counts - 1)).sum() / (n * (n - 1)) / mean_length)


def domain_supply(items: list[dict], policy: dict, cut: float, target: float) -> list[DomainSupply]:
    operational = [p for p in items if not p.get("pretest")]
    out = []
    max_items = int(policy["exam"]["max_items"])
    for d in policy["blueprint"]:
        code, weight = str(d["code"]), float(d["weight"])
        mine = [p for p in operational if p["domain"] == code]
        info = 0.0
        if mine:
            a, b, c = (np.array([p[k] for p in mine], dtype=float) for k in ("a", "b", "c"))
            info = float(irt.information(cut, a, b, c).sum())
        quota = math.ceil(weight * max_items - 1e-9)
        out.append(DomainSupply(
            domain=code, weight=weight, quota=quota, items=len(mine),
            items_needed=math.ceil(quota / target - 1e-9), information=round(info, 3),
            need=round(weight / SE_AT_CUT**2, 3), supply=round(target * info, 3),
        ))  # fmt: skip
    return out


def drift(revisions: list[PoolRevision]) -> Drift | None:
    """Between the two newest revisions (newest first) whose common items' parameters differ."""
    for newer, older in zip(revisions, revisions[1:], strict=False):
        before = {p["id"]: p for p in older.items}
        common = [p for p in newer.items if p["id"] in before]
        changes = [
            (p["id"], *(float(p[k]) - float(before[p["id"]][k]) for k in ("a", "b", "c")))
            for p in common
            if any(float(p[k]) != float(before[p["id"]][k]) for k in ("a", "b", "c"))
        ]
        if changes:
            return Drift(int(older.id or 0), int(newer.id or 0), len(common), changes)  # type: ignore[arg-type]
    return None


def pretest_counts(session: Session, *, track: str, versions: list[int]) -> dict[int, int]:
    """Responses of closed attempts per pretest item version."""
    if not versions:
        return {}
    rows = session.exec(
        select(ExamResponse.item_version_id, func.count())
        .join(ExamAttempt, ExamAttempt.id == ExamResponse.attempt_id)
        .where(ExamAttempt.track == track, ExamAttempt.status.in_(CLOSED),
               ExamResponse.item_version_id.in_(versions))
        .group_by(ExamResponse.item_version_id)
    ).all()  # fmt: skip
    return {int(v): int(n) for v, n in rows}


def health(
    session: Session, *, track: str, now: datetime, min_responses: int, default_target: float,
    live: monitoring.Exposure | None = None,
) -> Health:  # fmt: skip
    """A track's monitoring (live: its exposure on the revision in force, if already read)."""
    row = courses.get_track(session, track)
    cut = float(courses.cut_in_force(session, track=row, now=now).theta)
    revision = pools.active(session, track=track)
    supply = pretest = None
    if revision is not None:
        if live is None or live.revision_id != revision.id:
            live = monitoring.live_exposure(session, revision_id=int(revision.id or 0))
        target = float(revision.exposure_target or default_target)
        supply = domain_supply(list(revision.items), row.policy, cut, target)
        versions = [int(p["id"]) for p in revision.items if p.get("pretest")]
        counts = pretest_counts(session, track=track, versions=versions)
        pretest = sorted(((v, counts.get(v, 0)) for v in versions), key=lambda x: -x[1])
    return Health(
        track=track, revision_id=None if revision is None else revision.id, cut=cut, live=live,
        overlap=None if live is None else overlap(live), supply=supply or [],
        drift=drift(pools.revisions(session, track=track)),
        analysis=snapshots.latest(session, track=track), pretest=pretest or [],
        min_responses=min_responses,
    )  # fmt: skip
