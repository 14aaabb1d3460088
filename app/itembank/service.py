"""Item-bank use cases: load question_banks/, readiness, exam delivery (quizzes: practice.py)."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.core import audit, db
from app.core.clock import to_db
from app.core.errors import NotFound
from app.core.lru import LRU
from app.core.prepared import Prepared
from app.itembank import files, lookup, pools, withdrawal
from app.itembank.models import BankRevision, Item, ItemVersion, PracticeResponse
from app.psychometrics import estimation, scoring

READINESS_MIN_RESPONSES = 10
# Reads for the layers above (app/itembank/lookup.py).
versions_by_id = lookup.versions_by_id
operational_by_code = lookup.operational_by_code
withdraw_item = withdrawal.withdraw_item  # appeals: a faulty item leaves the pools
item_by_code = withdrawal.item_by_code
versions_of = withdrawal.versions_of


@dataclass
class LoadReport:
    items: int = 0
    created: int = 0
    new_versions: int = 0
    problems: list[str] = field(default_factory=list)
    pool_revisions: list[int] = field(default_factory=list)  # new, their exposure queued
    kept: list[str] = field(default_factory=list)  # workbench items the files did not replace


def _latest(session: Session, item_id: int) -> ItemVersion | None:
    return session.exec(
        select(ItemVersion)
        .where(ItemVersion.item_id == item_id)
        .order_by(ItemVersion.version.desc())
    ).first()


def new_version(
    item: Item, f: files.ItemFile, number: int, now, created_by: int | None = None
) -> ItemVersion:
    """The row of an item's version `number` as the file (or a workbench draft) states it."""
    return ItemVersion(
        item_id=item.id,
        version=number,
        digest=f.content_digest(),
        type=f.type,
        level=f.level,
        fact=f.fact,
        stem=f.stem,
        options=[o.model_dump() for o in f.options],
        key=f.keys,
        sources=list(f.sources),
        difficulty=f.difficulty,
        a=f.irt.a,
        b=f.irt.b,
        c=f.irt.c,
        provisional=f.irt.provisional,
        created_at=to_db(now),
        created_by=created_by,
    )


def _kept_by_database(session: Session, item: Item, b: files.BankItem) -> str | None:
    """Why a workbench-owned item stays as the database has it, or None to load the file.

    The database owns an item once the workbench wrote or moved it (docs/AUTHORING.md): a file
    that says the same is silently equal; a file with a higher version than the database's
    current one is a later edit of the files and replaces it; any other difference is kept
    out and reported (an older file must not silently undo the workbench's work)."""
    f = b.item
    current = session.get(ItemVersion, item.current_version_id)
    if current is None:
        return None
    same = (
        current.digest == f.content_digest()
        and (current.level, current.fact, list(current.sources), current.difficulty)
        == (f.level, f.fact, list(f.sources), f.difficulty)
        and (item.status, item.pool) == (f.status, b.pool)
    )
    if same:
        return ""
    if f.version > current.version:
        return None
    return (
        f"{f.id}: kept the database's version {current.version} ({item.status}, {item.pool} "
        f"pool, authored in the workbench); {b.path} has version {f.version}. Write the bank "
        f"back to files (wmi bank export), or give the file version {current.version + 1} or "
        "more to replace it."
    )


def _load_one(session: Session, b: files.BankItem, now, report: LoadReport) -> None:
    f = b.item
    item = session.exec(select(Item).where(Item.code == f.id)).first()
    if item is not None and item.owner == "workbench":
        kept = _kept_by_database(session, item, b)
        if kept is not None:
            if kept:
                report.kept.append(kept)
            report.items += 1
            return
        item.owner = "files"  # a later file version: the files own the item again
    if item is None:
        item = Item(
            code=f.id, track=f.track, pool=b.pool, domain=f.domain, module=f.module, status=f.status
        )
        report.created += 1
    item.pool, item.domain, item.module, item.status = b.pool, f.domain, f.module, f.status
    session.add(item)
    session.flush()
    latest = _latest(session, item.id)
    if latest is None or latest.digest != f.content_digest():
        number = max(f.version, latest.version + 1) if latest else f.version
        version = new_version(item, f, number, now)
        session.add(version)
        session.flush()
        item.current_version_id = version.id
        report.new_versions += 1
    else:
        _refresh_metadata(session, latest, f)
    report.items += 1


