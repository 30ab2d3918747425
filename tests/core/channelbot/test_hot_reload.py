"""Hot reload: a config change restarts only the channels whose settings changed."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from begasist_core import ConfigChanged, decode_event, make_event
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events import ChannelState, ChannelStateEvent
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import eventually, probe_log

pytestmark = pytest.mark.anyio


def two_channels(url: str, probe_label: str = "v1") -> dict[str, dict[str, object]]:
    return {
        "probe": {"label": probe_label, "probe_redis_url": url},
        "echo_probe": {"label": "v1", "probe_redis_url": url},
    }


async def test_config_changed_restarts_only_the_changed_channel(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": two_channels(begasist_redis_url)})
    bot = make_bot(source)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)

        async def started(channel: str, count: int) -> bool:
            return len(await probe_log(begasist_redis, begasist_names, channel, "starts")) == count

        await eventually(lambda: started("probe", 1))
        await eventually(lambda: started("echo_probe", 1))

        new = source.update("plaza", two_channels(begasist_redis_url, probe_label="v2"))
        await Publisher(begasist_redis).publish(
            begasist_names.control("plaza"), make_event("plaza", ConfigChanged(version=new.version))
        )
        await eventually(lambda: started("probe", 2))
        await anyio.sleep(0.2)  # room for a wrong restart of the other channel to show

        assert await probe_log(begasist_redis, begasist_names, "probe", "starts") == ["v1", "v2"]
        assert await probe_log(begasist_redis, begasist_names, "echo_probe", "starts") == ["v1"]
        assert bot.config_version == new.version
        await bot.drain()

    entries = await begasist_redis.xrange(begasist_names.events)
    states = [
        (event.data.channel, event.data.state)
        for event in (decode_event(fields[b"e"]) for _, fields in entries)
        if isinstance(event, ChannelStateEvent)
    ]
    assert states.count(("probe", ChannelState.RUNNING)) == 2
    assert states.count(("echo_probe", ChannelState.RUNNING)) == 1


async def test_periodic_version_check_catches_a_missed_event(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": two_channels(begasist_redis_url)})
    bot = make_bot(source, version_check_seconds=0.1)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        source.update("plaza", two_channels(begasist_redis_url, probe_label="v2"))  # no event

        async def restarted() -> bool:
            starts = await probe_log(begasist_redis, begasist_names, "probe", "starts")
            return starts == ["v1", "v2"]

        await eventually(restarted)
        await bot.drain()


async def test_a_removed_channel_stops_and_an_added_one_starts(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    bot = make_bot(source)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        assert set(bot.channels) == {"probe"}
        source.update("plaza", {"echo_probe": {"probe_redis_url": begasist_redis_url}})
        await bot.reload()
        assert set(bot.channels) == {"echo_probe"}
        await bot.drain()
