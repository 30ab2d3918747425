"""Bookings read from Channex once per burst: a small LRU with a short time to live.

Every guest message carries its booking's context (OTA, reservation code, dates,
guest's name), read with ``GET /bookings/{id}``. A guest writes several messages
in a row, and a catch-up after downtime finds many messages of one booking: a
read per message was 10,000 reads for 1,000 bookings (docs/benchmarks.md,
Channex catch-up). A booking changes rarely (a modification of its dates, a
corrected name), so a reading kept for :data:`BOOKING_TTL` serves the rest of
the burst; after that a message reads the booking again and carries its latest
revision.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final

import anyio

from begasist_channels_channex.api import ChannexBooking

__all__ = ["BOOKING_CACHE_SIZE", "BOOKING_TTL", "BookingCache", "ReadBooking"]

BOOKING_TTL: Final = timedelta(seconds=60)
"""How long a booking read serves later messages. A webhook burst of one booking
lasts seconds; a minute bounds how stale a changed booking's context can be on a
new message (staff see the booking's change in Channex itself right away)."""
BOOKING_CACHE_SIZE: Final = 512
"""Bookings kept at most (the least recently used go first): far more than a
hotel's guests write at once, a few hundred kilobytes at worst."""

ReadBooking = Callable[[str], Awaitable[ChannexBooking | None]]
"""Reads a booking from Channex: None when Channex refuses to show it; raises when
Channex does not answer (then nothing is kept and the next message reads again)."""


class BookingCache:
    """Bookings by id, at most *maxsize*, each for *ttl*; one read at a time per id.

    :meth:`get` answers from the cache, else reads; callers asking for a booking
    already being read wait for that read instead of starting their own. A
    refusal (None) is kept like a booking: asking again within the TTL would be
    refused again.
    """

    def __init__(
        self,
        *,
        maxsize: int = BOOKING_CACHE_SIZE,
        ttl: timedelta = BOOKING_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._maxsize = maxsize
        self._ttl = ttl.total_seconds()
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, ChannexBooking | None]] = OrderedDict()
        self._reading: dict[str, anyio.Event] = {}

    def __len__(self) -> int:
        return len(self._kept)

    async def get(self, booking_id: str, read: ReadBooking) -> ChannexBooking | None:
        """The booking *booking_id*, kept or read with *read* (whose errors pass through)."""
        while True:
            kept = self._fresh(booking_id)
            if kept is not None:
                return kept[1]
            reading = self._reading.get(booking_id)
            if reading is None:
                break
            # Someone reads it now; if that read fails, the loop reads it itself.
            await reading.wait()
        done = self._reading[booking_id] = anyio.Event()
        try:
            booking = await read(booking_id)
            self._keep(booking_id, booking)
            return booking
        finally:
            del self._reading[booking_id]
            done.set()

    def _fresh(self, booking_id: str) -> tuple[float, ChannexBooking | None] | None:
        kept = self._kept.get(booking_id)
        if kept is None:
            return None
        if self._clock() >= kept[0]:
            del self._kept[booking_id]
            return None
        self._kept.move_to_end(booking_id)
        return kept

    def _keep(self, booking_id: str, booking: ChannexBooking | None) -> None:
        self._kept[booking_id] = (self._clock() + self._ttl, booking)
        self._kept.move_to_end(booking_id)
        while len(self._kept) > self._maxsize:
            self._kept.popitem(last=False)
