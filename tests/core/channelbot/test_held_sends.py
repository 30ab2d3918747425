"""A channel whose provider refuses its credentials is misconfigured, its sends held (not
failed) while it still reads webhooks, and what it held goes out once its settings change."""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
import pytest
from begasist_core import MessageSend, WebhookReceived, make_event
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.held_sends import HeldSends
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events import ChannelStateEvent, MessageReceivedEvent, MessageStatusEvent
from begasist_core.events.payloads import ChannelState
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import eventually, probe_log
from .test_streams import events_of, outbound

pytestmark = pytest.mark.anyio


async def test_revoked_credentials_hold_sends_until_the_settings_change(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    settings = {"probe_redis_url": begasist_redis_url, "revoked": True}
    source = StaticSettingsSource({"plaza": {"probe": settings}})
    bot = make_bot(source, max_deliveries=2)
    held = HeldSends(begasist_redis, begasist_names, "plaza")
    publisher = Publisher(begasist_redis)
    first, second = outbound("Your room is ready"), outbound("Breakfast is at 7")
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        await publisher.publish(
            begasist_names.outbound("plaza"), make_event("plaza", MessageSend(message=first))
        )

        async def misconfigured() -> bool:
            return any(
                isinstance(e, ChannelStateEvent)
                and e.data.state is ChannelState.MISCONFIGURED
                and e.data.detail == "the probe's token was revoked: save a new one"
                for e in await events_of(begasist_redis, begasist_names)
            )

        await eventually(misconfigured)
        # Later sends are held at once, not tried and not failed.
        await publisher.publish(
            begasist_names.outbound("plaza"), make_event("plaza", MessageSend(message=second))
        )

        async def both_held() -> bool:
            return await held.count("probe") == 2

        await eventually(both_held)
        # Webhooks are still read meanwhile.
        webhook = WebhookReceived(
            channel="probe", body=json.dumps({"from": "g", "text": "hi", "id": "w1"}).encode()
        )
        await publisher.publish(begasist_names.ingress("plaza"), make_event("plaza", webhook))

        async def received() -> bool:
            return any(
                isinstance(e, MessageReceivedEvent)
                for e in await events_of(begasist_redis, begasist_names)
            )

        await eventually(received)
        statuses = [
            e
            for e in await events_of(begasist_redis, begasist_names)
            if isinstance(e, MessageStatusEvent)
        ]
        assert statuses == [], "nothing failed"

        source.update("plaza", {"probe": {**settings, "revoked": False}})
        await bot.reload()

        async def both_sent() -> bool:
            sent = await probe_log(begasist_redis, begasist_names, "probe", "sent")
            return sorted(sent) == sorted([first.id, second.id])

        await eventually(both_sent)
        assert await held.count("probe") == 0
        await bot.drain()
