"""Bitstring Status List v1.0: the bitstring, its encoding, and the list credential (pure)."""

import base64
import gzip
import secrets

from app.credentials.jsonld import VC_V2

MIN_SIZE = 131_072  # bits; the spec's minimum, so one index tells a watcher nothing


def empty(size: int = MIN_SIZE) -> bytes:
    if size < MIN_SIZE or size % 8:
        raise ValueError("a status list holds at least 131,072 entries, a multiple of 8")
    return bytes(size // 8)


def get_bit(bits: bytes, index: int) -> bool:
    """Bit `index`, counted from the most significant bit of the first byte (per the spec)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytes, index: int, value: bool) -> bytes:
    data = bytearray(bits)
    if value:
        data[index // 8] |= 0x80 >> (index % 8)
    else:
        data[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF
    return bytes(data)


def encode(bits: bytes) -> str:
    """GZIP, then base64url without padding, as a multibase value ('u' prefix)."""
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def decode(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList must be multibase base64url ('u')")
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def random_index(size: int) -> int:
    """A uniformly random position (sequential positions would leak issue order)."""
    return secrets.randbelow(size)


def list_credential(*, url: str, issuer: str, purpose: str, bits: bytes, valid_from: str) -> dict:
    """The unsigned BitstringStatusListCredential for a list."""
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode(bits),
        },
    }


def entry(*, list_url: str, index: int, purpose: str = "revocation") -> dict:
    """The credentialStatus entry of a credential at a position of a list."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
