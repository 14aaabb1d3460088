"""Reads over many attempts for the layers above: candidates' final estimates, item p-values."""

import numpy as np
from sqlalchemy import Integer, case, func
from sqlmodel import Session, col, select

from app.exams.models import ExamAttempt, ExamResponse

CLOSED = ("finished", "expired")


def final_thetas(session: Session, *, track: str) -> np.ndarray:
    """The final ability estimate (theta) of every closed attempt of the track, (M,)."""
    theta = ExamAttempt.result["theta"].as_float()
    rows = session.exec(
        select(theta).where(ExamAttempt.track == track, col(ExamAttempt.status).in_(CLOSED))
    ).all()
    return np.array([t for t in rows if t is not None], dtype=float)


def p_values(session: Session, version_ids: list[int]) -> dict[int, tuple[float, int]]:
    """Per item version: (share answered correctly, responses) over closed attempts."""
    if not version_ids:
        return {}
    right = func.sum(case((ExamResponse.correct, 1), else_=0).cast(Integer))
    rows = session.exec(
        select(ExamResponse.item_version_id, right, func.count())
        .join(ExamAttempt, ExamAttempt.id == ExamResponse.attempt_id)
        .where(
            col(ExamResponse.item_version_id).in_(version_ids), col(ExamAttempt.status).in_(CLOSED)
        )
        .group_by(ExamResponse.item_version_id)
    ).all()
    return {int(v): (float(r) / n, int(n)) for v, r, n in rows if n}
