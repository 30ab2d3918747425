"""Sends a channel holds while its provider refuses its credentials, sent again on its start."""

from __future__ import annotations

from redis.asyncio import Redis

from begasist_core.bus.publisher import Publisher
from begasist_core.events.codec import decode_event, encode_event
from begasist_core.events.envelope import Event
from begasist_core.events.streams import StreamNames

__all__ = ["HeldSends"]


class HeldSends:
    """One hotel's held ``message.send`` events, a Redis list per channel.

    Held events are put back on the hotel's outbound stream, unchanged (same id
    and key), when the channel starts again; the bot sends a message id once,
    so an event released twice (a crash between publishing and trimming) is
    still sent once. Nothing secret is held: the events are those of the stream.
    """

    def __init__(self, redis: Redis, names: StreamNames, hotel: str) -> None:
        self._redis = redis
        self._names = names
        self._hotel = hotel
        self._publisher = Publisher(redis)

    def key(self, channel: str) -> str:
        return self._names.hotel_key(self._hotel, "channel", channel, "held_sends")

    async def hold(self, channel: str, event: Event) -> None:
        await self._redis.rpush(self.key(channel), encode_event(event))

    async def count(self, channel: str) -> int:
        return int(await self._redis.llen(self.key(channel)))

    async def release(self, channel: str) -> int:
        """Publish every event held for *channel* again, oldest first; how many."""
        key = self.key(channel)
        held = await self._redis.lrange(key, 0, -1)
        for entry in held:
            await self._publisher.publish(self._names.outbound(self._hotel), decode_event(entry))
        if held:
            # Only what was published: a send held meanwhile stays for the next start.
            await self._redis.ltrim(key, len(held), -1)
        return len(held)
