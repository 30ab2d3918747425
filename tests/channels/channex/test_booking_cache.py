"""The channel's cache of bookings read from Channex: bounded, short-lived, one read at a time.

The reads here are plain coroutines counting their calls (the cache is given
its read); the stand-in and Redis play no part. Time is the test's own clock.
"""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from begasist_channels_channex.api import ChannexApiError, ChannexBooking
from begasist_channels_channex.bookings import BOOKING_TTL, BookingCache

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Reads:
    """A read of Channex's bookings, counting calls per id; *gate* holds each read open."""

    def __init__(self, gate: anyio.Event | None = None) -> None:
        self.calls: list[str] = []
        self.gate = gate
        self.fail = False

    async def __call__(self, booking_id: str) -> ChannexBooking | None:
        self.calls.append(booking_id)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ChannexApiError(503, None, "unavailable")
        return ChannexBooking(id=booking_id, ota_name="Airbnb")


async def test_a_booking_is_read_once_within_its_ttl_and_again_after() -> None:
    clock, reads = Clock(), Reads()
    cache = BookingCache(clock=clock)

    first = await cache.get("b1", reads)
    clock.now += BOOKING_TTL.total_seconds() - 1
    again = await cache.get("b1", reads)
    clock.now += 1
    later = await cache.get("b1", reads)

    assert first == again == later
    assert reads.calls == ["b1", "b1"]


async def test_the_least_recently_used_booking_goes_first_when_full() -> None:
    reads = Reads()
    cache = BookingCache(maxsize=2, clock=Clock())
    await cache.get("b1", reads)
    await cache.get("b2", reads)
    await cache.get("b1", reads)  # b2 is now the least recently used

    await cache.get("b3", reads)
    await cache.get("b1", reads)
    await cache.get("b2", reads)

    assert len(cache) == 2
    assert reads.calls == ["b1", "b2", "b3", "b2"]


async def test_callers_asking_together_share_one_read() -> None:
    gate = anyio.Event()
    reads = Reads(gate)
    cache = BookingCache(clock=Clock())
    found: list[ChannexBooking | None] = []

    async def ask() -> None:
        found.append(await cache.get("b1", reads))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        gate.set()

    assert reads.calls == ["b1"]
    assert len(found) == 5
    assert all(booking is not None and booking.id == "b1" for booking in found)


async def test_a_failed_read_is_not_kept() -> None:
    reads = Reads()
    cache = BookingCache(clock=Clock(), ttl=timedelta(minutes=1))
    reads.fail = True
    with pytest.raises(ChannexApiError):
        await cache.get("b1", reads)

    reads.fail = False
    assert await cache.get("b1", reads) is not None
    assert reads.calls == ["b1", "b1"]


async def test_a_refused_booking_is_kept_like_one_read() -> None:
    calls: list[str] = []

    async def refused(booking_id: str) -> ChannexBooking | None:
        calls.append(booking_id)
        return None

    cache = BookingCache(clock=Clock())
    assert await cache.get("gone", refused) is None
    assert await cache.get("gone", refused) is None
    assert calls == ["gone"]
