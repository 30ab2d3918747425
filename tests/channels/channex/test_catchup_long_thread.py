"""The catch-up of a thread with more new messages than a pass reads.

Against the Channex API stand-in (``begasist_channels_channex.testing``, a real
local HTTP server speaking Channex's wire format, not Channex) and the test's
real Redis. A pass reads at most ``MAX_PAGES`` pages of one thread's messages
that hold a message not handed on yet; it used to move its cursor past the
rest of such a thread, which were then never read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from begasist_channels_channex import ChannexChannel, ChannexSettings, catchup
from begasist_channels_channex.testing import ChannexStandin
from begasist_core import Event, MessageReceived
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import BOOKING_ID, settings_for

pytestmark = pytest.mark.anyio


def harness_for(
    bus: Bus, channex: ChannexStandin, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel="plaza")


def received(events: list[Event]) -> list[MessageReceived]:
    return [e.data for e in events if isinstance(e.data, MessageReceived)]


async def test_a_thread_longer_than_a_pass_reads_is_caught_up_whole_over_passes(
    begasist_bus: Bus, channex: ChannexStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One page (100 messages) of new messages per thread per pass, 250 new ones.
    monkeypatch.setattr(catchup, "MAX_PAGES", 1)
    harness = harness_for(begasist_bus, channex)
    # Written during a downtime an hour ago, a second apart, oldest first.
    an_hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    written = [an_hour_ago + timedelta(seconds=n) for n in range(250)]
    for n, at in enumerate(written):
        channex.guest_writes(BOOKING_ID, f"mensaje {n}", at=at)
    catch_up = harness.build().catch_up()

    assert await catch_up.run_once() == 100
    # The newest 100 handed on; the cursor stays at the oldest of them, short of
    # the 150 older ones not read yet.
    cursor = await catch_up.cursor()
    assert cursor is not None
    assert cursor <= written[150]
    assert await catch_up.run_once() == 100
    assert await catch_up.run_once() == 50
    assert await catch_up.run_once() == 0

    texts = [r.message.text for r in received(await harness.events.read())]
    assert sorted(texts) == sorted(f"mensaje {n}" for n in range(250))
    cursor = await catch_up.cursor()
    assert cursor is not None
    assert cursor > written[-1]
