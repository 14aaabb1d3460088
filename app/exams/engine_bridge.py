"""Between the database and app.psychometrics: the frozen policy and pool of an attempt."""

from collections import OrderedDict
from dataclasses import dataclass

from sqlmodel import Session, select

from app.exams.models import ExamAttempt, ExamResponse
from app.itembank import service as itembank
from app.itembank.models import ItemVersion
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


_FROZEN: OrderedDict[int, tuple[engine.CatPolicy, engine.ItemPool]] = OrderedDict()
_FROZEN_MAX = 1024


def frozen_parts(attempt: ExamAttempt) -> tuple[engine.CatPolicy, engine.ItemPool]:
    """The attempt's policy and pool as engine values, cached per process.

    Both are frozen when the attempt starts and never change, so a cache keyed by the attempt id
    is always right; it spares every request decoding and rebuilding a pool of several hundred
    items (and the pool column is not even read on a hit: routes load attempts with it deferred).
    """
    parts = _FROZEN.get(attempt.id)
    if parts is None:
        parts = (cat_policy(attempt.policy), item_pool(attempt.pool))
        _FROZEN[attempt.id] = parts
        if len(_FROZEN) > _FROZEN_MAX:
            _FROZEN.popitem(last=False)
    else:
        _FROZEN.move_to_end(attempt.id)
    return parts


def thaw(attempt: ExamAttempt) -> Frozen:
    policy, pool = frozen_parts(attempt)
    return Frozen(policy=policy, pool=pool, state=engine.AttemptState.from_dict(attempt.state))


def recorded_responses(session: Session, attempt_id: int) -> list[tuple[str, bool]]:
    """(item id, correct) pairs of the response log, in order: what the result is scored on."""
    rows = session.exec(
        select(ExamResponse.item_version_id, ExamResponse.correct)
        .where(ExamResponse.attempt_id == attempt_id)
        .order_by(ExamResponse.position)
    ).all()
    return [(str(vid), bool(ok)) for vid, ok in rows]


def score(version: ItemVersion, answer: list[str]) -> bool:
    if version.type == "ordering":
        return list(answer) == list(version.key)
    return sorted(answer) == sorted(version.key)
