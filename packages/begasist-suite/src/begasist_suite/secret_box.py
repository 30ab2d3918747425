"""Encrypting channel secrets at rest with ``BEGASIST_SECRET_KEY``."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SecretBox", "SecretKeyError", "UndecryptableSecret"]

MIN_KEY_LENGTH = 32


class SecretKeyError(ValueError):
    """``BEGASIST_SECRET_KEY`` is missing or too short."""


class UndecryptableSecret(Exception):
    """A stored secret does not decrypt with this key (the key changed?)."""


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the operator's secret.

    The secret is stretched with HKDF, so any long random string works; losing
    it makes the stored channel secrets unreadable (they must be entered again).
    """

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < MIN_KEY_LENGTH:
            raise SecretKeyError(
                f"BEGASIST_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters "
                '(generate one: python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"begasist channel secrets"
        ).derive(secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise UndecryptableSecret("a stored secret does not decrypt with this key") from None
