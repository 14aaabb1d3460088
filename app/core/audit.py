"""The audit log: append-only, each entry hash-chained to the one before it."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, select

from app.core.clock import as_utc, to_db
from app.core.models import AuditEntry, AuditHead
from app.core.prepared import Prepared

GENESIS = "0" * 64


def _digest(prev_hash: str, seq: int, at: datetime, actor_id, action, subject, data: str) -> str:
    payload = json.dumps(
        [prev_hash, seq, as_utc(at).isoformat(), actor_id, action, subject, data],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    at: datetime,
    actor_id: int | None = None,
    subject: str = "",
    data: dict | None = None,
) -> int:
    """Append an entry in the caller's transaction; returns its sequence number.

    The head row update serialises writers, so callers append last, just before they commit:
    the head's row lock (PostgreSQL) is then held for two short statements and the commit.
    Core statements, not the ORM: this runs once per exam answer.
    """
    session.flush()  # the caller's pending rows go first (and surface their errors here)
    seq, prev_hash = _BUMP.execute(session).one()
    payload = json.dumps(data or {}, sort_keys=True, ensure_ascii=False, default=str)
    at = to_db(at)
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
    return seq


_ENTRIES = AuditEntry.__table__
_BUMP = Prepared(text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash"))
_APPEND = Prepared(
    _ENTRIES.insert(),
    keys=("seq", "at", "actor_id", "action", "subject", "data", "prev_hash", "hash"),
)
_TIP = Prepared(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"))


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
