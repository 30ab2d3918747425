"""The catch-up after a long downtime: more active threads than a page cap would read.

Against the Channex API stand-in (``begasist_channels_channex.testing``, a real
local HTTP server speaking Channex's wire format, not Channex) and the test's
real Redis. ``bench/channex_catchup.py`` found it with 10,000 bookings: a pass
read the 50 newest pages of threads, then moved its cursor past the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from begasist_channels_channex import ChannexChannel, ChannexSettings, catchup
from begasist_channels_channex.testing import ChannexStandin, StandinBooking
from begasist_core import MessageReceived
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import PROPERTY_ID, settings_for

pytestmark = pytest.mark.anyio


async def test_every_thread_active_since_the_cursor_is_caught_up_however_many(
    begasist_bus: Bus, channex: ChannexStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One page of one thread's messages per pass, so that 101 threads (two pages of
    # threads) are more than a pass would read if the listing were capped by it.
    monkeypatch.setattr(catchup, "MAX_PAGES", 1)
    settings = ChannexSettings.model_validate(settings_for(channex))
    harness = ChannelHarness(ChannexChannel, bus=begasist_bus, settings=settings, hotel="plaza")
    # Written an hour ago, while the suite was down: older than any pass's overlap.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    written = set()
    for number in range(101):
        booking = channex.add_booking(
            StandinBooking(id=f"after-downtime-{number:03d}", property_id=PROPERTY_ID)
        )
        channex.guest_writes(booking.id, f"mensaje {number}", at=an_hour_ago)
        written.add(booking.id)
    catch_up = harness.build().catch_up()

    for _ in range(3):
        await catch_up.run_once()

    emitted = [e.data for e in await harness.events.read() if isinstance(e.data, MessageReceived)]
    caught_up = {m.message.conversation_key.partition(":")[2] for m in emitted}
    assert written <= caught_up
    assert len(emitted) == len(caught_up)  # each once
