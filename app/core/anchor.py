"""The audit chain's anchor: signed checkpoints of its head, kept outside the database.

The chain alone proves only that its entries follow one another: someone who can write to the
database (and drop its triggers) can cut entries off its end, empty it, or rewrite it from any
entry onwards and recompute every hash, and the chain still reads as intact. A checkpoint
records the head (`seq`, `hash`) at a moment, signed with HMAC-SHA256 under a key derived from
the server's secret key, as one JSON line appended to a file outside the database
(`WMI_AUDIT_CHECKPOINT_FILE`, default var/audit-checkpoints.jsonl):

    {"seq": 1234, "hash": "9f2c...", "at": "2026-12-06T14:00:00+00:00", "mac": "51ab..."}

Verification (app.core.audit.verify) then demands that the entry numbered `seq` still exists
with that hash: a cut end, an emptied chain, or a rewritten suffix that reaches back to a
checkpoint no longer match it. A checkpoint is written only after the chain up to it verified
(from the previous checkpoint on), so each one extends an authentic chain. What remains open
is the stretch after the latest checkpoint: the sweep writes one every
WMI_SWEEP_INTERVAL_SECONDS when the head has moved.

The file is append-only by use (O_APPEND, one line per write, fsync); keep it on storage the
database's users cannot write, and copy it off the host with the backups: `wmi audit verify
--checkpoints COPY` checks the database against such a copy.
"""

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.core.clock import as_utc

_CONTEXT = b"wmi audit checkpoint v1"


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment: entry `seq` had hash `hash`."""

    seq: int
    hash: str
    at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Checkpoints:
    """What a checkpoint file holds: the valid checkpoints and the lines that are not."""

    valid: tuple[Checkpoint, ...]
    problems: tuple[str, ...]

    @property
    def latest(self) -> Checkpoint | None:
        return max(self.valid, key=lambda c: c.seq, default=None)


def signing_key(secret_key: str) -> bytes:
    """The checkpoints' HMAC key, derived from the server's secret key (never stored)."""
    return hmac.new(secret_key.encode(), _CONTEXT, hashlib.sha256).digest()


def _mac(key: bytes, seq: int, hash_: str, at: str) -> str:
    message = json.dumps([seq, hash_, at], separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def line(key: bytes, checkpoint: Checkpoint) -> str:
    """The checkpoint as its signed JSON line (with the newline)."""
    c = checkpoint
    record = {"seq": c.seq, "hash": c.hash, "at": c.at, "mac": _mac(key, c.seq, c.hash, c.at)}
    return json.dumps(record, separators=(",", ":")) + "\n"


def append(path: Path, key: bytes, *, seq: int, hash_: str, at: datetime) -> Checkpoint:
    """Append a signed checkpoint to the file (created if missing), durably."""
    checkpoint = Checkpoint(seq=seq, hash=hash_, at=as_utc(at).isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # whole lines, also from several workers at once
        os.write(fd, line(key, checkpoint).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint


def read(path: Path, key: bytes) -> Checkpoints:
    """Every checkpoint in the file; a line that does not parse or whose signature does not
    match (changed, or made without this server's key) is reported, never trusted."""
    if not path.exists():
        return Checkpoints(valid=(), problems=())
    valid, problems = [], []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            checkpoint = Checkpoint(int(record["seq"]), str(record["hash"]), str(record["at"]))
            mac = str(record["mac"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {number} of {path} cannot be read")
            continue
        expected = _mac(key, checkpoint.seq, checkpoint.hash, checkpoint.at)
        if not hmac.compare_digest(mac, expected):
            problems.append(
                f"checkpoint line {number} of {path} is not signed with this server's key"
            )
            continue
        valid.append(checkpoint)
    return Checkpoints(valid=tuple(valid), problems=tuple(problems))


def latest(path: Path, key: bytes, *, tail_bytes: int = 64 * 1024) -> Checkpoint | None:
    """The newest valid checkpoint, reading only the end of the file (the pages call this)."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - tail_bytes))
        lines = handle.read().decode(errors="replace").splitlines()
    for text in reversed(lines):
        try:
            record = json.loads(text)
            checkpoint = Checkpoint(int(record["seq"]), str(record["hash"]), str(record["at"]))
            mac = str(record["mac"])
        except (ValueError, KeyError, TypeError):
            continue  # a partial first line of the tail, or a damaged line: the full read says
        if hmac.compare_digest(mac, _mac(key, checkpoint.seq, checkpoint.hash, checkpoint.at)):
            return checkpoint
    return None
