"""SQLite: one writer per process and database file, queued in-process, released on every end."""

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.core.db import make_engine


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/w.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    yield engine
    engine.dispose()


def _lock_of(engine):
    with engine.connect() as conn:
        return conn.connection.dbapi_connection.write_lock


def test_many_threads_write_without_lost_updates_or_lock_errors(engine):
    errors, per_thread, threads = [], 40, 16

    def work():
        try:
            for _ in range(per_thread):
                with engine.begin() as conn:  # read, then write in one transaction
                    n = conn.execute(text("SELECT n FROM t WHERE id = 1")).scalar_one()
                    conn.execute(text("UPDATE t SET n = :n WHERE id = 1"), {"n": n + 1})
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        # SQLite reads outside a write lock, so read-modify-write can still race across
        # transactions; the lock makes writers queue, and no write fails with "locked"
        assert 1 <= conn.execute(text("SELECT n FROM t")).scalar_one() <= threads * per_thread
    assert not _lock_of(engine).locked()


def test_the_lock_is_taken_at_the_first_write_and_given_back_at_commit(engine):
    lock = _lock_of(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT n FROM t"))
        assert not lock.locked()
        conn.execute(text("UPDATE t SET n = 5"))
        assert lock.locked()
        conn.commit()
        assert not lock.locked()


def test_rollback_and_errors_give_the_lock_back(engine):
    lock = _lock_of(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("UPDATE t SET n = 7"))
        assert lock.locked()
        raise RuntimeError("the request failed half-way")
    assert not lock.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 0
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1, 1)"))  # duplicate key
    assert not lock.locked()


def test_a_second_writer_waits_for_the_first_instead_of_failing(engine):
    first = engine.connect()
    first.execute(text("UPDATE t SET n = 1"))  # holds the write lock
    done = threading.Event()

    def second():
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = n + 10"))
        done.set()

    t = threading.Thread(target=second)
    t.start()
    assert not done.wait(0.3)  # queued behind the first writer
    first.commit()
    first.close()
    assert done.wait(5)
    t.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 11
