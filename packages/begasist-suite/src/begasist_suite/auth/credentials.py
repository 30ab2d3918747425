"""Secrets for sessions and tokens: random, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "TOKEN_PREFIXES",
    "digest",
    "hash_password",
    "new_secret",
    "verify_password",
]

TOKEN_PREFIXES = {
    "session": "bgs_",
    "api_token": "bga_",
    "bot_token": "bgb_",
    "fleet_token": "bgf_",
    "invitation": "bgi_",
}
"""A prefix per kind, so a leaked token is recognisable (secret scanners, logs)."""

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("begasist: a password nobody has")


def new_secret(kind: str) -> str:
    """A fresh secret of *kind* (256 random bits)."""
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the store keeps of a secret: a fast hash is right for 256-bit random secrets."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether *password* matches; takes as long for an unknown user (no timing oracle)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
