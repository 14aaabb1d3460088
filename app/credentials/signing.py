"""Data Integrity proofs with the eddsa-rdfc-2022 cryptosuite (Ed25519 over RDFC-1.0).

Pure functions: no database, no settings. The caller supplies keys and the `created` time.
"""

import copy
import hashlib
from collections.abc import Callable

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.credentials import jsonld

CRYPTOSUITE = "eddsa-rdfc-2022"
ED25519_PUB_PREFIX = b"\xed\x01"  # multicodec ed25519-pub, varint-encoded


def multibase_b58(data: bytes) -> str:
    """Multibase base58btc ('z' prefix)."""
    return "z" + base58.b58encode(data).decode()


def from_multibase_b58(value: str) -> bytes:
    if not value.startswith("z"):
        raise ValueError("not a base58btc multibase value")
    return base58.b58decode(value[1:])


def public_key_multibase(public_key: Ed25519PublicKey) -> str:
    """The Multikey publicKeyMultibase of an Ed25519 public key (z6Mk...)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return multibase_b58(ED25519_PUB_PREFIX + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    raw = from_multibase_b58(value)
    if len(raw) != 34 or not raw.startswith(ED25519_PUB_PREFIX):
        raise ValueError("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def hash_data(document: dict, proof_config: dict) -> bytes:
    """SHA-256(canonical proof options) || SHA-256(canonical document), per the cryptosuite."""
    proof_canon = jsonld.canonize(proof_config)
    document_canon = jsonld.canonize(document)
    return (
        hashlib.sha256(proof_canon.encode()).digest()
        + hashlib.sha256(document_canon.encode()).digest()
    )


def _proof_config(document: dict, proof: dict) -> dict:
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    return {"@context": document["@context"], **config}


def sign(
    document: dict,
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: str,
    proof_purpose: str = "assertionMethod",
) -> dict:
    """Return a copy of the document with a DataIntegrityProof (eddsa-rdfc-2022) added."""
    unsigned = {k: v for k, v in copy.deepcopy(document).items() if k != "proof"}
    jsonld.check_safe(unsigned)
    proof = {
        "type": "DataIntegrityProof",
        "created": created,
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": proof_purpose,
    }
    signature = private_key.sign(hash_data(unsigned, _proof_config(unsigned, proof)))
    return {**unsigned, "proof": {**proof, "proofValue": multibase_b58(signature)}}


def verify(document: dict, *, resolve_key: Callable[[str], Ed25519PublicKey | None]) -> bool:
    """Check the document's single eddsa-rdfc-2022 proof; resolve_key maps a method id to a key."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != CRYPTOSUITE:
        return False
    if proof.get("type") != "DataIntegrityProof" or not proof.get("proofValue"):
        return False
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    try:
        jsonld.check_safe(document)
        key = resolve_key(str(proof.get("verificationMethod")))
        if key is None:
            return False
        signature = from_multibase_b58(proof["proofValue"])
        key.verify(signature, hash_data(unsigned, _proof_config(unsigned, proof)))
    except (InvalidSignature, ValueError, jsonld.UnsafeDocument):
        return False
    return True
