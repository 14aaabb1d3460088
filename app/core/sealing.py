"""Secrets at rest, sealed with a key-encryption key (KEK) from the settings: AES-256-GCM.

What the database holds for a credential signing key or a webhook secret is text of the form

    wmi-sealed:v1:<KEK id>:<base64url(12-byte nonce || ciphertext || 16-byte tag)>

The KEK id (`k` and 12 hex digits of SHA-256 over the key) says which KEK sealed the value
without revealing anything about it, so the KEK itself can be rotated: the current one
(WMI_KEY_ENCRYPTION_KEY) seals, the current and the earlier ones
(WMI_PREVIOUS_KEY_ENCRYPTION_KEYS) open, and `wmi keys rewrap` seals every value again with the
current one, after which the earlier ones can go. The associated data names what a value is
for (`purpose`), so a sealed value copied into another place does not open there.

Production refuses to run without a KEK. In development and test, when none is set, the KEK is
derived from the secret key (HKDF-SHA256); hosts that share the secret key then share it too.
A value that does not open raises `SealingError` with a message for the operator: nothing ever
replaces a key that cannot be read.
"""

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.config import Settings

PREFIX = "wmi-sealed:v1:"
KEK_VARIABLE = "WMI_KEY_ENCRYPTION_KEY"
PREVIOUS_VARIABLE = "WMI_PREVIOUS_KEY_ENCRYPTION_KEYS"
DERIVATION_INFO = b"wmi-certify key-encryption-key v1"


class SealingError(Exception):
    """A key-encryption key is missing or malformed, or a sealed value does not open."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Kek:
    """One key-encryption key and its id (the key never appears in a repr)."""

    id: str
    key: bytes = field(repr=False)

    @classmethod
    def of(cls, key: bytes) -> "Kek":
        return cls("k" + hashlib.sha256(b"wmi-kek-id:" + key).hexdigest()[:12], key)


@dataclass(frozen=True)
class Keyring:
    """The KEK that seals and every KEK that opens (the current one first)."""

    current: Kek
    previous: tuple[Kek, ...] = ()

    def seal(self, plaintext: bytes, *, purpose: str) -> str:
        """Encrypt with the current KEK; the result names the KEK that opens it."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.current.key).encrypt(nonce, plaintext, purpose.encode())
        return f"{PREFIX}{self.current.id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, *, purpose: str, what: str) -> bytes:
        """Decrypt a sealed value; `what` names it in the error (never the value itself)."""
        kek_id, _, body = value.removeprefix(PREFIX).partition(":")
        if not value.startswith(PREFIX) or not body:
            raise SealingError(f"{what} is not a sealed value ({PREFIX}...).")
        kek = next((k for k in (self.current, *self.previous) if k.id == kek_id), None)
        if kek is None:
            known = ", ".join(k.id for k in (self.current, *self.previous))
            raise SealingError(
                f"{what} was sealed with key-encryption key {kek_id}, which is not configured "
                f"(configured: {known}); set it in {KEK_VARIABLE} or {PREVIOUS_VARIABLE}."
            )
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return AESGCM(kek.key).decrypt(raw[:12], raw[12:], purpose.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SealingError(
                f"{what} does not open with key-encryption key {kek_id}: the stored value was "
                "altered, or belongs elsewhere. Restore it from a backup; nothing replaces it."
            ) from None

    def is_current(self, value: str) -> bool:
        """Whether the current KEK sealed a value (`wmi keys rewrap` seals the others again)."""
        return value.startswith(f"{PREFIX}{self.current.id}:")


def kek_id_of(value: str) -> str:
    """The id of the KEK that sealed a value ('' if it is not sealed)."""
    return value.removeprefix(PREFIX).partition(":")[0] if value.startswith(PREFIX) else ""


def new_kek() -> str:
    """A new key-encryption key for WMI_KEY_ENCRYPTION_KEY: 32 random bytes in base64url."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _parse(value: str, variable: str) -> Kek:
    text = value.strip()
    try:
        raw = base64.urlsafe_b64decode(
            text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
        )
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise SealingError(
            f"{variable} must be 32 random bytes in base64 (`wmi keys new-kek` prints one); "
            "the value given is not."
        )
    return Kek.of(raw)


def _derived(secret_key: str) -> Kek:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_INFO)
    return Kek.of(hkdf.derive(secret_key.encode()))


@lru_cache(maxsize=8)
def _keyring(current: str, previous: str, secret_key: str, production: bool) -> Keyring:
    if current:
        kek = _parse(current, KEK_VARIABLE)
    elif production:
        raise SealingError(
            f"{KEK_VARIABLE} is not set: production does not start without the key-encryption "
            "key that seals the credential signing keys and webhook secrets in the database. "
            "`wmi keys new-kek` prints a new one; every host must have the same."
        )
    else:
        kek = _derived(secret_key)
    earlier = [_parse(p, PREVIOUS_VARIABLE) for p in previous.split(",") if p.strip()]
    if current and not production:  # what development sealed before a KEK was set
        earlier.append(_derived(secret_key))
    return Keyring(kek, tuple(k for k in earlier if k.id != kek.id))


def keyring(settings: Settings) -> Keyring:
    """The settings' keyring; SealingError (with the variable's name) when it cannot be built."""
    production = settings.environment == "production"
    secret = "" if production else settings.ensure_secret_key()
    return _keyring(
        settings.key_encryption_key, settings.previous_key_encryption_keys, secret, production
    )
