"""The 24-hour customer-service window: when free text may still be sent to a guest.

WhatsApp lets a business send free-form messages (text, media) only within
24 hours of the guest's last message; outside it, only an approved template.
The window is kept per guest in the channel's Redis keys, so it survives a
restart: one key per guest holding the time of the guest's latest message
(Unix seconds),
expiring when the window closes.

A guest with no record counts as outside the window: the bot cannot tell a
guest who never wrote from one whose window expired (or whose record was
lost), and sending free text to either would only earn Meta's 131047.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from begasist_core import ChannelKeys, utc_now

__all__ = ["REPLY_WINDOW", "CustomerServiceWindow"]

REPLY_WINDOW: Final = timedelta(hours=24)


class CustomerServiceWindow:
    """Records guests' messages and answers whether a guest's window is open."""

    def __init__(self, keys: ChannelKeys, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._keys = keys
        self._clock = clock

    async def record(self, guest: str, written_at: datetime) -> None:
        """Note that *guest* wrote at *written_at*; the window runs 24 hours from the latest.

        An older message (a replayed or late webhook) never shortens the
        window, also when it races a newer one (the keys keep the greater
        time atomically).
        """
        remaining = written_at + REPLY_WINDOW - self._clock()
        if remaining <= timedelta(0):
            return
        await self._keys.set_if_greater(_key(guest), written_at.timestamp(), ttl=remaining)

    async def last_message_at(self, guest: str) -> datetime | None:
        """When *guest* last wrote, if that was within the window; None otherwise."""
        raw = await self._keys.get(_key(guest))
        if raw is None:
            return None
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except (ValueError, OverflowError, OSError):
            return None

    async def forget(self, guest: str) -> None:
        """Drop *guest*'s record: Meta said the window is closed (error 131047)."""
        await self._keys.delete(_key(guest))

    async def is_open(self, guest: str) -> bool:
        """Whether free-form messages may be sent to *guest* now."""
        written_at = await self.last_message_at(guest)
        return written_at is not None and self._clock() < written_at + REPLY_WINDOW


def _key(guest: str) -> str:
    # A wa_id is digits; staff may type the same number as "+34 600 ...".
    digits = "".join(char for char in guest if char in "0123456789")
    return f"window:{digits or guest}"
