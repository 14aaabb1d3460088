"""Security primitives: password hashing, random tokens, constant-time comparison."""

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))  # Argon2id with pwdlib's recommended parameters


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether the password matches the stored hash (constant time inside argon2)."""
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # a malformed stored hash never authenticates
        return False


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so unknown accounts cannot be told apart by timing."""
    verify_password(password, _DUMMY_HASH)


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random token."""
    return prefix + secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """The SHA-256 of a token: what the database stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
