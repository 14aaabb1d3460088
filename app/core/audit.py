"""The audit log: append-only, each entry hash-chained to the one before it."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, bindparam, text
from sqlmodel import Session, col, select

from app.core import anchor, db
from app.core.anchor import Checkpoint
from app.core.clock import as_utc, to_db
from app.core.config import Settings
from app.core.models import AuditEntry, AuditHead
from app.core.prepared import Prepared

GENESIS = "0" * 64


def _canonical(values: list[Any]) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def _digest(
    prev_hash: str, seq: int, at: datetime, actor_id: int | None, action: str, subject: str,
    data: str,
) -> str:  # fmt: skip
    payload = _canonical([prev_hash, seq, as_utc(at).isoformat(), actor_id, action, subject, data])
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    *,
    action: str,
    at: datetime,
    actor_id: int | None = None,
    subject: str = "",
    data: dict[str, Any] | None = None,
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
    if db.dialect_name(session) == "postgresql":
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


_ENTRIES = db.table(AuditEntry)
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
    """What a check of the chain found. `entries`: the chain's length (its last entry's number);
    `checked`: how many entries were hashed again (all of them, or those after `anchor`);
    `head`: the last entry as found, (seq, hash), when the chain is not empty."""

    ok: bool
    entries: int
    problems: tuple[str, ...]
    checked: int = 0
    anchor: Checkpoint | None = None
    head: tuple[int, str] | None = None


def verify(
    session: Session,
    *,
    batch: int = 2000,
    checkpoints: Sequence[Checkpoint] = (),
    since: Checkpoint | None = None,
) -> ChainReport:
    """Walk the chain, from the start or from the checkpoint `since` (which must still match);
    report every changed, missing or reordered entry, and every checkpoint the chain no
    longer matches (entries cut off its end, the log emptied, or rewritten from there)."""
    problems: list[str] = []
    anchors = {c.seq: c for c in (*checkpoints, *([since] if since else []))}
    prev, expected_seq, count, last_id = GENESIS, 1, 0, 0
    if since is not None:
        first = session.exec(select(AuditEntry).where(AuditEntry.seq == since.seq)).first()
        if first is not None:
            problems += _check_entry(first, first.prev_hash, first.seq, anchors)
            prev, expected_seq, count, last_id = first.hash, first.seq + 1, 1, first.id or 0
    while True:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.id) > last_id)
            .order_by(col(AuditEntry.id))
            .limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            count += 1
            last_id = e.id or 0
            problems += _check_entry(e, prev, expected_seq, anchors)
            prev, expected_seq = e.hash, e.seq + 1
    last = expected_seq - 1 if count else 0
    for c in sorted(anchors.values(), key=lambda c: c.seq):
        if c.seq > last:
            problems.append(
                f"the chain ends at #{last} but the checkpoint of {c.at} records #{c.seq}: "
                "entries at the end were removed (or the log was emptied)"
            )
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != last or head.last_hash != prev):
        problems.append(
            f"the chain ends at #{last} but the head records #{head.seq}: "
            "entries at the end were removed or changed"
        )
    return ChainReport(
        ok=not problems,
        entries=last,
        problems=tuple(problems),
        checked=count,
        anchor=since,
        head=(last, prev) if count else None,
    )


def _check_entry(
    e: AuditEntry, prev: str, expected_seq: int, anchors: dict[int, Checkpoint]
) -> list[str]:
    problems = []
    if e.seq != expected_seq:
        problems.append(f"entry #{e.seq}: expected #{expected_seq} (an entry is missing)")
    if e.prev_hash != prev:
        problems.append(f"entry #{e.seq}: does not follow the entry before it")
    actual = _digest(e.prev_hash, e.seq, e.at, e.actor_id, e.action, e.subject, e.data)
    if actual != e.hash:
        problems.append(f"entry #{e.seq}: its content was changed after it was written")
    anchor = anchors.get(e.seq)
    if anchor is not None and anchor.hash != e.hash:
        problems.append(
            f"entry #{e.seq} is not the one the checkpoint of {anchor.at} records: "
            "the log was rewritten from there or before"
        )
    return problems


def verify_all(session: Session, settings: Settings, *, file: Path | None = None) -> ChainReport:
    """The whole chain, against every checkpoint in the file (`wmi audit verify`)."""
    found = anchor.read(file or settings.audit_checkpoints, _key(settings))
    report = verify(session, checkpoints=found.valid)
    problems = (*found.problems, *report.problems)
    return replace(report, ok=not problems, problems=problems, anchor=found.latest)


def verify_recent(session: Session, settings: Settings) -> ChainReport:
    """From the latest checkpoint to the end (the administrator's pages): as many entries as
    were written since the last sweep, however long the log. The whole walk is
    `wmi audit verify`'s."""
    since = anchor.latest(settings.audit_checkpoints, _key(settings))
    return verify(session, since=since)


def checkpoint(
    session: Session, settings: Settings, *, now: datetime
) -> tuple[ChainReport, Checkpoint | None]:
    """Check the chain from the latest checkpoint (all of it when there is none) and, when it
    is intact and has grown, append a signed checkpoint of its end (the sweep calls this).
    Returns the check and the checkpoint written, if any."""
    report = verify_recent(session, settings)
    session.rollback()  # no transaction left open while the file is written
    head = report.head
    grown = head is not None and (report.anchor is None or head[0] > report.anchor.seq)
    if not report.ok or head is None or not grown:
        return report, None
    seq, hash_ = head
    key = _key(settings)
    return report, anchor.append(settings.audit_checkpoints, key, seq=seq, hash_=hash_, at=now)


def _key(settings: Settings) -> bytes:
    return anchor.signing_key(settings.ensure_secret_key())


def recent(
    session: Session, *, limit: int = 100, offset: int = 0, action: str = ""
) -> list[AuditEntry]:
    """The newest entries first, optionally filtered by action prefix."""
    query = select(AuditEntry)
    if action:
        query = query.where(col(AuditEntry.action).startswith(action))
    return list(
        session.exec(query.order_by(col(AuditEntry.seq).desc()).offset(offset).limit(limit))
    )
