"""The audit log: append-only, each entry hash-chained to the one before it."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, bindparam, text
from sqlmodel import Session, select

from app.core import prepared
from app.core.clock import as_utc, to_db
from app.core.models import AuditEntry, AuditHead
from app.core.prepared import Prepared

GENESIS = "0" * 64


def _canonical(values: list) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def _digest(prev_hash: str, seq: int, at: datetime, actor_id, action, subject, data: str) -> str:
    payload = _canonical([prev_hash, seq, as_utc(at).isoformat(), actor_id, action, subject, data])
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    at: datetime,
    actor_id: int | None = None,
    subject: str = "",
    data: dict | None = None,
) -> None:
    """Append an entry in the caller's transaction.

    The head row serialises writers (its row lock on PostgreSQL, the single writer on
    SQLite), so callers append last, just before they commit. Core statements, not the ORM:
    this runs once per exam answer. On PostgreSQL the whole append is one statement (the head
    locked, the entry hashed by the database from the same bytes _digest hashes, the head
    moved on), so with the commit pipelined after it the lock is held for one round trip.
    """
    session.flush()  # the caller's pending rows go first (and surface their errors here)
    payload = json.dumps(data or {}, sort_keys=True, ensure_ascii=False, default=str)
    at = to_db(at)
    if prepared.dialect_name(session) == "postgresql":
        tail = _canonical([as_utc(at).isoformat(), actor_id, action, subject, payload])[1:]
        _APPEND_PG.execute(
            session,
            {
                "tail": tail,
                "at": at,
                "actor_id": actor_id,
                "action": action,
                "subject": subject,
                "data": payload,
            },
        )
        return
    seq, prev_hash = _BUMP.execute(session).one()
    digest = _digest(prev_hash, seq, at, actor_id, action, subject, payload)
    _APPEND.execute(
        session,
        {
            "seq": seq,
            "at": at,
            "actor_id": actor_id,
            "action": action,
            "subject": subject,
            "data": payload,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    _TIP.execute(session, {"h": digest})


_ENTRIES = AuditEntry.__table__
_BUMP = Prepared(text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash"))
_APPEND = Prepared(
    _ENTRIES.insert(),
    keys=("seq", "at", "actor_id", "action", "subject", "data", "prev_hash", "hash"),
)
_TIP = Prepared(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"))
# The hashed text is _canonical([prev_hash, seq, at, actor_id, action, subject, data]): the
# head's hash (hexadecimal) and the next number are written in by the database, the rest
# (`tail`, already JSON) by Python, so the digest is the one _digest computes (tested).
_APPEND_PG = Prepared(
    text(
        """
WITH o AS (SELECT seq, last_hash FROM audit_head WHERE id = 1 FOR UPDATE),
n AS (
    SELECT o.seq + 1 AS seq, o.last_hash AS prev_hash,
           encode(sha256(convert_to('["' || o.last_hash || '",' || (o.seq + 1) || ',' || :tail,
                                    'UTF8')), 'hex') AS hash
    FROM o
),
e AS (
    INSERT INTO audit_entry (seq, at, actor_id, action, subject, data, prev_hash, hash)
    SELECT n.seq, :at, :actor_id, :action, :subject, :data, n.prev_hash, n.hash FROM n
)
UPDATE audit_head SET seq = n.seq, last_hash = n.hash FROM n WHERE audit_head.id = 1
"""
    ).bindparams(
        bindparam("tail", type_=String()),
        bindparam("at", type_=_ENTRIES.c.at.type),
        bindparam("actor_id", type_=Integer()),
        bindparam("action", type_=String()),
        bindparam("subject", type_=String()),
        bindparam("data", type_=String()),
    )
)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    problems: tuple[str, ...]


def verify(session: Session, *, batch: int = 2000) -> ChainReport:
    """Walk the chain from the start; report every changed, missing or reordered entry."""
    problems: list[str] = []
    prev, expected_seq, count, last_id = GENESIS, 1, 0, 0
    while True:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            count += 1
            last_id = e.id
            if e.seq != expected_seq:
                problems.append(f"entry #{e.seq}: expected #{expected_seq} (an entry is missing)")
            if e.prev_hash != prev:
                problems.append(f"entry #{e.seq}: does not follow the entry before it")
            actual = _digest(e.prev_hash, e.seq, e.at, e.actor_id, e.action, e.subject, e.data)
            if actual != e.hash:
                problems.append(f"entry #{e.seq}: its content was changed after it was written")
            prev, expected_seq = e.hash, e.seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.last_hash != prev):
        problems.append(
            f"the chain ends at #{expected_seq - 1} but the head records #{head.seq}: "
            "entries at the end were removed or changed"
        )
    return ChainReport(ok=not problems, entries=count, problems=tuple(problems))


def recent(session: Session, *, limit: int = 100, offset: int = 0, action: str = "") -> list:
    """The newest entries first, optionally filtered by action prefix."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    return list(session.exec(query.order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)))
