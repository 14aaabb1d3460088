"""The issuer's did:web identity and its Ed25519 signing keys, kept in settings.var_dir.

Keys are PKCS#8 PEM files `credential_keys/key-0001.pem`, ... generated on first use and never
committed. The newest signs; every earlier public key stays in the DID document so credentials
signed before a rotation still verify.
"""

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from app.core.config import Settings
from app.credentials.signing import public_key_multibase

DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"


@dataclass(frozen=True)
class IssuerKey:
    private_key: Ed25519PrivateKey
    multibase: str
    verification_method: str


def did_web(base_url: str) -> str:
    """did:web of the base URL: host (port percent-encoded), then path segments joined by ':'."""
    parts = urlsplit(base_url)
    did = "did:web:" + quote(parts.netloc, safe="")
    path = [quote(p, safe="") for p in parts.path.split("/") if p]
    return ":".join([did, *path])


def _keys_dir(settings: Settings) -> Path:
    return settings.var_dir / "credential_keys"


def _key_files(settings: Settings) -> list[Path]:
    return sorted(_keys_dir(settings).glob("key-*.pem"))


def _write_new_key(settings: Settings) -> Path:
    folder = _keys_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    files = _key_files(settings)
    number = int(files[-1].stem.removeprefix("key-")) + 1 if files else 1
    path = folder / f"key-{number:04d}.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    # Written whole under a temporary name, then linked into place: a process killed midway
    # leaves no empty or partial key file (one did: every later issue failed to load it), and
    # link, like O_EXCL, fails when another worker won the race for the same name.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".new-key-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def _load(settings: Settings, path: Path) -> IssuerKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    multibase = public_key_multibase(key.public_key())
    return IssuerKey(key, multibase, f"{did_web(settings.base_url)}#{multibase}")


def all_keys(settings: Settings) -> list[IssuerKey]:
    """Every key, oldest first; generates the first one when there is none."""
    files = _key_files(settings)
    if not files:
        with contextlib.suppress(FileExistsError):  # another process won the race
            _write_new_key(settings)
        files = _key_files(settings)
    return [_load(settings, path) for path in files]


def active_key(settings: Settings) -> IssuerKey:
    """The key that signs new credentials (the newest)."""
    return all_keys(settings)[-1]


def rotate(settings: Settings) -> IssuerKey:
    """Generate a new signing key; earlier keys stay published."""
    all_keys(settings)
    _write_new_key(settings)
    return active_key(settings)


def resolve_key(settings: Settings, verification_method: str) -> Ed25519PublicKey | None:
    """The public key of one of this issuer's verification methods, or None."""
    for key in all_keys(settings):
        if key.verification_method == verification_method:
            return key.private_key.public_key()
    return None


def did_document(settings: Settings) -> dict:
    """The DID document served at /.well-known/did.json (Multikey verification methods)."""
    did = did_web(settings.base_url)
    keys = all_keys(settings)
    methods = [
        {
            "id": key.verification_method,
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.multibase,
        }
        for key in keys
    ]
    ids = [m["id"] for m in methods]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": [ids[-1]],
    }
