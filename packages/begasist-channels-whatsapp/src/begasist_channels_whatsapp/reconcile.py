"""Settling a send whose outcome is unknown from Meta's status webhooks, not by resending.

The Cloud API has no idempotency key: a bot that dies after Meta accepted a
part but before reading the answer leaves its successor unable to tell
whether the part went. So each part carries ``biz_opaque_callback_data``
naming it (Meta echoes that string in every status webhook of the message),
and an intent is kept before each Graph call. A status webhook that names a
part records its wamid; a send that finds an intent without a wamid waits a
bounded time for that record before sending the part again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from begasist_core import ChannelKeys

from begasist_channels_whatsapp.pacing import Clock

__all__ = [
    "POLL_SECONDS",
    "ReportedPart",
    "callback_data",
    "intent_key",
    "part_key",
    "record_reported_part",
    "reported_part",
    "wait_for_part",
]

CALLBACK_PREFIX: Final = "bgs1"
"""Marks (and versions) Begasist's callback data: other strings are not ours."""

POLL_SECONDS: Final = 0.25
"""How often a send waiting for a status webhook looks for the part's wamid."""

_CALLBACK: Final = re.compile(rf"^{CALLBACK_PREFIX}:([0-9A-Za-z_.-]{{1,64}}):([0-9]{{1,4}})$")


@dataclass(frozen=True, slots=True)
class ReportedPart:
    """A status webhook's word that part *index* of message *message_id* is *wamid*."""

    message_id: str
    index: int
    wamid: str


def part_key(message_id: str, index: int) -> str:
    """The channel key holding the wamid Meta gave part *index* of *message_id*."""
    return f"part:{message_id}:{index}"


def intent_key(message_id: str, index: int) -> str:
    """The channel key saying a Graph call for part *index* of *message_id* was started."""
    return f"intent:{message_id}:{index}"


def callback_data(message_id: str, index: int) -> str:
    """The ``biz_opaque_callback_data`` of a part (far below Meta's 512 characters:
    message ids are at most 64)."""
    return f"{CALLBACK_PREFIX}:{message_id}:{index}"


def reported_part(data: str | None, wamid: str) -> ReportedPart | None:
    """The part a status's callback data names, or None when the data is not ours."""
    match = _CALLBACK.match(data or "")
    if match is None:
        return None
    return ReportedPart(match.group(1), int(match.group(2)), wamid)


async def record_reported_part(keys: ChannelKeys, part: ReportedPart, ttl: timedelta) -> bool:
    """Keep the wamid a status webhook reported, unless the part has one; True if kept."""
    return await keys.set_if_absent(part_key(part.message_id, part.index), part.wamid, ttl=ttl)


async def wait_for_part(keys: ChannelKeys, key: str, seconds: float, clock: Clock) -> bytes | None:
    """The part's wamid once recorded (by a status webhook), or None after *seconds*."""
    deadline = clock.now() + seconds
    while True:
        wamid = await keys.get(key)
        if wamid is not None:
            return wamid
        left = deadline - clock.now()
        if left <= 0:
            return None
        await clock.sleep(min(POLL_SECONDS, left))
