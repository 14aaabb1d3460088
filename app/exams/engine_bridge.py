"""Between the database and app.psychometrics: the frozen policy and pool of an attempt."""

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from app.core import db
from app.core.clock import to_db
from app.core.lru import LRU
from app.exams.models import ExamAttempt, ExamPool
from app.itembank import pools
from app.itembank import service as itembank
from app.psychometrics import engine, scoring

RANDOMESQUE_K = 5  # exposure control: pick among the five most informative items
CI_LEVEL = 0.95
FACT_LIMIT = 1  # items of one fact are enemies: at most one per attempt


def freeze_policy(track_policy: dict) -> dict:
    """The part of the track's policy an attempt keeps (its scale too), plus the engine's
    settings."""
    return {
        "exam": dict(track_policy["exam"]),
        "blueprint": [dict(d) for d in track_policy["blueprint"]],
        "prerequisites": dict(track_policy["prerequisites"]),
        "scale": dict(track_policy["scale"]),
        "engine": {"randomesque_k": RANDOMESQUE_K, "ci_level": CI_LEVEL, "fact_limit": FACT_LIMIT},
    }


def scale_of(policy: dict) -> scoring.Scale:
    """The reported scale of a track's or an attempt's policy; attempts frozen before scales had
    versions keep the scale they started under, 500 + 100 (theta - cut)."""
    if "scale" in policy:
        return scoring.Scale.from_dict(policy["scale"])
    return scoring.Scale.legacy(float(policy["exam"]["cut_theta"]))


def snapshot_pool(session: Session, *, track: str) -> list[dict]:
    """Current exam and pretest item versions with their parameters and domains."""
    return itembank.pool_parameters(session, track=track)


def pool_digest(items: list[dict]) -> str:
    """Content address of a frozen pool (the migration that introduced pools uses the same)."""
    text = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_POOL_IDS: LRU[tuple, int] = LRU(256)  # (database, the items as tuples) -> exam_pool.id
_ITEM_POOLS: LRU[tuple[str, int], engine.ItemPool] = LRU(64)


def frozen_pool(
    session: Session, *, track: str, items: list[dict], now
) -> tuple[int, engine.ItemPool]:
    """The stored pool with these items (stored first if it is new) and its engine value.

    Attempts that start on the same state of the bank share one stored pool and, in a process,
    one ItemPool (whose per-policy arrays the engine memoises). Concurrent starts on a new bank
    state race to insert the same digest: the unique digest and INSERT ... ON CONFLICT DO
    NOTHING let exactly one row exist, on SQLite and PostgreSQL. Ids are remembered only once
    the row is known to be committed by someone (our own insert may still roll back).
    """
    scope = db.cache_scope(session)
    content = _content_key(scope, items)
    pool_id = _POOL_IDS.get(content)
    if pool_id is None:
        digest = pool_digest(items)
        conn = session.connection()
        insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        inserted = conn.execute(
            insert(_POOLS)
            .values(track=track, digest=digest, items=items, created_at=to_db(now))
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(_POOLS.c.id)
        ).first()  # (rowcount is not reliable here: -1 on psycopg)
        if inserted is not None:
            return inserted.id, item_pool(items)
        pool_id = conn.execute(sa_select(_POOLS.c.id).where(_POOLS.c.digest == digest)).scalar_one()
        _POOL_IDS.put(content, pool_id)
    return pool_id, _item_pool_by_id(session, pool_id, items)


_POOL_KEYS = ("id", "item", "a", "b", "c", "domain", "fact", "pretest")
_CONTENT_KEYS: LRU[int, tuple[list, tuple]] = LRU(16)


def _content_key(scope: str, items: list[dict]) -> tuple:
    """A hashable key for a pool's content; memoised for the (cached, shared) snapshot lists
    that starts pass in, which are kept alive here so their id cannot be reused."""
    hit = _CONTENT_KEYS.get(id(items))
    if hit is not None and hit[0] is items and hit[1][0] == scope:
        return hit[1]
    key = (scope, tuple(tuple(p.get(k) for k in _POOL_KEYS) for p in items))
    _CONTENT_KEYS.put(id(items), (items, key))
    return key


def _item_pool_by_id(session: Session, pool_id: int, items: list[dict] | None = None):
    """The engine value of a stored (committed) pool, cached per process."""
    key = (db.cache_scope(session), pool_id)
    hit = _ITEM_POOLS.get(key)
    if hit is None:
        if items is None:
            items = (
                session.connection()
                .execute(sa_select(_POOLS.c["items"]).where(_POOLS.c.id == pool_id))
                .scalar_one()
            )
        hit = _ITEM_POOLS.put(key, item_pool(items))
    return hit


