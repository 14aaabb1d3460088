"""Prepared statements give the same results as Connection.execute, on both backends."""

from datetime import datetime

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.core.prepared import Prepared

META = MetaData()
THINGS = Table(
    "prepared_probe",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
    Column("state", JSON, nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("at", DateTime, nullable=True),
    Column("step", Integer, nullable=False),
    Column("status", String(10), nullable=False),
)
KEYS = ("id", "name", "state", "flag", "at", "step", "status")
INSERT = Prepared(THINGS.insert(), keys=KEYS)
READ = Prepared(
    select(THINGS.c.name, THINGS.c.state, THINGS.c.flag, THINGS.c.at).where(
        THINGS.c.id == bindparam("w_id")
    )
)
ADVANCE = Prepared(
    THINGS.update()
    .where(
        THINGS.c.id == bindparam("w_id"),
        THINGS.c.step == bindparam("w_step"),
        THINGS.c.status == "open",
    )
    .values(step=THINGS.c.step + 1, at=None, state=bindparam("v_state", type_=JSON))
)
AT = datetime(2026, 12, 2, 13, 45, 7, 123456)


@pytest.fixture
def db(app):
    META.create_all(app.state.engine)
    with Session(app.state.engine, expire_on_commit=False) as session:
        yield session


def row(**values) -> dict:
    return {
        "id": 1,
        "name": "one",
        "state": {"a": [1, 2.5, None], "b": "é"},
        "flag": True,
        "at": AT,
        "step": 0,
        "status": "open",
        **values,
    }


def test_insert_and_read_match_sqlalchemy(db):
    INSERT.execute(db, row())
    db.commit()
    ours = READ.execute(db, {"w_id": 1}).first()
    theirs = db.connection().execute(READ.statement, {"w_id": 1}).first()
    assert ours == tuple(theirs) == ("one", {"a": [1, 2.5, None], "b": "é"}, True, AT)
    assert READ.execute(db, {"w_id": 2}).first() is None


def test_conditional_update_counts_rows_and_applies_fixed_values(db):
    INSERT.execute(db, row())
    assert ADVANCE.execute(db, {"w_id": 1, "w_step": 0, "v_state": {"n": 1}}).rowcount == 1
    assert ADVANCE.execute(db, {"w_id": 1, "w_step": 0, "v_state": {"n": 2}}).rowcount == 0
    db.commit()
    got = db.connection().execute(select(THINGS.c.step, THINGS.c.at, THINGS.c.state)).one()
    assert tuple(got) == (1, None, {"n": 1})
    INSERT.execute(db, row(id=2, name="two", status="closed"))
    assert ADVANCE.execute(db, {"w_id": 2, "w_step": 0, "v_state": {}}).rowcount == 0


def test_runs_in_the_session_transaction(db):
    INSERT.execute(db, row())
    db.rollback()
    assert READ.execute(db, {"w_id": 1}).first() is None
    INSERT.execute(db, row())
    db.commit()
    db.close()
    assert READ.execute(db, {"w_id": 1}).first() is not None


def test_driver_errors_are_sqlalchemy_errors(db):
    INSERT.execute(db, row())
    with pytest.raises(IntegrityError):
        INSERT.execute(db, row(id=2))  # the same unique name
    db.rollback()


def test_sqlite_write_lock_is_held_until_commit(db, backend):
    raw = db.connection().connection.dbapi_connection
    if backend != "sqlite":  # PostgreSQL has row locks, and no in-process writer lock
        assert not hasattr(raw, "take_write_lock")
        return
    assert not raw.holds_write_lock
    INSERT.execute(db, row())
    assert raw.holds_write_lock
    db.commit()
    assert not raw.holds_write_lock


def test_unsupported_statements_are_refused_when_prepared(db):
    defaults = Table(
        "prepared_defaults", MetaData(), Column("id", Integer, primary_key=True),
        Column("n", Integer, default=lambda: 7),
    )  # fmt: skip
    with pytest.raises(ValueError, match="defaults"):
        Prepared(defaults.insert(), keys=("id",)).execute(db, {"id": 1})
    expanding = Prepared(
        select(THINGS.c.id).where(THINGS.c.id.in_(bindparam("ids", expanding=True)))
    )
    with pytest.raises(ValueError, match="IN"):
        expanding.execute(db, {"ids": [1]})


def test_pipelined_block_reads_counts_and_commits(db):
    """In a pipelined block (pipeline mode on PostgreSQL, nothing special on SQLite) counts
    and rows arrive when read, and the commit ends the block's transaction."""
    from app.core import db as core_db
    from app.core import prepared

    with prepared.pipelined(db):
        INSERT.execute(db, row())
        advanced = ADVANCE.execute(db, {"w_id": 1, "w_step": 0, "v_state": {"n": 1}})
        missed = ADVANCE.execute(db, {"w_id": 9, "w_step": 0, "v_state": {}})
        assert READ.execute(db, {"w_id": 1}).first()[0] == "one"
        core_db.commit(db)
        assert (advanced.rowcount, missed.rowcount) == (1, 0)
    db.close()
    assert READ.execute(db, {"w_id": 1}).first()[1] == {"n": 1}


def test_pipelined_errors_are_sqlalchemy_errors_and_nothing_is_kept(db):
    from app.core import db as core_db
    from app.core import prepared

    INSERT.execute(db, row())
    db.commit()
    with pytest.raises(IntegrityError), prepared.pipelined(db):
        INSERT.execute(db, row(id=2, name="two"))
        INSERT.execute(db, row(id=3))  # the same unique name as row 1
        core_db.commit(db)
    core_db.rollback(db)
    assert READ.execute(db, {"w_id": 2}).first() is None


def test_attached_session_commits_and_rolls_back_on_its_connection(app, db):
    """A lane's session (attached): statements run outside the Session's own transaction,
    db.commit and db.rollback end them, and ORM work joins the same transaction."""
    from app.core import db as core_db

    with app.state.engine.connect() as conn:
        session = Session(bind=conn, expire_on_commit=False)
        core_db.attach(session, conn.connection.driver_connection, conn.dialect)
        INSERT.execute(session, row())
        assert session.get_transaction() is None  # the Session's bookkeeping was skipped
        core_db.rollback(session)
        INSERT.execute(session, row(id=2, name="two"))
        core_db.commit(session)
        INSERT.execute(session, row(id=3, name="three"))
        session.connection().execute(ADVANCE.statement, {"w_id": 2, "w_step": 0, "v_state": {}})
        core_db.commit(session)  # through the Session: both statements
        session.close()
        core_db.end(session)
    names = [r[0] for r in db.connection().execute(select(THINGS.c.name).order_by(THINGS.c.id))]
    assert names == ["two", "three"]


def test_no_connection_goes_back_to_the_pool_in_pipeline_mode(app, db):
    """The commit inside a pipelined block ends the pipeline before the Session gives its
    connection back: a connection checked in while still in pipeline mode was taken by
    another request thread while this one still left the mode ("connection not in pipeline
    mode" on the other's checkout, test_two_concurrent_submissions_record_one_response)."""
    from sqlalchemy import event

    from app.core import db as core_db
    from app.core import prepared

    checked_in = []

    def record(dbapi_connection, _record):
        checked_in.append(getattr(dbapi_connection, "_pipeline", None))

    event.listen(app.state.engine, "checkin", record)
    try:
        with prepared.pipelined(db):
            INSERT.execute(db, row())
            advanced = ADVANCE.execute(db, {"w_id": 1, "w_step": 0, "v_state": {"n": 2}})
            core_db.commit(db)
            assert advanced.rowcount == 1
        with prepared.pipelined(db):
            missed = ADVANCE.execute(db, {"w_id": 1, "w_step": 0, "v_state": {}})
            assert missed.rowcount == 0
            core_db.rollback(db)
        db.close()
    finally:
        event.remove(app.state.engine, "checkin", record)
    assert len(checked_in) == 2 and checked_in == [None, None]
    assert READ.execute(db, {"w_id": 1}).first()[1] == {"n": 2}
