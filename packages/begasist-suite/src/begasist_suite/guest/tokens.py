"""Visitor ids and the tokens that bind them to one hotel's channel, for a while.

A visitor's token is ``v2.<issued>.<mac>``: the time it was issued (Unix
seconds) and an HMAC-SHA256, with a key derived from ``BEGASIST_SECRET_KEY``, of
(hotel, channel, visitor id, issued). Nothing is stored: any replica checks a
token by recomputing it (constant-time), and a token opens exactly one
visitor's conversation on one channel of one hotel. Whoever holds it is that
visitor (the widget keeps it in the page's storage, as a session cookie would
be kept).

A token expires *max_age* after it was issued; the suite answers every
connection with a fresh one (the session frame), so a visitor who comes back
within *max_age* of their last visit keeps their conversation, and one who does
not is refused (4401) and starts afresh as a new visitor. Tokens of the first
format (a bare MAC, no issue time, before expiry existed) are refused the same
way: such a visitor starts afresh once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Final

__all__ = ["VisitorTokens"]

_KEY_LABEL: Final = b"begasist guest visitor token v2"
_VISITOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TOKEN: Final = re.compile(r"^v2\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")
_CLOCK_SKEW_SECONDS: Final = 300
"""How far in the future an issue time may be (another replica's clock running ahead)."""


class VisitorTokens:
    """Mints, renews and checks visitor ids and tokens with the suite's secret."""

    def __init__(
        self,
        secret_key: str,
        *,
        max_age_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # A key of its own, so that a token is never also a valid MAC of anything else
        # (and never one of the first format's, whose key had another label).
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()
        self.max_age_seconds = max_age_seconds
        self._clock = clock

    def mint(self, hotel: str, channel: str) -> tuple[str, str]:
        """A new random visitor id (128 bits) and its token."""
        visitor = secrets.token_urlsafe(16)
        return visitor, self.token(hotel, channel, visitor)

    def token(self, hotel: str, channel: str, visitor: str) -> str:
        """A token for *visitor* issued now (a renewal, for a visitor already checked)."""
        issued = int(self._clock())
        return f"v2.{issued}.{self._mac(hotel, channel, visitor, issued)}"

    def check(self, hotel: str, channel: str, visitor: str, token: str) -> bool:
        """Whether *token* is *visitor*'s on this hotel's channel and not expired."""
        parsed = _TOKEN.match(token)
        if _VISITOR_ID.match(visitor) is None or parsed is None:
            return False
        issued = int(parsed.group(1))
        expected = self._mac(hotel, channel, visitor, issued).encode("ascii")
        if not hmac.compare_digest(expected, parsed.group(2).encode("ascii")):
            return False
        age = self._clock() - issued
        return -_CLOCK_SKEW_SECONDS <= age <= self.max_age_seconds

    def _mac(self, hotel: str, channel: str, visitor: str, issued: int) -> str:
        message = "\0".join((hotel, channel, visitor, str(issued))).encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
