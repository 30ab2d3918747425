"""Visitor ids and the tokens that bind them to one hotel's channel.

A visitor's token is an HMAC, with a key derived from ``BEGASIST_SECRET_KEY``,
of (hotel, channel, visitor id). Nothing is stored: any replica checks a token
by recomputing it, and a token opens exactly one visitor's conversation on one
channel of one hotel. Whoever holds it is that visitor (the widget keeps it in
the page's storage, as a session cookie would be kept).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Final

__all__ = ["VisitorTokens"]

_KEY_LABEL: Final = b"begasist guest visitor token v1"
_VISITOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class VisitorTokens:
    """Mints and checks visitor ids and tokens with the suite's secret."""

    def __init__(self, secret_key: str) -> None:
        # A key of its own, so that a token is never also a valid MAC of anything else.
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()

    def mint(self, hotel: str, channel: str) -> tuple[str, str]:
        """A new random visitor id (128 bits) and its token."""
        visitor = secrets.token_urlsafe(16)
        return visitor, self.token(hotel, channel, visitor)

    def token(self, hotel: str, channel: str, visitor: str) -> str:
        message = "\0".join((hotel, channel, visitor)).encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def check(self, hotel: str, channel: str, visitor: str, token: str) -> bool:
        """Whether *token* is *visitor*'s on this hotel's channel (constant-time)."""
        if _VISITOR_ID.match(visitor) is None:
            return False
        expected = self.token(hotel, channel, visitor).encode("ascii")
        return hmac.compare_digest(expected, token.encode("utf-8"))
