"""The issuer's Ed25519 signing keys in the database (`signing_key`), shared by every host.

Each private key is sealed with the key-encryption key of the settings (app/core/sealing.py),
bound to its public key. The newest key signs; all of them stay published (app/credentials/
did.py). A host reads the keys from the database, so a rotation on one host is used by the
next signature on every other, without a restart.

Each process keeps the opened keys per database (`db.cache_scope`) with the version they were
read at: the number of rows and the greatest public key, one aggregate query on a table of a
few rows, asked on every use. Rows are only ever added, never deleted, and a re-wrap changes
the sealed text but never the key, so an unchanged version means an unchanged set of keys.

`ensure_keys` runs at start (`wmi serve`, `wmi sweep`, `wmi keys`): it imports the PEM files
earlier versions kept in var/credential_keys (moving them aside to
var/credential_keys.imported), makes the first key when there is none, and opens every key, so
a wrong key-encryption key or an altered row stops the start with a message, never with a new
key in place of one that cannot be read.
"""

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.core import audit, db, sealing, webhooks
from app.core.clock import to_db
from app.core.config import Settings
from app.core.errors import AppError, Conflict
from app.credentials.models import SigningKey
from app.credentials.signing import public_key_multibase

LEGACY_DIR, IMPORTED_DIR = "credential_keys", "credential_keys.imported"


class NoSigningKey(AppError):
    """The database holds no signing key yet (`wmi serve` makes the first one at start)."""

    status_code = 503
    code = "no_signing_key"


@dataclass(frozen=True)
class StoredKey:
    """An opened signing key: its number (1 is the oldest), private key and Multikey."""

    number: int
    private_key: Ed25519PrivateKey = field(repr=False)
    multibase: str


_OPENED: dict[str, tuple[tuple[int, str | None], tuple[StoredKey, ...]]] = {}


def _purpose(public_key: str) -> str:
    return f"signing_key:{public_key}"


def keys(session: Session, settings: Settings) -> tuple[StoredKey, ...]:
    """Every signing key, oldest first (the last signs); NoSigningKey when there is none.

    Read again whenever the table's version moved (another host rotated), else from the cache.
    """
    version = session.exec(
        select(func.count(), func.max(SigningKey.public_key)).select_from(SigningKey)
    ).one()
    scope = db.cache_scope(session)
    cached = _OPENED.get(scope)
    if cached is not None and cached[0] == tuple(version):
        return cached[1]
    rows = session.exec(select(SigningKey).order_by(col(SigningKey.id))).all()
    if not rows:
        raise NoSigningKey(
            "The issuer has no signing key yet: `wmi serve` makes one when it starts, and "
            "`wmi keys rotate` makes one at any time."
        )
    ring = sealing.keyring(settings)
    opened = tuple(_open(ring, row) for row in rows)
    newest = max(row.public_key for row in rows)
    _OPENED[scope] = ((len(rows), newest), opened)
    return opened


def _open(ring: sealing.Keyring, row: SigningKey) -> StoredKey:
    what = f"Signing key {row.id} ({row.public_key})"
    raw = ring.open(row.sealed_private_key, purpose=_purpose(row.public_key), what=what)
    try:
        key = Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise sealing.SealingError(f"{what} is not an Ed25519 private key.") from None
    if public_key_multibase(key.public_key()) != row.public_key:
        raise sealing.SealingError(f"{what} does not match its public key.")
    return StoredKey(row.id, key, row.public_key)


