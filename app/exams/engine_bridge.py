"""Between the database and app.psychometrics: the frozen policy and pool of an attempt."""

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
    rows = itembank.current_versions(session, track=track, pool="exam")
    rows += itembank.current_versions(session, track=track, pool="pretest", statuses=("pretest",))
    return [
        {
            "id": v.id,
            "item": item.id,
            "a": v.a,
            "b": v.b,
            "c": v.c,
            "domain": item.domain,
            "pretest": item.pool == "pretest",
        }
        for item, v in rows
    ]


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


def thaw(attempt: ExamAttempt) -> Frozen:
    return Frozen(
        policy=cat_policy(attempt.policy),
        pool=item_pool(attempt.pool),
        state=engine.AttemptState.from_dict(attempt.state),
    )


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
