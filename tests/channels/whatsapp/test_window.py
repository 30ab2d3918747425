"""The 24-hour customer-service window, kept in the channel's Redis keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from begasist_channels_whatsapp import WhatsAppChannel
from begasist_channels_whatsapp.window import CustomerServiceWindow
from begasist_core import ChannelKeys
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.whatsapp.samples import MESSAGES, settings

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUEST = "972987654321"


@pytest.fixture
def keys(begasist_bus: Bus) -> ChannelKeys:
    return ChannelKeys(begasist_bus.redis, begasist_bus.names, "plaza", "whatsapp")


def window_at(keys: ChannelKeys, now: datetime) -> CustomerServiceWindow:
    return CustomerServiceWindow(keys, clock=lambda: now)


async def test_a_guest_with_no_record_is_outside(keys: ChannelKeys) -> None:
    assert not await window_at(keys, NOW).is_open(GUEST)


async def test_open_for_24_hours_after_the_guest_wrote(keys: ChannelKeys) -> None:
    await window_at(keys, NOW).record(GUEST, NOW - timedelta(hours=1))
    assert await window_at(keys, NOW + timedelta(hours=22, minutes=59)).is_open(GUEST)
    assert not await window_at(keys, NOW + timedelta(hours=23)).is_open(GUEST)


async def test_the_key_expires_when_the_window_closes(keys: ChannelKeys, begasist_bus: Bus) -> None:
    await window_at(keys, NOW).record(GUEST, NOW - timedelta(hours=20))
    ttl_ms = await begasist_bus.redis.pttl(keys.full_name(f"window:{GUEST}"))
    assert timedelta(hours=3, minutes=59) < timedelta(milliseconds=ttl_ms) <= timedelta(hours=4)


async def test_an_older_message_never_shortens_the_window(keys: ChannelKeys) -> None:
    window = window_at(keys, NOW)
    await window.record(GUEST, NOW)
    await window.record(GUEST, NOW - timedelta(hours=5))
    assert await window.last_message_at(GUEST) == NOW


async def test_a_message_older_than_the_window_records_nothing(keys: ChannelKeys) -> None:
    window = window_at(keys, NOW)
    await window.record(GUEST, NOW - timedelta(hours=25))
    assert await window.last_message_at(GUEST) is None


async def test_the_number_is_matched_whatever_its_spelling(keys: ChannelKeys) -> None:
    await window_at(keys, NOW).record(GUEST, NOW)
    assert await window_at(keys, NOW).is_open("+972 98-765-4321")


async def test_forget_closes_it(keys: ChannelKeys) -> None:
    window = window_at(keys, NOW)
    await window.record(GUEST, NOW)
    await window.forget(GUEST)
    assert not await window.is_open(GUEST)


async def test_parse_opens_the_window_of_each_guest_who_wrote(begasist_bus: Bus) -> None:
    harness = ChannelHarness(WhatsAppChannel, bus=begasist_bus, settings=settings(), hotel="plaza")
    channel = harness.build()
    sample = json.loads(json.dumps(MESSAGES["text"]))
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    sample["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = str(
        int(written.timestamp())
    )
    await channel.parse(harness.webhook(json.dumps(sample).encode()))
    assert await channel.window.last_message_at(GUEST) == written
    assert await channel.window.is_open(GUEST)
