"""Pool revisions: the states of a track's exam pool that attempts are delivered on.

A revision holds the item versions with their parameters (authored, or calibrated) and, once
the derivation job has run (app/exams/exposure.py), the exposure control simulated for that
very pool and policy. One revision per track is in force (`track_pool`); attempts freeze it
when they start. A bank load that changes a track's pool records a new revision and queues
its derivation; the derivation activates it if nothing else was activated meanwhile.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from app.core import audit, db, jobs
from app.core.clock import to_db
from app.core.errors import Conflict, NotFound
from app.core.lru import LRU
from app.itembank import withdrawal
from app.itembank.models import Item, ItemVersion, PoolRevision, TrackPool

DERIVE_EXPOSURE = "exams.derive_exposure"  # the job kind (handled in app/exams/exposure.py)
PARAMETERS = ("a", "b", "c")


class StaleRevision(Conflict):
    """The revision in force is no longer the one the activation was prepared against."""

    code = "stale_pool_revision"


class NotDerived(Conflict):
    """A revision without exposure control cannot be put in force."""

    code = "pool_revision_not_derived"


def digest(items: list[dict]) -> str:
    """Content address of a revision's items (their order included)."""
    text = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def bank_items(session: Session, *, track: str) -> list[dict]:
    """The current exam (operational) and pretest versions of a track with their authored
    parameters, as attempts freeze them; withdrawn items left out."""
    rows = session.exec(
        select(
            ItemVersion.id,
            Item.id,
            Item.domain,
            Item.pool,
            ItemVersion.fact,
            ItemVersion.a,
            ItemVersion.b,
            ItemVersion.c,
        )  # fmt: skip
        .join(Item, Item.current_version_id == ItemVersion.id)
        .where(
            Item.track == track,
            ((Item.pool == "exam") & (Item.status == "operational"))
            | ((Item.pool == "pretest") & (Item.status == "pretest")),
            Item.id.not_in(withdrawal.withdrawn_ids()),
        )
        .order_by(Item.pool, Item.code)
    ).all()
    return [
        {"id": vid, "item": iid, "a": a, "b": b, "c": c, "domain": domain, "fact": fact,
         "pretest": pool == "pretest"}
        for vid, iid, domain, pool, fact, a, b, c in rows
    ]  # fmt: skip


def carry_calibrated(items: list[dict], base: PoolRevision | None) -> tuple[list[dict], list]:
    """items with the base revision's parameters (and pretest flag: a review may promote) for
    the versions it calibrated, less the versions a review retired (a load must not undo a
    calibration); returns (items, the calibrated version ids kept)."""
    if base is None or not (base.calibrated or base.withheld):
        return items, []
    keep, gone = set(base.calibrated), set(base.withheld or ())
    params = {p["id"]: p for p in base.items if p["id"] in keep}
    carried = (*PARAMETERS, "pretest")
    out = [
        {**p, **{k: params[p["id"]][k] for k in carried}} if p["id"] in params else p
        for p in items
        if p["id"] not in gone
    ]
    return out, sorted(v for v in keep if any(p["id"] == v for p in out))


def tracks_in_bank(session: Session) -> list[str]:
    return sorted(session.exec(select(Item.track).distinct()).all())


def record_bank_revisions(
    session: Session, *, now: datetime, source: str = "bank load", actor_id: int | None = None
) -> list[PoolRevision]:
    """After a bank load or a workbench move into or out of a pool (helper: flushes, the caller
    commits): a new revision for every track whose pool changed, each with its exposure
    derivation queued and put in force once derived."""
    created = []
    for track in tracks_in_bank(session):
        base = active(session, track=track)
        items, calibrated = carry_calibrated(bank_items(session, track=track), base)
        if not items:
            continue
        revision = _new_revision(
            session, track=track, items=items, calibrated=calibrated, base=base,
            source=source[:100], now=now, auto_activate=True, actor_id=actor_id,
            withheld=[] if base is None else list(base.withheld or ()),
        )  # fmt: skip
        if revision is not None:
            created.append(revision)
    return created


