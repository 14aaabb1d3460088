"""The signing keys in the database: sealed, imported from the PEM files of earlier versions,
shared by every process on the database, and never replaced when they do not open."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from sqlalchemy import text
from sqlmodel import Session, delete, select

from app.core import sealing
from app.core.db import make_engine
from app.credentials import did, keystore
from app.credentials.models import SigningKey
from app.credentials.signing import public_key_multibase
from tests.factories.accounts import make_user
from tests.factories.credentials import pass_exam

ROOT = Path(__file__).resolve().parents[2]


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _forget_opened_keys() -> None:
    """What a process that starts now knows: nothing yet (the cache is per process)."""
    keystore._OPENED.clear()


def _database_text(session: Session) -> str:
    """Every signing key row as text, as a dump of the database would show it."""
    rows = session.exec(text("SELECT * FROM signing_key")).all()
    return json.dumps([[str(v) for v in row] for row in rows])


def test_the_pem_files_of_an_earlier_version_are_imported_then_moved_aside(
    session, settings, clock
):
    session.exec(delete(SigningKey))  # a database from before keys were stored in it
    session.commit()
    old = [Ed25519PrivateKey.generate() for _ in range(2)]
    folder = settings.var_dir / "credential_keys"
    folder.mkdir()
    for number, key in enumerate(old, start=1):
        (folder / f"key-{number:04d}.pem").write_bytes(_pem(key))
    said = keystore.ensure_keys(session=session, settings=settings, now=clock())
    assert said[:2] == [
        "imported signing key key-0001.pem into the database",
        "imported signing key key-0002.pem into the database",
    ]
    assert "credential_keys.imported" in said[2]
    assert list(folder.glob("*.pem")) == []
    moved = settings.var_dir / "credential_keys.imported"
    assert sorted(p.name for p in moved.iterdir()) == ["key-0001.pem", "key-0002.pem"]
    publics = [public_key_multibase(k.public_key()) for k in old]
    assert [k.multibase for k in did.all_keys(session, settings)] == publics
    cert = pass_exam(session, settings, make_user(session), now=clock())
    assert cert.verification_method.endswith(publics[1])  # the newest file still signs
    assert keystore.ensure_keys(session=session, settings=settings, now=clock()) == []
    # a second host that kept a copy of the same files imports nothing twice
    folder.joinpath("key-0001.pem").write_bytes(_pem(old[0]))
    assert keystore.ensure_keys(session=session, settings=settings, now=clock())[0].startswith(
        "moved 1 PEM file(s)"
    )
    assert len(did.all_keys(session, settings)) == 2


def test_no_private_key_is_stored_in_clear(session, settings, clock):
    did.rotate(session=session, settings=settings, actor_id=None, now=clock())
    stored = _database_text(session)
    for key in did.all_keys(session, settings):
        raw = key.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        for form in (raw.hex(), _pem(key.private_key).decode().splitlines()[1]):
            assert form not in stored
        assert key.multibase in stored  # the public key is, in clear
    assert "wmi-sealed:v1:" in stored


def test_a_tampered_key_stops_the_start_and_no_new_key_replaces_it(session, settings, clock):
    row = session.exec(select(SigningKey)).one()
    body = row.sealed_private_key
    row.sealed_private_key = body[:-6] + ("AAAAAA" if body[-6:] != "AAAAAA" else "BBBBBB")
    session.add(row)
    session.commit()
    _forget_opened_keys()
    with pytest.raises(sealing.SealingError, match="Signing key 1 .* does not open"):
        keystore.ensure_keys(session=session, settings=settings, now=clock())
    with pytest.raises(sealing.SealingError):
        did.rotate(session=session, settings=settings, actor_id=None, now=clock())
    assert session.exec(select(SigningKey)).all() == [row]


def test_a_wrong_kek_stops_the_start(session, settings, clock):
    _forget_opened_keys()
    other = settings.model_copy(update={"key_encryption_key": sealing.new_kek()})
    other.secret_key = "another-secret-key-" + "y" * 32  # not the one that derived the KEK
    with pytest.raises(sealing.SealingError, match="which is not configured"):
        keystore.ensure_keys(session=session, settings=other, now=clock())
    assert len(session.exec(select(SigningKey)).all()) == 1


def test_a_rotation_by_another_process_is_seen_without_a_restart(session, settings, clock):
    first = did.active_key(session, settings)
    engine = make_engine(settings.database_url)  # another host's connection to the database
    try:
        with Session(engine) as other:
            rotated = did.rotate(session=other, settings=settings, actor_id=None, now=clock())
    finally:
        engine.dispose()
    session.rollback()  # this request's snapshot ends, as every request's does
    assert did.active_key(session, settings).verification_method == rotated.verification_method
    assert rotated.verification_method != first.verification_method
    methods = [m["id"] for m in did.did_document(session, settings)["verificationMethod"]]
    assert methods == [first.verification_method, rotated.verification_method]


def test_rewrap_seals_every_key_with_the_current_kek(session, settings, clock):
    new = sealing.new_kek()
    later = settings.model_copy(update={"key_encryption_key": new})  # the derived KEK is previous
    _forget_opened_keys()
    assert keystore.rewrap(session=session, settings=later, now=clock()) == (1, 0)
    current = sealing.keyring(later).current.id
    assert [k.sealed_with for k in did.published(session, later)] == [current]
    _forget_opened_keys()
    without_old = later.model_copy(update={"secret_key": "z" * 40})
    assert len(did.all_keys(session, without_old)) == 1  # opens with the new KEK alone
    assert keystore.rewrap(session=session, settings=later, now=clock()) == (0, 0)


def test_a_downgrade_writes_the_keys_back_as_pem_files(session, settings, clock):
    from alembic import command
    from app.core.db import alembic_config

    before = [k.multibase for k in did.all_keys(session, settings)]
    session.close()
    cfg = alembic_config(settings.database_url, settings)
    command.downgrade(cfg, "e5a1c9d4b7f2")
    files = sorted((settings.var_dir / "credential_keys").glob("key-*.pem"))
    assert [f.name for f in files] == ["key-0001.pem"] and files[0].stat().st_mode & 0o777 == 0o600
    command.upgrade(cfg, "head")
    keystore.ensure_keys(session=session, settings=settings, now=clock())
    assert [k.multibase for k in did.all_keys(session, settings)] == before


def test_the_cli_says_what_is_wrong_without_a_stack_trace(settings, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "WMI_DATABASE_URL": settings.database_url,
        "WMI_VAR_DIR": str(tmp_path / "host"),
        "WMI_SECRET_KEY": "a-different-secret-key-" + "q" * 30,
    }
    listed = subprocess.run(
        [sys.executable, "-m", "app.cli", "keys", "list"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 2, listed.stdout + listed.stderr
    assert "Error: Signing key 1" in listed.stderr and "is not configured" in listed.stderr
    assert "Traceback" not in listed.stderr + listed.stdout
    env["WMI_ENVIRONMENT"] = "production"
    refused = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "WMI_KEY_ENCRYPTION_KEY is not set" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
