"""Item-bank use cases: load question_banks/, draw practice quizzes, score practice, readiness."""

import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.core import audit, db
from app.core.clock import to_db
from app.core.errors import InvalidInput, NotFound
from app.core.lru import LRU
from app.core.prepared import Prepared
from app.itembank import files
from app.itembank.models import BankRevision, Item, ItemVersion, PracticeResponse
from app.psychometrics import estimation

READINESS_MIN_RESPONSES = 10


@dataclass
class LoadReport:
    items: int = 0
    created: int = 0
    new_versions: int = 0
    problems: list[str] = field(default_factory=list)


def _latest(session: Session, item_id: int) -> ItemVersion | None:
    return session.exec(
        select(ItemVersion)
        .where(ItemVersion.item_id == item_id)
        .order_by(ItemVersion.version.desc())
    ).first()


def _new_version(item: Item, f: files.ItemFile, number: int, now) -> ItemVersion:
    return ItemVersion(
        item_id=item.id,
        version=number,
        digest=f.content_digest(),
        type=f.type,
        level=f.level,
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
    )


def _load_one(session: Session, b: files.BankItem, now, report: LoadReport) -> None:
    f = b.item
    item = session.exec(select(Item).where(Item.code == f.id)).first()
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
        version = _new_version(item, f, number, now)
        session.add(version)
        session.flush()
        item.current_version_id = version.id
        report.new_versions += 1
    elif latest.first_delivered_at is None and (latest.a, latest.b, latest.c) != (
        f.irt.a,
        f.irt.b,
        f.irt.c,
    ):
        latest.a, latest.b, latest.c = f.irt.a, f.irt.b, f.irt.c  # never-delivered: safe to adjust
        session.add(latest)
    report.items += 1


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
    audit.record(
        session,
        action="itembank.load",
        at=now,
        data={
            "items": report.items,
            "created": report.created,
            "new_versions": report.new_versions,
        },
    )
    session.commit()
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


@dataclass(frozen=True)
class QuizQuestion:
    version_id: int
    type: str
    stem: str
    options: list[str]


def draw_practice(
    session: Session, *, user, track: str, module: str, n: int = 5, seed: int | None = None
) -> list[QuizQuestion]:
    """Up to n practice items of a module, those the user has answered least often first."""
    pairs = current_versions(session, track=track, pool="practice", module=module)
    if not pairs:
        raise NotFound(f"Module {module} has no practice questions yet.")
    answered = dict(
        session.exec(
            select(PracticeResponse.item_version_id, func.count())
            .where(PracticeResponse.user_id == user.id)
            .group_by(PracticeResponse.item_version_id)
        ).all()
    )
    rng = random.Random(seed)
    rng.shuffle(pairs)
    pairs.sort(key=lambda p: answered.get(p[1].id, 0))
    return [
        QuizQuestion(
            version_id=v.id, type=v.type, stem=v.stem, options=[o["text"] for o in v.options]
        )
        for _, v in pairs[:n]
    ]


@dataclass(frozen=True)
class Feedback:
    version_id: int
    stem: str
    type: str
    correct: bool
    answer: list[str]
    key: list[str]
    options: list[dict]  # text, rationale, letter, is_key, chosen


def is_correct(item_type: str, key, answer) -> bool:
    """An ordering must match the key in order; single and multiple choice as a set."""
    if item_type == "ordering":
        return list(answer) == list(key)
    return sorted(answer) == sorted(key)


def answer_practice(
    *, session: Session, user, answers: dict[int, list[str]], now: datetime
) -> list[Feedback]:
    """Score a submitted practice quiz; every option's rationale comes back as feedback."""
    if not answers:
        raise InvalidInput("Answer at least one question.")
    feedback = []
    for version_id, answer in answers.items():
        version = session.get(ItemVersion, version_id)
        item = session.get(Item, version.item_id) if version else None
        if item is None or item.pool != "practice":
            raise NotFound("There is no such practice question.")
        letters = [files.LETTERS[i] for i in range(len(version.options))]
        if any(a not in letters for a in answer):
            raise InvalidInput("An answer names an option that does not exist.")
        correct = is_correct(version.type, version.key, answer)
        session.add(
            PracticeResponse(
                user_id=user.id,
                item_version_id=version.id,
                track=item.track,
                module=item.module,
                answer=answer,
                correct=correct,
                answered_at=to_db(now),
            )
        )
        feedback.append(
            Feedback(
                version_id=version.id,
                stem=version.stem,
                type=version.type,
                correct=correct,
                answer=answer,
                key=version.key,
                options=[
                    {
                        **o,
                        "letter": letters[i],
                        "is_key": letters[i] in version.key,
                        "chosen": letters[i] in answer,
                    }
                    for i, o in enumerate(version.options)
                ],
            )
        )
    session.commit()
    return feedback


@dataclass(frozen=True)
class Readiness:
    responses: int
    enough: bool
    p_pass: float | None = None
    theta: float | None = None
    se: float | None = None
    scaled_low: int | None = None
    scaled_high: int | None = None


def scaled(theta: float, cut: float) -> int:
    """The reported scale: 500 at the cut, 100 points per logit, clipped to 200-800."""
    return int(round(min(800.0, max(200.0, 500.0 + 100.0 * (theta - cut)))))


def readiness(session: Session, *, user, track: str, cut: float) -> Readiness:
    """P(theta > cut) from the user's practice answers, under the exam's IRT model (EAP grid)."""
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
        scaled_low=scaled(low, cut),
        scaled_high=scaled(high, cut),
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
    """Current exam (operational) and pretest versions: ids, domain and 3PL parameters only.

    Every start reads it, so it is cached per process and track, and read again only when the
    bank revision (one row, bumped by every load) has moved. Treat the list as read-only.
    """
    revision = session.connection().execute(_REVISION).scalar() or 0
    key = (db.cache_scope(session), track)
    hit = _SNAPSHOTS.get(key)
    if hit is not None and hit[0] == revision:
        return hit[1]
    rows = session.exec(
        select(
            ItemVersion.id,
            Item.id,
            Item.domain,
            Item.pool,
            ItemVersion.a,
            ItemVersion.b,
            ItemVersion.c,
        )
        .join(Item, Item.current_version_id == ItemVersion.id)
        .where(
            Item.track == track,
            ((Item.pool == "exam") & (Item.status == "operational"))
            | ((Item.pool == "pretest") & (Item.status == "pretest")),
        )
        .order_by(Item.pool, Item.code)
    ).all()
    snapshot = [
        {
            "id": vid,
            "item": iid,
            "a": a,
            "b": b,
            "c": c,
            "domain": domain,
            "pretest": pool == "pretest",
        }
        for vid, iid, domain, pool, a, b, c in rows
    ]
    _SNAPSHOTS.put(key, (revision, snapshot))
    return snapshot


_SNAPSHOTS: LRU[tuple[str, str], tuple[int, list[dict]]] = LRU(256)
_REVISION = sa_select(BankRevision.__table__.c.revision).where(BankRevision.__table__.c.id == 1)