def create_revision(
    session: Session,
    *,
    track: str,
    items: list[dict],
    calibrated: list[int],
    source: str,
    now: datetime,
    actor_id: int | None = None,
    withheld: list[int] | None = None,
) -> PoolRevision:
    """A revision with these items on top of the one in force (helper: flushes, queues its
    exposure derivation; the caller commits). An identical pool returns the existing one.
    withheld: version ids retired by a review, which later bank loads leave out."""
    base = active(session, track=track)
    revision = _new_revision(
        session, track=track, items=items, calibrated=calibrated, base=base, source=source,
        now=now, actor_id=actor_id, withheld=withheld or [],
    )  # fmt: skip
    if revision is None:
        revision = session.exec(
            select(PoolRevision).where(
                PoolRevision.track == track, PoolRevision.digest == digest(items)
            )
        ).one()
    return revision


def _new_revision(
    session, *, track, items, calibrated, base, source, now, auto_activate=False, actor_id=None,
    withheld=(),
) -> PoolRevision | None:  # fmt: skip
    key = digest(items)
    exists = session.exec(
        select(PoolRevision.id).where(PoolRevision.track == track, PoolRevision.digest == key)
    ).first()
    if exists is not None:
        return None
    revision = PoolRevision(
        track=track, digest=key, items=items, calibrated=calibrated, withheld=list(withheld),
        source=source,
        base_revision_id=None if base is None else base.id, created_at=to_db(now),
        created_by=actor_id, auto_activate=auto_activate,
    )  # fmt: skip
    session.add(revision)
    session.flush()
    queue_derivation(session, revision.id, now=now)
    audit.record(
        session, action="itembank.pool_revision", at=now, actor_id=actor_id,
        subject=f"pool_revision:{revision.id}",
        data={"track": track, "items": len(items), "source": source,
              "base": revision.base_revision_id},
    )  # fmt: skip
    return revision


def derivation_key(revision_id: int) -> str:
    return f"pool_revision:{revision_id}:exposure"


def queue_derivation(session: Session, revision_id: int, *, now: datetime) -> bool:
    """Queue the exposure derivation of a revision (once per revision); the caller commits."""
    return jobs.enqueue(
        session, DERIVE_EXPOSURE, {"revision_id": revision_id}, at=now,
        key=derivation_key(revision_id),
    )  # fmt: skip


def get(session: Session, revision_id: int) -> PoolRevision:
    revision = session.get(PoolRevision, revision_id, populate_existing=True)  # a job may derive it
    if revision is None:
        raise NotFound(f"There is no pool revision {revision_id}.")
    return revision


def revisions(session: Session, *, track: str | None = None) -> list[PoolRevision]:
    query = select(PoolRevision)
    if track:
        query = query.where(PoolRevision.track == track.upper())
    return list(session.exec(query.order_by(PoolRevision.id.desc())))


_TRACK_POOLS = TrackPool.__table__
_ACTIVE_QUERY = sa_select(_TRACK_POOLS.c.revision_id).where(
    _TRACK_POOLS.c.track == bindparam("track")
)


def active_id(session: Session, *, track: str) -> int | None:
    """The id of the revision in force for a track (None before the first activation)."""
    return session.connection().execute(_ACTIVE_QUERY, {"track": track}).scalar()


def active(session: Session, *, track: str) -> PoolRevision | None:
    """The revision in force (its row), or None."""
    revision_id = active_id(session, track=track)
    return None if revision_id is None else session.get(PoolRevision, revision_id)


@dataclass(frozen=True)
class Derived:
    """What attempts freeze of a derived revision: its items and its exposure control."""

    id: int
    track: str
    items: list[dict]
    exposure: dict


_DERIVED: LRU[tuple[str, int], Derived] = LRU(64)


def derived(session: Session, revision_id: int) -> Derived:
    """A derived revision, cached per process: once its exposure is set nothing in it changes
    (set_exposure writes it once, items never change), so the cache is always right. Treat the
    items as read-only."""
    key = (db.cache_scope(session), revision_id)
    hit = _DERIVED.get(key)
    if hit is not None:
        return hit
    row = get(session, revision_id)
    if row.exposure is None:
        raise NotDerived(f"Pool revision {revision_id} has no exposure control yet.")
    return _DERIVED.put(key, Derived(row.id, row.track, list(row.items), dict(row.exposure)))


