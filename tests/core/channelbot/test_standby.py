"""A standby bot: it waits without acting, and its shutdown leaves the active bot alone."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.presence import PresenceRecord
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import probe_log

pytestmark = pytest.mark.anyio


async def test_a_standby_does_not_act_and_its_shutdown_keeps_the_active_bots_keys(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    active, standby = make_bot(source, instance="active"), make_bot(source, instance="standby")
    lease_key = begasist_names.hotel_key("plaza", "lease")
    presence_key = begasist_names.hotel_key("plaza", "presence")
    async with anyio.create_task_group() as group:
        await group.start(active.run)
        group.start_soon(standby.run)
        await anyio.sleep(0.3)  # a few standby polls
        assert not standby.ready.is_set()
        assert await probe_log(begasist_redis, begasist_names, "probe", "starts") == ["probe"]

        await standby.drain()
        raw = await begasist_redis.get(presence_key)
        assert raw is not None, "the standby deleted the active bot's presence"
        assert PresenceRecord.model_validate_json(raw).instance == "active"
        holder = await begasist_redis.get(lease_key)
        assert holder is not None
        assert holder.endswith(b":active")
        await active.drain()
    assert await begasist_redis.get(presence_key) is None
    assert await begasist_redis.get(lease_key) is None
