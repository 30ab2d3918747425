"""Publishing events to streams.

Event streams are not trimmed here: their consumers trim what every group has
finished with (:mod:`begasist_core.bus.trimming`), so an accepted event is never
dropped unread. A *maxlen* is for streams that are records with no consumer
group, such as the dead-letter streams.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, cast

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from begasist_core.bus.replication import ReplicaWait, add_wait, check_wait
from begasist_core.events.codec import encode_event
from begasist_core.events.envelope import Event
from begasist_core.metrics import EVENTS_PUBLISHED, stream_kind

__all__ = ["DEFAULT_MAXLEN", "ENTRY_FIELD", "PUBLISH_CHUNK", "Publisher"]

ENTRY_FIELD: Final = b"e"
"""The one field of every stream entry; its value is the envelope's JSON."""

DEFAULT_MAXLEN: Final = 100_000
"""Entries kept in a record stream nobody consumes as a group (the dead letters):
trimming is approximate (``MAXLEN ~``), so it is cheap, and it waits for no reader."""

PUBLISH_CHUNK: Final = 1000
"""Events per script call in :meth:`Publisher.publish_many`: Redis runs a call
to its end before serving anyone else, so a call stays around a millisecond."""

# One XADD per envelope inside Redis, the ids returned as one string: a
# pipeline of XADDs costs several times more per event in redis-py's
# pure-Python command packing and reply parsing (see docs/benchmarks.md).
# ARGV[1] is the maximum length, or "" for none.
_PUBLISH_MANY_SCRIPT: Final = """
local ids = {}
for i = 3, #ARGV do
  if ARGV[1] == '' then
    ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[i])
  else
    ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[i])
  end
end
return table.concat(ids, ' ')
"""


class Publisher:
    """Appends events to streams with ``XADD``: untrimmed, or ``MAXLEN ~ maxlen`` if given.

    With *wait*, each call returns only once that many replicas have its
    entries, and raises :class:`~begasist_core.bus.replication.NotReplicated`
    when fewer did in time (the entries stay on the master).
    """

    def __init__(
        self, redis: Redis, *, maxlen: int | None = None, wait: ReplicaWait | None = None
    ) -> None:
        self._redis = redis
        self._maxlen = maxlen
        self._wait = wait
        self._publish_many = redis.register_script(_PUBLISH_MANY_SCRIPT)

    @property
    def wait(self) -> ReplicaWait | None:
        """The replicas each call waits for, if any."""
        return self._wait

    async def publish(self, stream: str, event: Event) -> bytes:
        """Append one event; return its entry id once Redis (and the replicas waited for) has it."""
        fields: dict[FieldT, EncodableT] = {ENTRY_FIELD: encode_event(event)}
        trimmed = self._maxlen is not None
        if self._wait is None:
            entry_id = await self._redis.xadd(
                stream, fields, maxlen=self._maxlen, approximate=trimmed
            )
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.xadd(stream, fields, maxlen=self._maxlen, approximate=trimmed)
            add_wait(pipe, self._wait)
            entry_id, acknowledged = await pipe.execute()
            check_wait(acknowledged, self._wait)
        EVENTS_PUBLISHED.labels(stream_kind(stream)).inc()
        return cast(bytes, entry_id)

    async def publish_many(self, stream: str, events: Iterable[Event]) -> list[bytes]:
        """Append several events in order; return their entry ids once Redis has them all.

        One round trip per :data:`PUBLISH_CHUNK` events, each chunk one script
        call: no other client's command runs between its entries.
        """
        payloads = [encode_event(event) for event in events]
        chunks: list[list[EncodableT]] = [
            [self._maxlen or "", ENTRY_FIELD, *payloads[start : start + PUBLISH_CHUNK]]
            for start in range(0, len(payloads), PUBLISH_CHUNK)
        ]
        if self._wait is None:
            replies = [await self._publish_many(keys=[stream], args=chunk) for chunk in chunks]
        else:
            # One pipeline, so WAIT runs on the connection that wrote the entries.
            pipe = self._redis.pipeline(transaction=False)
            for chunk in chunks:
                await self._publish_many(keys=[stream], args=chunk, client=pipe)
            add_wait(pipe, self._wait)
            *replies, acknowledged = await pipe.execute()
            check_wait(acknowledged, self._wait)
        EVENTS_PUBLISHED.labels(stream_kind(stream)).inc(len(payloads))
        return [entry_id for joined in replies for entry_id in cast(bytes, joined).split(b" ")]
