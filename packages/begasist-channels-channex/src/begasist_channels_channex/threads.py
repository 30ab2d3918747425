"""A booking's message thread, remembered in the channel's keys for the open-thread check.

A thread Channex marks ``is_closed`` takes no replies (Messages Collection:
Message Thread, Close Message Thread); the send checks it before posting (see
:meth:`.sending.PartSender.ensure_open`). The thread's id comes with every
guest message (the webhook's ``message_thread_id``, the listings' thread) and,
failing that, from the booking's messages (their ``message_thread``
relationship).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from begasist_core import ChannelKeys

__all__ = ["THREAD_TTL", "known_thread", "remember_thread"]

THREAD_TTL: Final = timedelta(days=90)
"""A booking's thread does not change; kept about as long as a stay is talked about."""


def _thread_key(booking_id: str) -> str:
    return f"booking-thread:{booking_id}"


async def remember_thread(keys: ChannelKeys, booking_id: str, thread_id: str | None) -> None:
    """Keep the thread of *booking_id* (from a webhook or a listing) for the next reply."""
    if thread_id:
        await keys.set(_thread_key(booking_id), thread_id, ttl=THREAD_TTL)


async def known_thread(keys: ChannelKeys, booking_id: str) -> str | None:
    """The thread :func:`remember_thread` kept for *booking_id*, if any."""
    found = await keys.get(_thread_key(booking_id))
    return found.decode() if found is not None else None
