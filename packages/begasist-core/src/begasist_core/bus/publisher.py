"""Publishing events to streams, trimmed approximately to a maximum length."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, cast

from redis.asyncio import Redis

from begasist_core.events.codec import encode_event
from begasist_core.events.envelope import Event

__all__ = ["DEFAULT_MAXLEN", "ENTRY_FIELD", "Publisher"]

ENTRY_FIELD: Final = b"e"
"""The one field of every stream entry; its value is the envelope's JSON."""

DEFAULT_MAXLEN: Final = 100_000
"""Entries kept per stream: trimming is approximate (``MAXLEN ~``), so it is cheap."""


class Publisher:
    """Appends events to streams with ``XADD ... MAXLEN ~ n``."""

    def __init__(self, redis: Redis, *, maxlen: int = DEFAULT_MAXLEN) -> None:
        self._redis = redis
        self._maxlen = maxlen

    async def publish(self, stream: str, event: Event) -> bytes:
        """Append one event; return its entry id once Redis has it."""
        entry_id = await self._redis.xadd(
            stream, {ENTRY_FIELD: encode_event(event)}, maxlen=self._maxlen, approximate=True
        )
        return cast(bytes, entry_id)

    async def publish_many(self, stream: str, events: Iterable[Event]) -> list[bytes]:
        """Append several events in one round trip (a pipeline, not a transaction)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(
                    stream,
                    {ENTRY_FIELD: encode_event(event)},
                    maxlen=self._maxlen,
                    approximate=True,
                )
            entry_ids: list[bytes] = await pipe.execute()
        return entry_ids
