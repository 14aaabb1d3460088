"""What the pool pages show: per track the revision in force, its simulated and live exposure."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.courses import service as courses
from app.itembank import pools
from app.itembank.models import PoolRevision
from app.psychops import health, monitoring


@dataclass(frozen=True)
class TrackPools:
    """A track's revisions (newest first), the one in force and its live exposure."""

    track: str
    in_force: int | None
    revisions: list[PoolRevision]
    attempts: dict[int, int]
    live: monitoring.Exposure | None

    @property
    def alert(self) -> str | None:
        """What the administrator must act on, in words (None when all is well)."""
        if self.in_force is None:
            return (f"{self.track} has no pool revision in force: candidates get no exposure "
                    "control until one is derived (wmi pools derive).")  # fmt: skip
        live = self.live
        if (
            live
            and live.attempts >= monitoring.MIN_ATTEMPTS_TO_ALERT
            and live.target
            and live.max_rate > live.target + 0.02
        ):
            return (f"{self.track}: an item was given to {live.max_rate:.1%} of the "
                    f"{live.attempts} candidates on revision {live.revision_id} (target "
                    f"{live.target:.0%}).")  # fmt: skip
        return None


def track_pools(session: Session, *, track: str) -> TrackPools:
    in_force = pools.active_id(session, track=track)
    live = None if in_force is None else monitoring.live_exposure(session, revision_id=in_force)
    return TrackPools(
        track=track,
        in_force=in_force,
        revisions=pools.revisions(session, track=track),
        attempts=monitoring.attempts_per_revision(session, track=track),
        live=live,
    )


def overview(session: Session) -> list[TrackPools]:
    """Every track's pools."""
    return [track_pools(session, track=t.code) for t in courses.list_tracks(session)]


def alerts(session: Session, *, now: datetime | None = None, settings=None) -> list[str]:
    """The pool alerts for the administrator's dashboard: a track without a revision in
    force, live exposure over the target and, given the time and settings, the monitoring's
    (app/psychops/health.py: overlap, information at the cut, drift, flagged items, pretest
    items ready to calibrate)."""
    out = []
    for tp in overview(session):
        if tp.alert:
            out.append(tp.alert)
        if now is not None and settings is not None:
            out += health.health(
                session, track=tp.track, now=now, live=tp.live,
                min_responses=settings.calibration_min_responses,
                default_target=settings.exposure_target,
            ).alerts  # fmt: skip
    return out
