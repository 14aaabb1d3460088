"""The responses of a track as numpy columns, for the item analysis (lean: no pseudonyms, no
datetimes in Python; one query for the responses, one for the omits).

Rows are the responses of closed attempts in attempt and position order. An omit is an item
shown to a candidate and not answered when the attempt closed (time ran out, or the attempt
was ended): exam_attempt.result["unanswered_item"] (app/exams/store.py), so attempts closed
before that was recorded count no omits.
"""

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import String, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.core import db
from app.exams.models import ExamAttempt, ExamPool, ExamResponse
from app.psychops import responses

CLOSED = ("finished", "expired")
PARTITION = 100_000
_A, _R, _P = db.table(ExamAttempt), db.table(ExamResponse), db.table(ExamPool)


@dataclass(frozen=True)
class Responses:
    """Columns (R,): attempt, version (item version id), correct, option (code into
    `options`), seconds, theta (the attempt's final theta, NaN if none), scored (False for
    pretest items). offsets (K + 1,): attempt k's rows are offsets[k]:offsets[k + 1].
    omits: item version id -> attempts that closed with it shown and unanswered."""

    attempt: np.ndarray
    version: np.ndarray
    correct: np.ndarray
    option: np.ndarray
    options: list[str]
    seconds: np.ndarray
    theta: np.ndarray
    scored: np.ndarray
    offsets: np.ndarray
    omits: dict[int, int]

    def __len__(self) -> int:
        return len(self.attempt)

    @property
    def attempts(self) -> int:
        return len(self.offsets) - 1

    @property
    def attempt_theta(self) -> np.ndarray:
        """(K,) final theta of each attempt."""
        return self.theta[self.offsets[:-1]] if len(self) else np.zeros(0)


def _seconds(dialect: str):
    if dialect == "sqlite":
        return (func.julianday(_R.c.answered_at) - func.julianday(_R.c.presented_at)) * 86400.0
    return func.extract("epoch", _R.c.answered_at - _R.c.presented_at)


def load(session: Session, *, track: str, revision_id: int | None = None) -> Responses:
    """Every response of the track's closed attempts (of one pool revision if given)."""
    conn = session.connection()
    where = [_A.c.track == track, _A.c.status.in_(CLOSED)]
    if revision_id is not None:
        where.append(_A.c.pool_revision_id == revision_id)
    query = (
        sa_select(
            _R.c.attempt_id,
            _R.c.item_version_id,
            _R.c.correct,
            cast(_R.c.answer, String),
            _seconds(conn.dialect.name),
            _A.c.result["theta"].as_float(),
            _A.c.pool_id,
        )  # fmt: skip
        .join_from(_R, _A, _A.c.id == _R.c.attempt_id)
        .where(*where)
        .order_by(_R.c.attempt_id, _R.c.position)
    )
    codes: dict[str, int] = {}
    labels: list[str] = []
    parts: list[tuple[np.ndarray, ...]] = []
    result = conn.execute(query, execution_options={"stream_results": True, "yield_per": PARTITION})
    for rows in result.partitions(PARTITION):  # a partition at a time: memory stays small
        parts.append(_columns(rows, codes, labels))
    if parts:
        attempt, version, correct, option, seconds, theta, pool = (
            np.concatenate(c) for c in zip(*parts, strict=True)
        )
    else:
        attempt, version, pool = (np.zeros(0, np.int64) for _ in range(3))
        correct, option = np.zeros(0, bool), np.zeros(0, np.int32)
        seconds, theta = np.zeros(0), np.zeros(0)
    n = len(attempt)
    scored = np.ones(n, bool)
    for pid, pretest in responses.pretest_versions(session, set(np.unique(pool).tolist())).items():
        if pretest:
            scored[(pool == pid) & np.isin(version, list(pretest))] = False
    starts = np.flatnonzero(np.r_[True, attempt[1:] != attempt[:-1]]) if n else np.zeros(0, int)
    return Responses(
        attempt=attempt, version=version, correct=correct, option=option, options=labels,
        seconds=np.round(seconds, 3), theta=theta, scored=scored,
        offsets=np.r_[starts, n].astype(np.int64), omits=_omits(session, where),
    )  # fmt: skip


def _columns(rows, codes: dict[str, int], labels: list[str]) -> tuple[np.ndarray, ...]:
    """One partition of rows as arrays; options coded into labels (shared across partitions)."""
    n = len(rows)
    attempt, version = np.empty(n, np.int64), np.empty(n, np.int64)
    correct, option = np.empty(n, bool), np.empty(n, np.int32)
    seconds, theta, pool = np.empty(n), np.empty(n), np.empty(n, np.int64)
    for i, (att, ver, ok, answer, secs, th, pid) in enumerate(rows):
        code = codes.get(answer)
        if code is None:
            code = codes[answer] = len(labels)
            labels.append("".join(str(x) for x in json.loads(answer)))
        attempt[i], version[i], correct[i], option[i], pool[i] = att, ver, ok, code, pid
        seconds[i] = secs if secs is not None else np.nan
        theta[i] = th if th is not None else np.nan
    return attempt, version, correct, option, seconds, theta, pool


def _omits(session: Session, where: list) -> dict[int, int]:
    unanswered = _A.c.result["unanswered_item"].as_integer()
    rows = session.connection().execute(
        sa_select(unanswered, func.count()).where(*where, unanswered.is_not(None))
        .group_by(unanswered)
    )  # fmt: skip
    return {int(v): int(k) for v, k in rows}
