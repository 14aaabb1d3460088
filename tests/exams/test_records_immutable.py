"""The database itself refuses to rewrite a candidate's record: the response log and a closed
attempt (result, status, timestamps) are immutable on both backends; an open attempt moves on.
Nor do the statements that skip row triggers get around it (issue 15, F-11): SQLite's
INSERT OR REPLACE, PostgreSQL's TRUNCATE, or a response added to a closed attempt."""

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


# SQLite's replacing inserts: each copies a stored row with one change; before F-11 the
# conflicting row was deleted without firing its DELETE trigger (a changed answer, a fail
# turned into an 800 pass).
REPLACING = [
    "INSERT OR REPLACE INTO exam_response ({cols}) SELECT {vals} FROM exam_response "
    "WHERE attempt_id = :id AND position = 1",
    "REPLACE INTO exam_attempt ({cols}) SELECT {vals} FROM exam_attempt WHERE id = :id",
]
CHANGES = {"correct": "NOT correct", "passed": "1", "scaled_score": "800", "status": "'finished'"}


def _copy_with_changes(session, sql: str) -> str:
    table = sql.split(" (")[0].split()[-1]
    cols = [r[1] for r in session.connection().execute(text(f"PRAGMA table_info({table})"))]
    vals = [CHANGES.get(c, c) for c in cols]
    return sql.format(cols=", ".join(cols), vals=", ".join(vals))


@pytest.mark.parametrize("sql", REPLACING)
def test_sqlite_replacing_inserts_cannot_rewrite_a_record(session, finished, sql, backend):
    if backend != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    before = _record(session, finished)
    with pytest.raises(DatabaseError, match="exam records are immutable"):
        session.connection().execute(text(_copy_with_changes(session, sql)), {"id": finished})
    session.rollback()
    assert _record(session, finished) == before


def test_sqlite_update_or_replace_cannot_move_an_open_attempt_onto_a_closed_one(
    session, clock, finished, backend
):
    if backend != "sqlite":
        pytest.skip("UPDATE OR REPLACE is SQLite's")
    before = _record(session, finished)
    open_one = fx.start(session, make_user(session), clock, track="CAWM")
    with pytest.raises(DatabaseError, match="exam records are immutable"):
        session.connection().execute(
            text("UPDATE OR REPLACE exam_attempt SET id = :closed WHERE id = :open"),
            {"closed": finished, "open": open_one.id},
        )
    session.rollback()
    assert _record(session, finished) == before


def test_postgres_truncate_cannot_empty_the_records(session, finished, backend):
    if backend != "postgres":
        pytest.skip("TRUNCATE without row triggers is PostgreSQL's")
    before = _record(session, finished)
    for table in ("exam_response", "exam_attempt", "exam_decision", "audit_entry"):
        with pytest.raises(DatabaseError, match="immutable"):
            session.connection().execute(text(f"TRUNCATE {table} CASCADE"))
        session.rollback()
    assert _record(session, finished) == before


def test_no_response_can_be_added_to_a_closed_attempt(session, finished):
    before = _record(session, finished)
    with pytest.raises(DatabaseError, match="exam records are immutable"):
        session.connection().execute(
            text(
                "INSERT INTO exam_response (attempt_id, position, item_version_id, token, "
                "answer, correct, presented_at, answered_at) SELECT attempt_id, 99, "
                "item_version_id, 'extra', answer, correct, presented_at, answered_at "
                "FROM exam_response WHERE attempt_id = :id AND position = 1"
            ),
            {"id": finished},
        )
    session.rollback()
    assert _record(session, finished) == before


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
