"""A standby bot: it waits without acting, takes nothing of a live active bot, and its
shutdown leaves the active bot alone."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest
from begasist_core import MessageSend, make_event
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.presence import PresenceRecord
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.channelbot.streams import CONSUMER_GROUP
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import eventually, probe_log
from .test_streams import outbound

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


async def test_a_standby_never_takes_the_entries_of_a_live_active_bot(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    # A send that takes longer than claim_idle (1 s) and than a lease TTL (2 s):
    # the active bot renews its lease meanwhile, so the standby stays out.
    source = StaticSettingsSource(
        {"plaza": {"probe": {"probe_redis_url": begasist_redis_url, "send_seconds": 2.5}}}
    )
    active, standby = make_bot(source, instance="active"), make_bot(source, instance="standby")
    message = outbound("Can I bring my dog?")
    stream = begasist_names.outbound("plaza")

    async def send_started() -> bool:
        return await probe_log(begasist_redis, begasist_names, "probe", "send_started") != []

    async with anyio.create_task_group() as group:
        await group.start(active.run)
        group.start_soon(standby.run)
        await Publisher(begasist_redis).publish(
            stream, make_event("plaza", MessageSend(message=message))
        )
        await eventually(send_started)
        await anyio.sleep(2)  # many standby polls while the send is in flight
        pending = await begasist_redis.xpending_range(stream, CONSUMER_GROUP, "-", "+", 10)
        assert [(p["consumer"], p["times_delivered"]) for p in pending] == [(b"active", 1)]
        assert not standby.ready.is_set()

        async def sent() -> bool:
            return await probe_log(begasist_redis, begasist_names, "probe", "sent") == [message.id]

        await eventually(sent)
        await standby.drain()
        await active.drain()
    assert await probe_log(begasist_redis, begasist_names, "probe", "sent") == [message.id]
