"""A hotel's tenure: sends through a restart, a stolen lease, errors that are not outages."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import pytest
from begasist_core import ConfigChanged, MessageSend, decode_event, make_event
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events import (
    ChannelState,
    ChannelStateEvent,
    Event,
    MessageStatusEvent,
)
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import eventually, probe_log
from .test_streams import outbound

pytestmark = pytest.mark.anyio


async def events_after(redis: Redis, names: StreamNames, cursor: bytes) -> list[Event]:
    entries = await redis.xrange(names.events, min=f"({cursor.decode()}")
    return [decode_event(fields[b"e"]) for _, fields in entries]


async def test_a_send_during_a_channel_restart_waits_for_the_new_instance(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    def probe(label: str) -> dict[str, dict[str, object]]:
        # The old instance takes half a second to disconnect.
        return {
            "probe": {"label": label, "stop_seconds": 0.5, "probe_redis_url": begasist_redis_url}
        }

    source = StaticSettingsSource({"plaza": probe("v1")})
    bot = make_bot(source)
    publisher = Publisher(begasist_redis)
    message = outbound("Your taxi is here")
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        new = source.update("plaza", probe("v2"))
        await publisher.publish(
            begasist_names.control("plaza"), make_event("plaza", ConfigChanged(version=new.version))
        )
        await anyio.sleep(0.1)  # the restart is under way
        await publisher.publish(
            begasist_names.outbound("plaza"), make_event("plaza", MessageSend(message=message))
        )

        async def sent() -> bool:
            return await probe_log(begasist_redis, begasist_names, "probe", "sent") == [message.id]

        await eventually(sent)
        await bot.drain()
    statuses = [
        e
        for e in await events_after(begasist_redis, begasist_names, b"0-0")
        if isinstance(e, MessageStatusEvent)
    ]
    assert [s.data.failed for s in statuses] == [False]


async def test_a_bot_whose_lease_is_taken_stops_and_stays_silent(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    bot = make_bot(source)
    lease_key = begasist_names.hotel_key("plaza", "lease")
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        [(cursor, _)] = await begasist_redis.xrevrange(begasist_names.events, count=1)
        # Another instance holds the lease now (as after a partition healed).
        await begasist_redis.set(lease_key, "999:thief", px=60_000)

        async def stepped_down() -> bool:
            return not bot.channels

        await eventually(stepped_down)
        await anyio.sleep(0.3)
        assert await begasist_redis.get(lease_key) == b"999:thief"
        group.cancel_scope.cancel()
    spoken = [
        e
        for e in await events_after(begasist_redis, begasist_names, cursor)
        if isinstance(e, ChannelStateEvent) and e.data.state is ChannelState.STOPPED
    ]
    assert spoken == [], "a bot without the lease reported the channel stopped"


async def test_an_error_that_is_not_an_outage_ends_the_tenure_not_the_bot(
    begasist_redis_url: str,
    make_bot: Callable[..., HotelBot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="begasist.channelbot")
    source = StaticSettingsSource({})  # the hotel is unknown to the source, for now
    bot = make_bot(source)
    async with anyio.create_task_group() as group:
        group.start_soon(bot.run)

        async def reported() -> bool:
            return any("stopped by UnknownHotel" in r.getMessage() for r in caplog.records)

        await eventually(reported)
        source.update("plaza", {"probe": {"probe_redis_url": begasist_redis_url}})
        with anyio.fail_after(10):
            await bot.ready.wait()
        await bot.drain()