def store_item(session: Session, b: files.BankItem, now: datetime) -> None:
    """Add or version one item exactly as the bank loader does (adds and flushes; the caller
    commits): QTI imports store their items through here."""
    _load_one(session, b, now, LoadReport())


def _refresh_metadata(session: Session, latest: ItemVersion, f: files.ItemFile) -> None:
    """Same words and key: the fact tag follows the file (it is not shown to candidates, and
    attempts keep the tags of their own frozen pool); parameters only while never delivered."""
    if latest.fact != f.fact:
        latest.fact = f.fact
        session.add(latest)
    if not lookup.delivered(session, latest) and (latest.a, latest.b, latest.c) != (
        f.irt.a,
        f.irt.b,
        f.irt.c,
    ):
        latest.a, latest.b, latest.c = f.irt.a, f.irt.b, f.irt.c  # never-delivered: safe to adjust
        session.add(latest)


def load_banks(*, session: Session, root: Path, now: datetime) -> LoadReport:
    """Load every pool (idempotent); an edited item becomes a new version, old ones stay."""
    bank = files.read_banks(root)
    report = LoadReport(problems=list(bank.errors))
    for b in bank.items:
        _load_one(session, b, now, report)
    bumped = session.execute(
        update(BankRevision).where(BankRevision.id == 1).values(revision=BankRevision.revision + 1)
    ).rowcount
    if not bumped:
        session.add(BankRevision(id=1, revision=1))
    revisions = pools.record_bank_revisions(session, now=now)  # each derived by a job
    report.pool_revisions = [r.id for r in revisions]
    audit.record(
        session,
        action="itembank.load",
        at=now,
        data={
            "items": report.items,
            "created": report.created,
            "new_versions": report.new_versions,
            "pool_revisions": [r.id for r in revisions],
            "kept": len(report.kept),
        },
    )
    db.commit(session)
    return report


def current_versions(
    session: Session,
    *,
    track: str,
    pool: str,
    module: str | None = None,
    statuses: tuple[str, ...] = ("operational",),
) -> list[tuple[Item, ItemVersion]]:
    query = (
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.track == track, Item.pool == pool, Item.status.in_(statuses))
    )
    if module:
        query = query.where(Item.module == module)
    return list(session.exec(query.order_by(Item.code)).all())


def count_items(session: Session, *, track: str, pool: str, module: str | None = None) -> int:
    query = select(func.count()).select_from(Item).where(Item.track == track, Item.pool == pool)
    if module:
        query = query.where(Item.module == module)
    return session.exec(query).one()


def is_correct(item_type: str, key, answer) -> bool:
    """An ordering must match the key in order; single and multiple choice as a set."""
    if item_type == "ordering":
        return list(answer) == list(key)
    return sorted(answer) == sorted(key)


@dataclass(frozen=True)
class Readiness:
    responses: int
    enough: bool
    p_pass: float | None = None
    theta: float | None = None
    se: float | None = None
    scaled_low: int | None = None
    scaled_high: int | None = None
    passing_score: int | None = None


def scaled(theta: float, scale: scoring.Scale) -> int:
    """theta on the track's reported scale, rounded and clipped to its range."""
    return int(round(min(scale.high, max(scale.low, scale.raw(theta)))))


def readiness(session: Session, *, user, track: str, cut: float, scale: scoring.Scale) -> Readiness:
    """P(theta > cut) from the user's practice answers, under the exam's IRT model (EAP grid);
    the likely range of the score on the track's reported scale."""
    rows = session.exec(
        select(PracticeResponse, ItemVersion)
        .join(ItemVersion, ItemVersion.id == PracticeResponse.item_version_id)
        .where(PracticeResponse.user_id == user.id, PracticeResponse.track == track)
    ).all()
    if len(rows) < READINESS_MIN_RESPONSES:
        return Readiness(responses=len(rows), enough=False)
    a = np.array([v.a for _, v in rows])
    b = np.array([v.b for _, v in rows])
    c = np.array([v.c for _, v in rows])
    u = np.array([1.0 if r.correct else 0.0 for r, _ in rows])
    grid = estimation.make_grid()
    post = np.exp(estimation.normalise(estimation.log_posterior(grid, a, b, c, u)))
    post /= post.sum()
    est = estimation.eap_from_log_posterior(np.log(np.maximum(post, 1e-300)), grid)
    cdf = np.cumsum(post)
    low = float(grid.points[np.searchsorted(cdf, 0.1)])
    high = float(grid.points[min(len(cdf) - 1, np.searchsorted(cdf, 0.9))])
    return Readiness(
        responses=len(rows),
        enough=True,
        p_pass=float(post[grid.points > cut].sum()),
        theta=est.theta,
        se=est.se,
        scaled_low=scaled(low, scale),
        scaled_high=scaled(high, scale),
        passing_score=scale.cut_score(cut),
    )


