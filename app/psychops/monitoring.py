"""What live delivery really does to a pool: exposure of each item in the stored attempts.

Exposure of an item on a pool revision = closed attempts on that revision that were given the
item (scored or pretest) / closed attempts on that revision. Open attempts are left out (they
have not finished drawing). The figure is computed from exam_response and exam_attempt only, so
it is what candidates got, whatever any simulation predicted.
"""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from app.exams.models import ExamAttempt, ExamResponse
from app.itembank import pools

CLOSED = ("finished", "expired")
BANDS = (-1.0, 0.0, 1.0)  # edges of the final-theta bands the page reports (logits)


# Live figures from fewer closed attempts are noise (two candidates may share half their items
# by chance): the dashboard alerts on exposure and overlap only from this many on.
MIN_ATTEMPTS_TO_ALERT = 100


@dataclass(frozen=True)
class Exposure:
    """Live exposure on one pool revision.

    attempts: closed attempts on it. rates: item version id -> share of those attempts given
    it (operational items only; every operational item of the revision is listed, 0 if never
    given). pretest_rates: the same for pretest items. target: the revision's target.
    by_band: per final-theta band (label, attempts, max operational rate).
    """

    revision_id: int
    track: str
    attempts: int
    rates: dict[int, float]
    pretest_rates: dict[int, float]
    target: float | None
    by_band: tuple[tuple[str, int, float], ...]

    @property
    def max_rate(self) -> float:
        return max(self.rates.values(), default=0.0)

    @property
    def over_target(self) -> int:
        return 0 if self.target is None else sum(r > self.target for r in self.rates.values())

    def histogram(self, width: float = 0.05) -> list[tuple[float, int]]:
        """(lower edge, items) of the operational rates in bins of width."""
        values = np.array(list(self.rates.values()) or [0.0])
        bins = np.floor(values / width).astype(int)
        return [(round(b * width, 4), int((bins == b).sum())) for b in range(bins.max() + 1)]


def _band_label(k: int) -> str:
    edges = (None, *BANDS, None)
    low, high = edges[k], edges[k + 1]
    if low is None:
        return f"theta < {high:g}"
    return f"theta >= {low:g}" if high is None else f"{low:g} <= theta < {high:g}"


def live_exposure(session: Session, *, revision_id: int) -> Exposure:
    """Exposure of every item of a pool revision in its closed attempts (two queries)."""
    revision = pools.get(session, revision_id)
    theta = ExamAttempt.result["theta"].as_float()
    attempts = session.exec(
        select(ExamAttempt.id, theta).where(
            ExamAttempt.pool_revision_id == revision_id, ExamAttempt.status.in_(CLOSED)
        )
    ).all()
    band_of = {a: int(np.searchsorted(BANDS, t if t is not None else 0.0, side="right"))
               for a, t in attempts}  # fmt: skip
    rows = session.exec(
        select(ExamResponse.attempt_id, ExamResponse.item_version_id)
        .join(ExamAttempt, ExamAttempt.id == ExamResponse.attempt_id)
        .where(ExamAttempt.pool_revision_id == revision_id, ExamAttempt.status.in_(CLOSED))
    ).all()
    pretest = {p["id"]: bool(p["pretest"]) for p in revision.items}
    index = {v: j for j, v in enumerate(pretest)}
    given = np.zeros((len(BANDS) + 1, len(index)))
    for attempt_id, version_id in set(rows):
        if version_id in index:
            given[band_of[attempt_id], index[version_id]] += 1
    n_band = np.bincount(list(band_of.values()), minlength=len(BANDS) + 1).astype(float)
    total = given.sum(axis=0) / max(len(attempts), 1)
    ops = np.array([not pretest[v] for v in index], dtype=bool)
    band_rates = given / np.maximum(n_band, 1.0)[:, None]
    return Exposure(
        revision_id=revision_id,
        track=revision.track,
        attempts=len(attempts),
        rates={v: float(total[j]) for v, j in index.items() if ops[j]},
        pretest_rates={v: float(total[j]) for v, j in index.items() if not ops[j]},
        target=revision.exposure_target,
        by_band=tuple(
            (_band_label(k), int(n_band[k]), float(band_rates[k][ops].max(initial=0.0)))
            for k in range(len(BANDS) + 1)
        ),
    )


def attempts_per_revision(session: Session, *, track: str) -> dict[int, int]:
    """Closed attempts per pool revision of a track."""
    rows = session.exec(
        select(ExamAttempt.pool_revision_id, func.count())
        .where(ExamAttempt.track == track, ExamAttempt.status.in_(CLOSED))
        .where(ExamAttempt.pool_revision_id.is_not(None))
        .group_by(ExamAttempt.pool_revision_id)
    ).all()
    return {int(r): int(n) for r, n in rows}