def _add(
    session: Session, settings: Settings, key: Ed25519PrivateKey, *, origin: str, now: datetime
) -> int | None:
    """Seal and add a key as the newest (helper: flushes); None if another host added the same
    key first. The primary key settles two hosts taking the same number: the loser retries."""
    public = public_key_multibase(key.public_key())
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sealed = sealing.keyring(settings).seal(raw, purpose=_purpose(public))
    for _ in range(10):
        if session.exec(select(SigningKey.id).where(SigningKey.public_key == public)).first():
            return None
        number = (session.exec(select(func.max(SigningKey.id))).one() or 0) + 1
        row = SigningKey(
            id=number, public_key=public, sealed_private_key=sealed, origin=origin,
            created_at=to_db(now),
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        return number
    raise Conflict("Other hosts kept taking the next signing key number; try again.")


def rotate(*, session: Session, settings: Settings, actor_id: int | None, now: datetime) -> int:
    """Make a new signing key, the one every host signs with from now on; the earlier ones
    stay published. Returns its number. Commits."""
    keys(session, settings)  # a key that does not open stops here, before a new one is added
    number = _add(session, settings, Ed25519PrivateKey.generate(), origin="generated", now=now)
    assert number is not None  # a new random key is never already stored
    audit.record(session, action="credentials.key_rotated", at=now, actor_id=actor_id,
                 subject=f"signing_key:{number}")  # fmt: skip
    db.commit(session)
    return number


def _legacy_files(settings: Settings) -> list[Path]:
    return sorted((settings.var_dir / LEGACY_DIR).glob("key-*.pem"))


def _import_files(session: Session, settings: Settings, now: datetime) -> list[str]:
    """Add the keys of var/credential_keys/key-*.pem not yet stored, oldest first; then move
    the files to var/credential_keys.imported (the database holds them from now on). Says what
    it did."""
    files = _legacy_files(settings)
    if not files:
        return []
    done = []
    for path in files:
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise sealing.SealingError(f"{path} is not an Ed25519 private key; remove it.")
        if _add(session, settings, key, origin=f"imported {path.name}", now=now):
            done.append(path.name)
    if done:
        audit.record(session, action="credentials.keys_imported", at=now, actor_id=None,
                     subject="signing_key", data={"files": done})  # fmt: skip
    db.commit(session)
    target = settings.var_dir / IMPORTED_DIR
    target.mkdir(mode=0o700, exist_ok=True)
    for path in files:
        os.replace(path, target / path.name)
    return [
        *(f"imported signing key {name} into the database" for name in done),
        f"moved {len(files)} PEM file(s) to {target}: delete them once a backup of the "
        "database holds the keys",
    ]


def ensure_keys(*, session: Session, settings: Settings, now: datetime) -> list[str]:
    """At start: import legacy PEM files, make the first key if there is none, and open every
    key (SealingError names the one that does not open). Returns what it did, in words."""
    sealing.keyring(settings)  # a missing or malformed key-encryption key stops here
    said = _import_files(session, settings, now)
    if session.exec(select(func.count()).select_from(SigningKey)).one() == 0:
        number = _add(session, settings, Ed25519PrivateKey.generate(), origin="generated", now=now)
        db.commit(session)
        if number:
            said.append(f"made signing key {number}")
    keys(session, settings)
    return said


def rewrap(*, session: Session, settings: Settings, now: datetime) -> tuple[int, int]:
    """Seal every signing key and webhook secret again with the current key-encryption key
    (after a KEK rotation); returns how many keys and endpoints changed. Commits."""
    ring = sealing.keyring(settings)
    rows = session.exec(select(SigningKey).order_by(col(SigningKey.id))).all()
    changed = 0
    for row in rows:
        if ring.is_current(row.sealed_private_key):
            continue
        purpose = _purpose(row.public_key)
        raw = ring.open(row.sealed_private_key, purpose=purpose, what=f"Signing key {row.id}")
        row.sealed_private_key = ring.seal(raw, purpose=purpose)
        session.add(row)
        changed += 1
    endpoints = webhooks.rewrap(session, settings)
    if changed or endpoints:
        data = {"kek": ring.current.id, "keys": changed, "webhook_endpoints": endpoints}
        audit.record(session, action="credentials.keys_rewrapped", at=now, actor_id=None,
                     subject="signing_key", data=data)  # fmt: skip
    db.commit(session)
    return changed, endpoints


def export_files(settings: Settings, rows: list[tuple[int, str, str]]) -> None:
    """Write (number, public key, sealed private key) rows back as the PEM files earlier
    versions read, var/credential_keys/key-NNNN.pem, mode 0600: the migration's downgrade, so
    going back a version loses no key (the next start of this version imports them again)."""
    ring = sealing.keyring(settings)
    folder = settings.var_dir / LEGACY_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for number, public, sealed in rows:
        raw = ring.open(sealed, purpose=_purpose(public), what=f"Signing key {number}")
        pem = Ed25519PrivateKey.from_private_bytes(raw).private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        path = folder / f"key-{number:04d}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)


def listing(session: Session) -> list[tuple[int, str, str, str]]:
    """(number, public key, origin, id of the KEK that sealed it) per key, oldest first."""
    rows = session.exec(select(SigningKey).order_by(col(SigningKey.id))).all()
    return [(r.id, r.public_key, r.origin, sealing.kek_id_of(r.sealed_private_key)) for r in rows]