@dataclass(frozen=True)
class DeliveryItem:
    """What exam delivery needs of an item version: its words and its key (never sent)."""

    version_id: int
    type: str
    stem: str
    options: tuple[str, ...]
    key: tuple[str, ...]

    def is_correct(self, answer: list[str]) -> bool:
        return is_correct(self.type, self.key, answer)


_DELIVERY: LRU[tuple[str, int], DeliveryItem] = LRU(50_000)


def delivery_item(session: Session, version_id: int) -> DeliveryItem:
    """An item version's words and key, cached per process.

    Safe to cache for ever: a version's words, options and key never change (an edit makes a
    new version; only the parameters of a never-delivered version may be adjusted, and
    attempts read parameters from their own frozen pool, not from here).
    """
    cache_key = (db.cache_scope(session), version_id)
    hit = _DELIVERY.get(cache_key)
    if hit is not None:
        return hit
    row = session.connection().execute(_DELIVERY_QUERY, {"id": version_id}).one_or_none()
    if row is None:
        raise NotFound("There is no such item.")
    type_, stem, options, answer_key = row
    hit = DeliveryItem(
        version_id=version_id,
        type=type_,
        stem=stem,
        options=tuple(o["text"] for o in options),
        key=tuple(str(k) for k in answer_key),
    )
    return _DELIVERY.put(cache_key, hit)


_VERSIONS = ItemVersion.__table__
_DELIVERY_QUERY = sa_select(
    _VERSIONS.c.type, _VERSIONS.c.stem, _VERSIONS.c.options, _VERSIONS.c.key
).where(_VERSIONS.c.id == bindparam("id"))
_MARKED: set[tuple[str, int]] = set()
_MARK_DELIVERED = Prepared(
    _VERSIONS.update()
    .where(_VERSIONS.c.id == bindparam("w_id"), _VERSIONS.c.first_delivered_at.is_(None))
    .values(first_delivered_at=bindparam("v_at"))
)


def mark_delivered(session: Session, version_id: int, now: datetime) -> None:
    """Stamp a version's first delivery (from then on its parameters are frozen too).

    The conditional UPDATE is idempotent; once the caller has committed it, `marked_committed`
    spares this process the statement for that version from then on.
    """
    if (db.cache_scope(session), version_id) in _MARKED:
        return
    _MARK_DELIVERED.execute(session, {"w_id": version_id, "v_at": to_db(now)})


def marked_committed(session: Session, version_id: int) -> None:
    _MARKED.add((db.cache_scope(session), version_id))


def pool_parameters(session: Session, *, track: str) -> list[dict]:
    """Current exam (operational) and pretest versions: ids, domain, fact and 3PL parameters.

    `fact` is the item's fact tag (question_banks/facts.yaml): items of one fact are enemies.

    Every start reads it, so it is cached per process and track, and read again only when the
    bank revision (one row, bumped by every load) has moved. Treat the list as read-only.
    """
    revision = session.connection().execute(_REVISION).scalar() or 0
    key = (db.cache_scope(session), track)
    hit = _SNAPSHOTS.get(key)
    if hit is not None and hit[0] == revision:
        return hit[1]
    snapshot = pools.bank_items(session, track=track)
    _SNAPSHOTS.put(key, (revision, snapshot))
    return snapshot


_SNAPSHOTS: LRU[tuple[str, str], tuple[int, list[dict]]] = LRU(256)
_REVISION = sa_select(BankRevision.__table__.c.revision).where(BankRevision.__table__.c.id == 1)
