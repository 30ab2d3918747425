"""The hub: frames from bots' ``guests`` streams pushed to the guest sockets this replica holds.

Bots append frames with ``context.guests.deliver(address, frame)`` to
``{prefix}:hotel:{hotel}:guests:{channel}``. Every suite replica reads every
such stream it holds a socket for, without a consumer group (each replica
must see every frame: the guest's socket may be on any of them), starting at
the stream's last entry when its first socket arrives. A frame for an address
with no socket here is skipped: the store has the message for the guest's
next visit (history). Each frame reaches the socket with the id of the reply it
shows, if the bot gave one (``deliver(..., message_id=)``): the receipts the
socket takes are for those.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from begasist_core import REDIS_UNAVAILABLE, StreamNames
from redis.asyncio import Redis

__all__ = ["SOCKET_BUFFER", "GuestHub", "GuestPush"]

log = logging.getLogger(__name__)

SOCKET_BUFFER: Final = 64
"""Frames queued per socket; a guest that lags further loses live frames, not history."""
_BLOCK_MS: Final = 250
"""How long one XREAD waits: also how soon a stream whose first socket just came is read."""
_READ_COUNT: Final = 500


@dataclass(frozen=True, slots=True)
class GuestPush:
    """A frame for a guest's socket, and the id of the reply it shows (None: not a reply)."""

    frame: bytes
    message_id: str | None = None


class GuestHub:
    """Holds this replica's guest sockets by (stream, address) and feeds them (module docs)."""

    def __init__(self, redis: Redis, names: StreamNames) -> None:
        self._redis = redis
        self._names = names
        self._sockets: dict[str, dict[str, set[MemoryObjectSendStream[GuestPush]]]] = {}
        self._cursors: dict[str, bytes] = {}
        self._streams_changed = anyio.Event()
        self._stopped = False

    @asynccontextmanager
    async def subscribe(
        self, hotel: str, channel: str, address: str
    ) -> AsyncIterator[MemoryObjectReceiveStream[GuestPush]]:
        """The frames for *address* on *hotel*'s *channel* from now on, while the block runs."""
        stream = self._names.guests(hotel, channel)
        if stream not in self._cursors:
            # From the stream's current end: what came before is in the store (history).
            last: Any = await self._redis.xrevrange(stream, count=1)
            self._cursors.setdefault(stream, last[0][0] if last else b"0-0")
            self._streams_changed.set()
        send, receive = anyio.create_memory_object_stream[GuestPush](SOCKET_BUFFER)
        self._sockets.setdefault(stream, {}).setdefault(address, set()).add(send)
        try:
            async with receive:
                yield receive
        finally:
            send.close()
            by_address = self._sockets.get(stream, {})
            held = by_address.get(address, set())
            held.discard(send)
            if not held:
                by_address.pop(address, None)
            if not by_address:
                self._sockets.pop(stream, None)
                self._cursors.pop(stream, None)

    def sockets(self) -> int:
        """How many sockets are subscribed (for tests and metrics)."""
        return sum(len(held) for by in self._sockets.values() for held in by.values())

    def stop(self) -> None:
        self._stopped = True
        self._streams_changed.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while not self._stopped:
            if not self._cursors:
                await self._streams_changed.wait()
                self._streams_changed = anyio.Event()
                continue
            streams: dict[Any, Any] = dict(self._cursors)
            try:
                found: Any = await self._redis.xread(streams, count=_READ_COUNT, block=_BLOCK_MS)
            except REDIS_UNAVAILABLE as error:
                log.warning("guest hub: cannot read the guest streams: %s", error)
                await anyio.sleep(1.0)
                continue
            for stream, entries in found or ():  # RESP2: [[stream, entries], ...]
                self._push(stream.decode() if isinstance(stream, bytes) else str(stream), entries)

    def _push(self, stream: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        if stream not in self._cursors:
            return  # its last socket left while the read was in flight
        self._cursors[stream] = entries[-1][0]
        by_address = self._sockets.get(stream, {})
        for _, fields in entries:
            address = fields.get(b"address", b"").decode("utf-8", "replace")
            frame = fields.get(b"frame")
            if frame is None:
                continue
            message = fields.get(b"message")
            push = GuestPush(frame, None if message is None else message.decode("utf-8", "replace"))
            for sink in tuple(by_address.get(address, ())):
                try:
                    sink.send_nowait(push)
                except anyio.WouldBlock:
                    log.info("guest hub: a socket of %s lags; a live frame dropped", stream)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass  # the socket is closing