def pool_items(session: Session, attempt_id: int) -> list[dict]:
    """The frozen pool of an attempt as stored (ids, items, domains, facts, parameters, pretest)."""
    return (
        session.connection()
        .execute(
            sa_select(_POOLS.c["items"])
            .join_from(_ATTEMPTS, _POOLS, _POOLS.c.id == _ATTEMPTS.c.pool_id)
            .where(_ATTEMPTS.c.id == attempt_id)
        )
        .scalar_one()
    )


def cat_policy(policy: dict, exposure: dict | None = None) -> engine.CatPolicy:
    """The engine policy of a frozen policy dict, with a pool revision's stored exposure
    control (CatPolicy fields in to_dict form, app/itembank/pools.py) applied if given."""
    built = _cat_policy(policy)
    if not exposure:
        return built
    return engine.CatPolicy.from_dict({**built.to_dict(), **exposure})


def _cat_policy(policy: dict) -> engine.CatPolicy:
    exam = policy["exam"]
    return engine.CatPolicy(
        min_items=exam["min_items"],
        max_items=exam["max_items"],
        cut_theta=exam["cut_theta"],
        blueprint=tuple((str(d["code"]), float(d["weight"])) for d in policy["blueprint"]),
        randomesque_k=policy["engine"]["randomesque_k"],
        ci_level=policy["engine"]["ci_level"],
        pretest_count=exam["pretest_items"],
        scale=scale_of(policy),
        fact_limit=policy["engine"].get("fact_limit", 0),  # frozen before enemy sets: none
    )


def item_pool(pool: list[dict]) -> engine.ItemPool:
    return engine.ItemPool.from_lists(
        [str(p["id"]) for p in pool],
        [p["a"] for p in pool],
        [p["b"] for p in pool],
        [p["c"] for p in pool],
        [p["domain"] for p in pool],
        is_pretest=[p["pretest"] for p in pool],
        fact=[p.get("fact") for p in pool],
    )


def pool_problems(session: Session, *, track: str, policy: dict) -> list[str]:
    """Why the track's current pool cannot serve its policy (engine.pool_problems); the
    loaders report these, so no candidate ever meets them."""
    items = snapshot_pool(session, track=track)
    if not items:
        return ["no exam items"]
    return engine.pool_problems(cat_policy(freeze_policy(policy)), item_pool(items))


@dataclass(frozen=True)
class Frozen:
    """An attempt's policy, pool and state as engine values."""

    policy: engine.CatPolicy
    pool: engine.ItemPool
    state: engine.AttemptState


_FROZEN: LRU[tuple[str, int], tuple[engine.CatPolicy, engine.ItemPool]] = LRU(1024)
_ATTEMPTS = db.table(ExamAttempt)
_POOLS = db.table(ExamPool)
_FROZEN_QUERY = sa_select(
    _ATTEMPTS.c.policy, _ATTEMPTS.c.pool_id, _ATTEMPTS.c.pool_revision_id
).where(_ATTEMPTS.c.id == bindparam("id"))


def frozen_parts(session: Session, attempt_id: int) -> tuple[engine.CatPolicy, engine.ItemPool]:
    """The attempt's policy and pool as engine values, cached per process.

    Both are frozen when the attempt starts and never change (nor does the exposure control of
    the pool revision it started on), so a cache keyed by the attempt id is always right; the
    pool itself is shared with every attempt on the same stored pool.
    """
    key = (db.cache_scope(session), attempt_id)
    parts = _FROZEN.get(key)
    if parts is None:
        row = session.connection().execute(_FROZEN_QUERY, {"id": attempt_id}).one()
        exposure = None
        if row.pool_revision_id is not None:  # its exposure control, stored once, never changed
            exposure = pools.derived(session, row.pool_revision_id).exposure
        parts = (cat_policy(row.policy, exposure), _item_pool_by_id(session, row.pool_id))
        _FROZEN.put(key, parts)
    return parts


def remember_frozen(
    session: Session, attempt_id: int, pool_id: int, policy: engine.CatPolicy, pool: engine.ItemPool
) -> None:
    """Cache what a start has just frozen and committed, so that the attempt's first answer
    in this process does not read and rebuild it. The stored pool is committed now, so its
    engine value may be shared from here on (frozen_pool could not share a new one yet)."""
    scope = db.cache_scope(session)
    shared = _ITEM_POOLS.get((scope, pool_id)) or _ITEM_POOLS.put((scope, pool_id), pool)
    _FROZEN.put((scope, attempt_id), (policy, shared))


def thaw(session: Session, attempt_id: int, state: dict | engine.AttemptState) -> Frozen:
    """Policy, pool and the given state (stored form or engine value) of an attempt."""
    policy, pool = frozen_parts(session, attempt_id)
    if not isinstance(state, engine.AttemptState):
        state = engine.AttemptState.from_dict(state)
    return Frozen(policy=policy, pool=pool, state=state)
