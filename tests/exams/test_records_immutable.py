"""The database itself refuses to rewrite a candidate's record: the response log and a closed
attempt (result, status, timestamps) are immutable on both backends; an open attempt moves on."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tests.factories import exams as fx
from tests.factories.accounts import make_user

REFUSED = [
    "UPDATE exam_response SET correct = NOT correct WHERE attempt_id = :id",
    "UPDATE exam_response SET answered_at = presented_at WHERE attempt_id = :id",
    "DELETE FROM exam_response WHERE attempt_id = :id",
    "UPDATE exam_attempt SET scaled_score = 800, passed = TRUE WHERE id = :id",
    "UPDATE exam_attempt SET status = 'open' WHERE id = :id",
    "DELETE FROM exam_attempt WHERE id = :id",
]


@pytest.fixture
def finished(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock, track="CAWM")
    fx.run_to_end(session, user, clock, attempt.id, p_correct=0.3, seed=5)
    return attempt.id


@pytest.mark.parametrize("sql", REFUSED)
def test_a_finished_attempt_and_its_responses_cannot_be_changed(session, finished, sql):
    before = _record(session, finished)
    with pytest.raises(DatabaseError, match="exam records are immutable"):
        session.connection().execute(text(sql), {"id": finished})
    session.rollback()
    assert _record(session, finished) == before


def test_an_open_attempt_still_moves_on_and_its_log_still_grows(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock, track="CAWM")
    for correct in (True, False, True):
        clock.advance(minutes=1)
        assert fx.answer(session, user, clock, attempt.id, correct).accepted
    assert _record(session, attempt.id)[0][0] == "open"
    assert len(_record(session, attempt.id)[1]) == 3
    with pytest.raises(DatabaseError, match="exam records are immutable"):
        session.connection().execute(
            text("DELETE FROM exam_response WHERE attempt_id = :id"), {"id": attempt.id}
        )
    session.rollback()


def _record(session, attempt_id):
    attempt = (
        session.connection()
        .execute(
            text("SELECT status, passed, scaled_score, result FROM exam_attempt WHERE id = :id"),
            {"id": attempt_id},
        )
        .one()
    )
    responses = (
        session.connection()
        .execute(
            text(
                "SELECT position, correct, answer, presented_at, answered_at FROM exam_response "
                "WHERE attempt_id = :id ORDER BY position"
            ),
            {"id": attempt_id},
        )
        .all()
    )
    session.rollback()
    return tuple(attempt), responses
