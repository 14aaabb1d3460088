"""The issuer's did:web identity: its identifier, its DID document and the keys it signs with.

The keys live in the database (app/credentials/keystore.py), shared by every host that shares
the database and the settings. The newest signs; every earlier public key stays in the DID
document so credentials signed before a rotation still verify.
"""

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session

from app.core.config import Settings
from app.credentials import keystore
from app.credentials.schemas import SigningKeyPublic

DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"


@dataclass(frozen=True)
class IssuerKey:
    private_key: Ed25519PrivateKey = field(repr=False)
    multibase: str
    verification_method: str


def did_web(base_url: str) -> str:
    """did:web of the base URL: host (port percent-encoded), then path segments joined by ':'."""
    parts = urlsplit(base_url)
    did = "did:web:" + quote(parts.netloc, safe="")
    path = [quote(p, safe="") for p in parts.path.split("/") if p]
    return ":".join([did, *path])


def all_keys(session: Session, settings: Settings) -> list[IssuerKey]:
    """Every key, oldest first, as verification methods of this issuer's did:web."""
    did = did_web(settings.base_url)
    return [
        IssuerKey(k.private_key, k.multibase, f"{did}#{k.multibase}")
        for k in keystore.keys(session, settings)
    ]


def active_key(session: Session, settings: Settings) -> IssuerKey:
    """The key that signs new credentials (the newest)."""
    return all_keys(session, settings)[-1]


def rotate(
    *, session: Session, settings: Settings, actor_id: int | None, now: datetime
) -> IssuerKey:
    """Make a new signing key (every host signs with it from now on). Commits."""
    keystore.rotate(session=session, settings=settings, actor_id=actor_id, now=now)
    return active_key(session, settings)


def resolve_key(
    session: Session, settings: Settings, verification_method: str
) -> Ed25519PublicKey | None:
    """The public key of one of this issuer's verification methods, or None."""
    for key in all_keys(session, settings):
        if key.verification_method == verification_method:
            return key.private_key.public_key()
    return None


def did_document(session: Session, settings: Settings) -> dict:
    """The DID document served at /.well-known/did.json (Multikey verification methods)."""
    did = did_web(settings.base_url)
    keys = all_keys(session, settings)
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


def published(session: Session, settings: Settings) -> list[SigningKeyPublic]:
    """The keys as administrators see them (`wmi keys list`, the admin API), oldest first."""
    did = did_web(settings.base_url)
    rows = keystore.listing(session)
    return [
        SigningKeyPublic(
            number=number,
            verification_method=f"{did}#{public}",
            origin=origin,
            sealed_with=kek,
            signs=i == len(rows) - 1,
        )  # fmt: skip
        for i, (number, public, origin, kek) in enumerate(rows)
    ]
