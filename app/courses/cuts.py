"""A track's passing standard over time: the cut in force at a moment, and adding a new one."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from app.core import audit
from app.core.clock import as_utc, to_db
from app.core.errors import InvalidInput
from app.courses.models import Track, TrackCut
from app.psychometrics import scoring

CUT_RANGE = (-4.0, 4.0)  # logits, as the track file's cut_theta allows


@dataclass(frozen=True)
class CutInForce:
    """The cut that applies at a moment and where it comes from (cut_id None: the track file)."""

    theta: float
    source: str
    cut_id: int | None = None
    effective_at: datetime | None = None

    def to_dict(self) -> dict:
        """What an attempt freezes with its policy."""
        at = as_utc(self.effective_at).isoformat() if self.effective_at else None
        return {"id": self.cut_id, "theta": self.theta, "source": self.source, "effective_at": at}


def cut_in_force(session: Session, *, track: Track, now: datetime) -> CutInForce:
    """The approved cut with the latest effective date at or before now, else the file's."""
    row = session.exec(
        select(TrackCut)
        .where(TrackCut.track == track.code, TrackCut.effective_at <= to_db(now))
        .order_by(TrackCut.effective_at.desc(), TrackCut.id.desc())
    ).first()
    if row is None:
        return CutInForce(float(track.policy["exam"]["cut_theta"]), "track file")
    return CutInForce(row.cut_theta, row.source, row.id, as_utc(row.effective_at))


def history(session: Session, *, track: str) -> list[TrackCut]:
    """Every approved cut of the track, the latest effective first."""
    query = select(TrackCut).where(TrackCut.track == track).order_by(TrackCut.effective_at.desc())
    return list(session.exec(query))


def add_cut(
    session: Session,
    *,
    track: Track,
    cut_theta: float,
    effective_at: datetime,
    source: str,
    approved_by: int,
    now: datetime,
    note: str = "",
) -> TrackCut:
    """Record an approved cut (helper: flushes and audits, the caller commits).

    The effective date may not lie in the past: attempts started since then have frozen the
    cut that was in force, so a back-dated standard would not be what they were scored on.
    """
    low, high = CUT_RANGE
    if not low <= cut_theta <= high:
        raise InvalidInput(
            f"A cut must lie between theta {low:g} and {high:g}; got {cut_theta:.3f}."
        )
    try:  # the cut's value must lie on the track's reported scale
        scoring.Scale.from_dict(track.policy["scale"]).cut_score(cut_theta)
    except ValueError as exc:
        raise InvalidInput(f"A cut must lie inside the track's scale: {exc}.") from exc
    if as_utc(effective_at) < as_utc(now).replace(second=0, microsecond=0):
        raise InvalidInput(
            f"The effective date {as_utc(effective_at):%d %B %Y %H:%M} UTC is in the past; "
            "attempts started since then keep the cut they started with. Choose now or later."
        )
    row = TrackCut(
        track=track.code,
        cut_theta=float(cut_theta),
        effective_at=to_db(max(as_utc(effective_at), as_utc(now))),
        source=source,
        note=note,
        approved_by=approved_by,
        approved_at=to_db(now),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        action="track.cut_approved",
        at=now,
        actor_id=approved_by,
        subject=f"track:{track.code}",
        data={"cut_theta": row.cut_theta, "effective_at": row.effective_at, "source": source},
    )
    return row
