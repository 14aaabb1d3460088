"""Practice quizzes: draw, grade, record (for the readiness estimate); never exam items."""

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import db
from app.core.clock import to_db
from app.core.errors import InvalidInput, NotFound
from app.itembank import files
from app.itembank.models import Item, ItemVersion, PracticeResponse
from app.itembank.service import current_versions, is_correct


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
    return [_question(v) for _, v in pairs[:n]]


@dataclass(frozen=True)
class Feedback:
    version_id: int
    stem: str
    type: str
    correct: bool
    answer: list[str]
    key: list[str]
    options: list[dict]  # text, rationale, letter, is_key, chosen


def grade_practice(session: Session, answers: dict[int, list[str]]) -> list[Feedback]:
    """Feedback on practice answers (version id -> letters): the key and every option's
    rationale. Reads only; refuses an empty quiz or an item outside the practice pool."""
    if not answers:
        raise InvalidInput("Answer at least one question before you check your answers.")
    feedback = []
    for version_id, answer in answers.items():
        version = session.get(ItemVersion, version_id)
        item = session.get(Item, version.item_id) if version else None
        if item is None or item.pool != "practice" or item.status != "operational":
            raise NotFound("There is no such practice question.")
        letters = [files.LETTERS[i] for i in range(len(version.options))]
        if any(a not in letters for a in answer):
            raise InvalidInput("An answer names an option that does not exist.")
        feedback.append(
            Feedback(
                version_id=version.id,
                stem=version.stem,
                type=version.type,
                correct=is_correct(version.type, version.key, answer),
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
    return feedback


def answer_practice(
    *, session: Session, user, answers: dict[int, list[str]], now: datetime
) -> list[Feedback]:
    """Score a submitted practice quiz and record each answer (for readiness); the feedback."""
    feedback = grade_practice(session, answers)
    for f in feedback:
        item = session.get(Item, session.get(ItemVersion, f.version_id).item_id)
        session.add(
            PracticeResponse(
                user_id=user.id,
                item_version_id=f.version_id,
                track=item.track,
                module=item.module,
                answer=f.answer,
                correct=f.correct,
                answered_at=to_db(now),
            )
        )
    db.commit(session)
    return feedback


def practice_questions(session: Session, *, track: str, module: str, ids: list[int]):
    """The questions of a quiz already drawn (to show it again with a message): those of ids
    that are current practice items of the module, in the order given."""
    pairs = current_versions(session, track=track, pool="practice", module=module)
    current = {v.id: v for _, v in pairs}
    return [_question(v) for v in (current.get(i) for i in ids) if v is not None]


def _question(v: ItemVersion) -> QuizQuestion:
    return QuizQuestion(
        version_id=v.id, type=v.type, stem=v.stem, options=[o["text"] for o in v.options]
    )
