"""Between the database and app.psychometrics: the frozen policy and pool of an attempt."""

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from app.core import db
from app.core.clock import to_db
from app.exams.models import ExamAttempt, ExamPool, ExamResponse
from app.itembank import service as itembank
from app.psychometrics import engine

RANDOMESQUE_K = 5  # exposure control: pick among the five most informative items
CI_LEVEL = 0.95


def freeze_policy(track_policy: dict) -> dict:
    """The part of the track's policy an attempt keeps, plus the engine's settings."""
    return {
        "exam": dict(track_policy["exam"]),
        "blueprint": [dict(d) for d in track_policy["blueprint"]],
        "prerequisites": dict(track_policy["prerequisites"]),
        "engine": {"randomesque_k": RANDOMESQUE_K, "ci_level": CI_LEVEL},
    }


def snapshot_pool(session: Session, *, track: str) -> list[dict]:
    """Current exam and pretest item versions with their parameters and domains."""
    return itembank.pool_parameters(session, track=track)


def pool_digest(items: list[dict]) -> str:
    """Content address of a frozen pool (the migration that introduced pools uses the same)."""
    text = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_POOL_IDS: dict[tuple[str, str], int] = {}


def frozen_pool_id(session: Session, *, track: str, items: list[dict], now) -> int:
    """The id of the stored pool with these items, storing it first if it is new.

    Concurrent starts on a new bank state race to insert the same digest: the unique digest
    and INSERT ... ON CONFLICT DO NOTHING let exactly one row exist, on SQLite and PostgreSQL.
    """
    digest = pool_digest(items)
    key = (db.cache_scope(session), digest)
    hit = _POOL_IDS.get(key)
    if hit is not None:
        return hit
    conn = session.connection()
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    inserted = conn.execute(
        insert(_POOLS)
        .values(track=track, digest=digest, items=items, created_at=to_db(now))
        .on_conflict_do_nothing(index_elements=["digest"])
    ).rowcount
    pool_id = conn.execute(sa_select(_POOLS.c.id).where(_POOLS.c.digest == digest)).scalar_one()
    if not inserted:  # the row was there, committed: safe to remember (ours might roll back)
        _POOL_IDS[key] = pool_id
    return pool_id


def pool_items(session: Session, attempt_id: int) -> list[dict]:
    """The frozen pool of an attempt as stored (ids, item ids, domains, parameters, pretest)."""
    return (
        session.connection()
        .execute(
            sa_select(_POOLS.c["items"])
            .join_from(_ATTEMPTS, _POOLS, _POOLS.c.id == _ATTEMPTS.c.pool_id)
            .where(_ATTEMPTS.c.id == attempt_id)
        )
        .scalar_one()
    )


def cat_policy(policy: dict) -> engine.CatPolicy:
    exam = policy["exam"]
    return engine.CatPolicy(
        min_items=exam["min_items"],
        max_items=exam["max_items"],
        cut_theta=exam["cut_theta"],
        blueprint=tuple((str(d["code"]), float(d["weight"])) for d in policy["blueprint"]),
        randomesque_k=policy["engine"]["randomesque_k"],
        ci_level=policy["engine"]["ci_level"],
        pretest_count=exam["pretest_items"],
    )


def item_pool(pool: list[dict]) -> engine.ItemPool:
    return engine.ItemPool.from_lists(
        [str(p["id"]) for p in pool],
        [p["a"] for p in pool],
        [p["b"] for p in pool],
        [p["c"] for p in pool],
        [p["domain"] for p in pool],
        is_pretest=[p["pretest"] for p in pool],
    )


@dataclass(frozen=True)
class Frozen:
    """An attempt's policy, pool and state as engine values."""

    policy: engine.CatPolicy
    pool: engine.ItemPool
    state: engine.AttemptState


_FROZEN: OrderedDict[tuple[str, int], tuple[engine.CatPolicy, engine.ItemPool]] = OrderedDict()
_FROZEN_MAX = 1024
_ATTEMPTS = ExamAttempt.__table__
_POOLS = ExamPool.__table__
_FROZEN_QUERY = (
    sa_select(_ATTEMPTS.c.policy, _POOLS.c["items"])
    .join_from(_ATTEMPTS, _POOLS, _POOLS.c.id == _ATTEMPTS.c.pool_id)
    .where(_ATTEMPTS.c.id == bindparam("id"))
)


def frozen_parts(session: Session, attempt_id: int) -> tuple[engine.CatPolicy, engine.ItemPool]:
    """The attempt's policy and pool as engine values, cached per process.

    Both are frozen when the attempt starts and never change, so a cache keyed by the attempt id
    is always right; it spares every request decoding and rebuilding a pool of several hundred
    items (the two columns are read only on a miss).
    """
    key = (db.cache_scope(session), attempt_id)
    parts = _FROZEN.get(key)
    if parts is None:
        row = session.connection().execute(_FROZEN_QUERY, {"id": attempt_id}).one()
        parts = (cat_policy(row.policy), item_pool(row.items))
        _FROZEN[key] = parts
        if len(_FROZEN) > _FROZEN_MAX:
            _FROZEN.popitem(last=False)
    else:
        _FROZEN.move_to_end(key)
    return parts


def thaw(session: Session, attempt_id: int, state: dict) -> Frozen:
    """Policy, pool and the given stored state of an attempt as engine values."""
    policy, pool = frozen_parts(session, attempt_id)
    return Frozen(policy=policy, pool=pool, state=engine.AttemptState.from_dict(state))


def recorded_responses(session: Session, attempt_id: int) -> list[tuple[str, bool]]:
    """(item id, correct) pairs of the response log, in order: what the result is scored on."""
    rows = session.exec(
        select(ExamResponse.item_version_id, ExamResponse.correct)
        .where(ExamResponse.attempt_id == attempt_id)
        .order_by(ExamResponse.position)
    ).all()
    return [(str(vid), bool(ok)) for vid, ok in rows]