def deliverable(session: Session, revision: Derived) -> list[dict]:
    """The revision's items less those withdrawn since (app/itembank/withdrawal.py); the
    revision's own list (shared, read-only) when none of them was."""
    gone = set(session.exec(withdrawal.withdrawn_ids()).all())
    if not gone or not any(p["item"] in gone for p in revision.items):
        return revision.items
    return [p for p in revision.items if p["item"] not in gone]


def set_exposure(
    session: Session, *, revision_id: int, exposure: dict, target: float, report: dict,
    now: datetime,
) -> bool:  # fmt: skip
    """Store a revision's derived exposure control, once (helper: the caller commits); False
    if it already had one (a derivation that ran twice keeps the first)."""
    done = session.execute(
        update(PoolRevision)
        .where(PoolRevision.id == revision_id, PoolRevision.exposure_at.is_(None))
        .values(
            exposure=exposure,
            exposure_target=target,
            exposure_report=report,
            exposure_at=to_db(now),
        )  # fmt: skip
    ).rowcount
    return bool(done)


def activate(
    session: Session,
    *,
    revision_id: int,
    base_revision_id: int | None,
    now: datetime,
    actor_id: int | None = None,
) -> PoolRevision:
    """Put a derived revision in force, if the revision in force is still base_revision_id
    (what the caller reviewed against); else StaleRevision (409). One conditional write
    decides between racing activations. Commits."""
    _put_in_force(session, revision_id=revision_id, base_revision_id=base_revision_id,
                  now=now, actor_id=actor_id)  # fmt: skip
    db.commit(session)
    return get(session, revision_id)


def _put_in_force(session, *, revision_id, base_revision_id, now, actor_id) -> None:
    """Helper of activate (flushes and audits, the caller commits)."""
    revision = get(session, revision_id)
    if revision.exposure is None:
        raise NotDerived(
            f"Pool revision {revision_id} has no exposure control yet; derive it first "
            f"(wmi pools derive {revision_id})."
        )
    values = {"revision_id": revision_id, "activated_at": to_db(now), "activated_by": actor_id}
    conn = session.connection()
    if base_revision_id is None:
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        won = conn.execute(
            insert(_TRACK_POOLS)
            .values(track=revision.track, **values)
            .on_conflict_do_nothing(index_elements=["track"])
            .returning(_TRACK_POOLS.c.track)
        ).first()
    else:
        won = conn.execute(
            _TRACK_POOLS.update()
            .where(
                _TRACK_POOLS.c.track == revision.track,
                _TRACK_POOLS.c.revision_id == base_revision_id,
            )
            .values(**values)
            .returning(_TRACK_POOLS.c.track)
        ).first()
    if won is None:
        current = active_id(session, track=revision.track)
        raise StaleRevision(
            f"The {revision.track} pool changed since this activation was prepared: revision "
            f"{current} is now in force, not {base_revision_id or 'none'}. Review again."
        )
    audit.record(
        session, action="itembank.pool_activated", at=now, actor_id=actor_id,
        subject=f"pool_revision:{revision_id}",
        data={"track": revision.track, "previous": base_revision_id},
    )  # fmt: skip


def activate_if_base(session: Session, *, revision_id: int, now: datetime) -> bool:
    """For the derivation job: put an auto-activating revision in force if the revision in
    force is still its base (helper: the caller commits). False when something else was
    activated meanwhile (the revision then waits for an administrator)."""
    revision = get(session, revision_id)
    if not revision.auto_activate or active_id(session, track=revision.track) == revision_id:
        return False
    try:  # a refused conditional write changed nothing: no savepoint needed
        _put_in_force(session, revision_id=revision_id, now=now, actor_id=None,
                      base_revision_id=revision.base_revision_id)  # fmt: skip
    except StaleRevision:
        return False
    return True
