"""The kit's pytest fixtures: a real bus, a settings source, captured events and outbound.

``channel_harness`` and ``captured_outbound`` need three fixtures from the
test: ``channel_class``, ``channel_settings`` (the raw settings mapping) and
``read_transmissions`` (a :data:`TransmissionReader`).
:class:`~begasist_core.testing.ChannelConformance` provides its own
``channel_harness`` from its ``channel_class`` attribute.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
from redis.asyncio import Redis

from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events.streams import StreamNames
from begasist_core.plugins.channel import Channel
from begasist_core.testing.harness import (
    DEFAULT_HOTEL,
    Bus,
    ChannelHarness,
    EventCapture,
    Transmission,
    TransmissionReader,
)

__all__ = [
    "begasist_bus",
    "begasist_settings_source",
    "captured_events",
    "captured_outbound",
    "channel_harness",
    "make_channel_harness",
]


@pytest.fixture
def begasist_bus(
    begasist_redis_url: str, begasist_redis: Redis, begasist_names: StreamNames
) -> Bus:
    """A real bus on the test Redis, under this test's private prefix."""
    return Bus(
        url=begasist_redis_url,
        redis=begasist_redis,
        names=begasist_names,
        publisher=Publisher(begasist_redis),
    )


@pytest.fixture
def begasist_settings_source() -> StaticSettingsSource:
    """An in-memory settings source, empty: ``update(hotel, {channel: {...}})`` fills it."""
    return StaticSettingsSource()


@pytest.fixture
def captured_events(begasist_bus: Bus) -> EventCapture:
    """What was published to this test's events stream: ``await captured_events.read()``."""
    return EventCapture(begasist_bus)


async def make_channel_harness(
    channel_class: type[Channel[Any]],
    channel_settings: Mapping[str, Any],
    *,
    bus: Bus,
    source: StaticSettingsSource,
    read_transmissions: TransmissionReader,
    hotel: str = DEFAULT_HOTEL,
) -> ChannelHarness[Channel[Any]]:
    """Put the settings in *source* and build a harness from it, as a bot would."""
    source.update(hotel, {channel_class.name: dict(channel_settings)})
    return await ChannelHarness.from_source(
        channel_class, bus=bus, source=source, hotel=hotel, read_transmissions=read_transmissions
    )


@pytest.fixture
async def channel_harness(
    channel_class: type[Channel[Any]],
    channel_settings: Mapping[str, Any],
    read_transmissions: TransmissionReader,
    begasist_bus: Bus,
    begasist_settings_source: StaticSettingsSource,
) -> ChannelHarness[Channel[Any]]:
    """A harness for the test's ``channel_class`` with its ``channel_settings``."""
    return await make_channel_harness(
        channel_class,
        channel_settings,
        bus=begasist_bus,
        source=begasist_settings_source,
        read_transmissions=read_transmissions,
    )


@pytest.fixture
def captured_outbound(
    channel_harness: ChannelHarness[Channel[Any]],
) -> Callable[[], Awaitable[list[Transmission]]]:
    """What the harness's channels transmitted: ``await captured_outbound()``."""
    return channel_harness.transmitted
