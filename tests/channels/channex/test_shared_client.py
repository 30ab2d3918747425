"""One HTTP client per running channel, and a booking read once per burst or catch-up pass.

Against the Channex API stand-in (``begasist_channels_channex.testing``, a real
local HTTP server speaking Channex's wire format, not Channex), which counts the
TCP connections its requests came over, and the test's real Redis.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest
from begasist_channels_channex import ChannexChannel, ChannexSettings
from begasist_channels_channex.bookings import BookingCache
from begasist_channels_channex.testing import ChannexStandin
from begasist_core import Event, MessageReceived
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import (
    AIRBNB_BOOKING_ID,
    BOOKING_ID,
    EXPEDIA_BOOKING_ID,
    settings_for,
)

pytestmark = pytest.mark.anyio

BOOKING_PATH = f"/api/v1/bookings/{BOOKING_ID}"


def harness_for(
    bus: Bus, channex: ChannexStandin, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel="plaza")


def received_of(events: list[Event]) -> list[MessageReceived]:
    return [e.data for e in events if isinstance(e.data, MessageReceived)]


async def first_pass_done(channel: ChannexChannel) -> None:
    """Until the running channel's first catch-up pass has ended (it sets the cursor last).

    Not merely begun: a request of the test's while the pass's is in flight would
    rightly take a second connection.
    """
    catch_up = channel.catch_up()
    with anyio.fail_after(30):
        # The cursor is a Redis key: there is no event to wait on.
        while await catch_up.cursor() is None:  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def test_a_running_channel_talks_to_channex_over_one_connection(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    channel = harness.build()
    async with anyio.create_task_group() as group:
        group.start_soon(channel.run)
        await first_pass_done(channel)
        for text in ("Hola", "¿Hay parking?", "Llegamos a las 22:00"):
            body = channex.guest_writes(BOOKING_ID, text)
            [received] = await channel.parse(harness.webhook(body))
            assert isinstance(received, MessageReceived)
        await channel.send(harness.outbound("Sin problema", address=f"booking_com:{BOOKING_ID}"))
        group.cancel_scope.cancel()

    # The catch-up's listing, three parses with their booking, the send's thread
    # check and post: each a new connection before, one kept connection now.
    assert channex.connections == 1
    assert [m.message for m in channex.sent] == ["Sin problema"]


async def test_a_burst_of_one_booking_s_webhooks_reads_the_booking_once(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    channel = harness.build()
    bodies = [channex.guest_writes(BOOKING_ID, f"mensaje {n}") for n in range(5)]

    for body in bodies:
        [received] = await channel.parse(harness.webhook(body))
        assert isinstance(received, MessageReceived)
        assert received.message.context is not None
        assert received.message.context.booking is not None

    assert channex.requests.count(("GET", BOOKING_PATH)) == 1


async def test_a_channel_not_running_still_reaches_channex(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    # A parse before run() starts, or after it ended: a client of its own per call.
    harness = harness_for(begasist_bus, channex)
    channel = harness.build()
    async with anyio.create_task_group() as group:
        group.start_soon(channel.run)
        await first_pass_done(channel)
        group.cancel_scope.cancel()

    body = channex.guest_writes(BOOKING_ID, "¿Sigue en pie la reserva?")
    [received] = await channel.parse(harness.webhook(body))

    assert isinstance(received, MessageReceived)
    assert received.message.text == "¿Sigue en pie la reserva?"


async def test_a_pass_reads_each_booking_once_however_many_of_its_messages(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    bookings = (BOOKING_ID, AIRBNB_BOOKING_ID, EXPEDIA_BOOKING_ID)
    for n in range(4):
        for booking_id in bookings:
            channex.guest_writes(booking_id, f"mensaje {n}")
    channel = harness.build()
    # No reading outlives a moment across calls: only the pass's own memory remains.
    channel.bookings = BookingCache(ttl=timedelta(0))

    assert await channel.catch_up().run_once() == 12

    booking_reads = [path for _, path in channex.requests if path.count("/") == 4]
    assert sorted(booking_reads) == sorted(f"/api/v1/bookings/{b}" for b in bookings)
    assert all(r.message.context is not None for r in received_of(await harness.events.read()))
