"""The hash-chained audit log, on both backends (PostgreSQL appends with one statement that
hashes in the database; the chain must read the same either way)."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.core import audit
from app.core.models import AuditEntry


def _append(session, clock, n: int, **extra) -> None:
    for i in range(n):
        audit.record(
            session,
            action=extra.get("action", "test.event"),
            at=clock() + timedelta(microseconds=i),
            actor_id=extra.get("actor_id", i),
            subject=extra.get("subject", f"thing:{i}"),
            data=extra.get("data", {"i": i}),
        )
        session.commit()


def test_appended_entries_verify(session, clock):
    before = audit.verify(session).entries
    _append(session, clock, 5)
    report = audit.verify(session)
    assert report.ok, report.problems
    assert report.entries == before + 5


def test_awkward_values_hash_the_same_in_python_and_the_database(session, clock):
    _append(
        session,
        clock,
        1,
        actor_id=None,
        subject='quote " backslash \\ tab \t é ü 中文 🎓',
        data={"name": 'Zoë O\'Brien "QA"', "n": 1.5, "nested": {"ok": True, "none": None}},
    )
    entry = audit.recent(session, limit=1)[0]
    expected = audit._digest(
        entry.prev_hash, entry.seq, entry.at, entry.actor_id, entry.action, entry.subject,
        entry.data,
    )  # fmt: skip
    assert entry.hash == expected
    assert audit.verify(session).ok


def _tamper(session, sql: str) -> None:
    """Change the log behind the application's back (its triggers refuse, so lift them)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
        conn.execute(text(sql))
        conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_entry_no_update"))
        conn.execute(text("DROP TRIGGER audit_entry_no_delete"))
        conn.execute(text(sql))
    session.commit()


def test_the_database_refuses_changes(session, clock):
    _append(session, clock, 1)
    with pytest.raises(Exception, match="append-only"):
        session.connection().execute(text("UPDATE audit_entry SET data = '{}'"))
    session.rollback()


def test_a_changed_entry_is_found(session, clock):
    _append(session, clock, 3)
    seq = audit.recent(session, limit=2)[1].seq
    _tamper(session, f"UPDATE audit_entry SET data = '{{\"i\": 99}}' WHERE seq = {seq}")
    report = audit.verify(session)
    assert not report.ok
    assert f"entry #{seq}: its content was changed after it was written" in report.problems


def test_a_removed_entry_is_found(session, clock):
    _append(session, clock, 3)
    seq = audit.recent(session, limit=2)[1].seq
    _tamper(session, f"DELETE FROM audit_entry WHERE seq = {seq}")
    problems = audit.verify(session).problems
    assert f"entry #{seq + 1}: expected #{seq} (an entry is missing)" in problems


def test_concurrent_appends_keep_one_chain(app, clock):
    """Eight threads appending at once (PostgreSQL: row lock on the head inside the one
    statement; SQLite: the single writer) leave a gapless chain that verifies."""
    errors: list[Exception] = []

    def worker(k: int) -> None:
        try:
            with Session(app.state.engine) as own:
                _append(own, clock, 10, actor_id=k)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(app.state.engine) as session:
        report = audit.verify(session)
        assert report.ok, report.problems
        seqs = list(session.exec(select(AuditEntry.seq).order_by(AuditEntry.id)))
        assert seqs == list(range(1, len(seqs) + 1))
        events = session.exec(select(AuditEntry.id).where(AuditEntry.action == "test.event"))
        assert len(list(events)) == 80


def test_sqlite_replacing_insert_cannot_rewrite_an_entry(session, clock, backend):
    """INSERT OR REPLACE deletes the old row without firing its DELETE trigger (issue 15, F-11)."""
    if backend != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    _append(session, clock, 2)
    seq = audit.recent(session, limit=1)[0].seq
    with pytest.raises(Exception, match="immutable"):
        session.connection().execute(
            text(
                "INSERT OR REPLACE INTO audit_entry (id, seq, at, actor_id, action, subject, "
                "data, prev_hash, hash) SELECT id, seq, at, actor_id, 'rewritten', subject, "
                "data, prev_hash, hash FROM audit_entry WHERE seq = :seq"
            ),
            {"seq": seq},
        )
    session.rollback()
    assert audit.recent(session, limit=1)[0].action == "test.event"
