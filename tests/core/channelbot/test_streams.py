"""The bot's three inbound streams: outbound sends, ingress webhooks, control commands."""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
import pytest
from begasist_core import (
    ChannelCommand,
    Direction,
    GuestIdentity,
    Message,
    MessageSend,
    WebhookReceived,
    decode_event,
    make_event,
)
from begasist_core.bus.dead_letters import DeadLetters
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.events import (
    Event,
    MessageReceivedEvent,
    MessageStatusEvent,
)
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import eventually, probe_log

pytestmark = pytest.mark.anyio


async def events_of(redis: Redis, names: StreamNames) -> list[Event]:
    return [decode_event(fields[b"e"]) for _, fields in await redis.xrange(names.events)]


def outbound(text: str, channel: str = "probe") -> Message:
    return Message(
        hotel="plaza",
        channel=channel,
        conversation_key="guest-1",
        direction=Direction.OUTBOUND,
        guest=GuestIdentity(channel=channel, address="guest-1"),
        text=text,
    )


@pytest.fixture
async def running_bot(begasist_redis_url: str, make_bot: Callable[..., HotelBot]) -> object:
    source = StaticSettingsSource({"plaza": {"probe": {"probe_redis_url": begasist_redis_url}}})
    bot = make_bot(source, max_deliveries=2)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        yield bot
        await bot.drain()


async def test_a_send_is_reported_sent_once_even_when_redelivered(
    begasist_redis: Redis, begasist_names: StreamNames, running_bot: HotelBot
) -> None:
    message = outbound("Your room is ready")
    publisher = Publisher(begasist_redis)
    stream = begasist_names.outbound("plaza")
    event = make_event("plaza", MessageSend(message=message))
    await publisher.publish(stream, event)
    await publisher.publish(stream, event)  # a replayed entry: same message id

    async def two_statuses() -> bool:
        statuses = [
            e
            for e in await events_of(begasist_redis, begasist_names)
            if isinstance(e, MessageStatusEvent)
        ]
        return len(statuses) == 2

    await eventually(two_statuses)
    assert await probe_log(begasist_redis, begasist_names, "probe", "sent") == [message.id]
    statuses = [
        e
        for e in await events_of(begasist_redis, begasist_names)
        if isinstance(e, MessageStatusEvent)
    ]
    assert {s.data.status.value for s in statuses} == {"sent"}
    assert {s.key for s in statuses} == {statuses[0].key}  # the suite applies it once
    assert statuses[0].data.message_id == message.id
    assert statuses[0].data.provider_message_id == f"p-{message.id}"


async def test_a_refused_send_is_reported_failed_and_not_retried(
    begasist_redis: Redis, begasist_names: StreamNames, running_bot: HotelBot
) -> None:
    message = outbound("refuse me")
    await Publisher(begasist_redis).publish(
        begasist_names.outbound("plaza"), make_event("plaza", MessageSend(message=message))
    )

    async def failed() -> bool:
        return any(
            isinstance(e, MessageStatusEvent) and e.data.failed
            for e in await events_of(begasist_redis, begasist_names)
        )

    await eventually(failed)

    async def acked() -> bool:  # acks follow the handler, so wait for it
        pending = await begasist_redis.xpending(begasist_names.outbound("plaza"), "channelbot")
        return bool(pending["pending"] == 0)

    await eventually(acked)
    statuses = [
        e
        for e in await events_of(begasist_redis, begasist_names)
        if isinstance(e, MessageStatusEvent)
    ]
    assert len(statuses) == 1, "a refused send is not retried"


async def test_a_send_to_an_unconfigured_channel_fails_cleanly(
    begasist_redis: Redis, begasist_names: StreamNames, running_bot: HotelBot
) -> None:
    message = outbound("hello", channel="echo_probe")
    await Publisher(begasist_redis).publish(
        begasist_names.outbound("plaza"), make_event("plaza", MessageSend(message=message))
    )

    async def failed() -> bool:
        return any(
            isinstance(e, MessageStatusEvent)
            and e.data.failed
            and e.data.error == "channel echo_probe is not configured"
            for e in await events_of(begasist_redis, begasist_names)
        )

    await eventually(failed)


async def test_a_webhook_becomes_a_received_message(
    begasist_redis: Redis, begasist_names: StreamNames, running_bot: HotelBot
) -> None:
    body = json.dumps({"id": "pm-1", "from": "guest-7", "text": "Late check-out?"}).encode()
    webhook = WebhookReceived(channel="probe", body=body)
    publisher = Publisher(begasist_redis)
    for _ in range(2):  # a provider retrying its webhook
        await publisher.publish(begasist_names.ingress("plaza"), make_event("plaza", webhook))

    async def two_received() -> bool:
        received = [
            e
            for e in await events_of(begasist_redis, begasist_names)
            if isinstance(e, MessageReceivedEvent)
        ]
        return len(received) == 2

    await eventually(two_received)
    received = [
        e
        for e in await events_of(begasist_redis, begasist_names)
        if isinstance(e, MessageReceivedEvent)
    ]
    assert received[0].data.message.text == "Late check-out?"
    assert received[0].key == received[1].key == "message.received:plaza:probe:pm-1"


async def test_an_unreadable_webhook_is_dead_lettered_and_the_stream_goes_on(
    begasist_redis: Redis, begasist_names: StreamNames, running_bot: HotelBot
) -> None:
    publisher = Publisher(begasist_redis)
    ingress = begasist_names.ingress("plaza")
    await publisher.publish(
        ingress, make_event("plaza", WebhookReceived(channel="probe", body=b"{"))
    )
    good = json.dumps({"id": "pm-2", "from": "guest-8", "text": "Parking?"}).encode()
    await publisher.publish(
        ingress, make_event("plaza", WebhookReceived(channel="probe", body=good))
    )

    async def buried() -> bool:
        return await begasist_redis.xlen(begasist_names.hotel_dead("plaza")) == 1

    await eventually(buried)
    [dead] = await DeadLetters(begasist_redis, begasist_names).list(hotel="plaza")
    assert dead.reason == "unparseable"
    assert dead.deliveries == 1  # rejected at once, not retried
    assert "ParseError" in dead.error

    async def good_one_received() -> bool:
        return any(
            isinstance(e, MessageReceivedEvent) and e.data.message.provider_message_id == "pm-2"
            for e in await events_of(begasist_redis, begasist_names)
        )

    await eventually(good_one_received)


async def test_a_restart_command_restarts_the_channel(
    begasist_redis: Redis, begasist_names: StreamNames, running_bot: HotelBot
) -> None:
    await Publisher(begasist_redis).publish(
        begasist_names.control("plaza"),
        make_event("plaza", ChannelCommand(channel="probe", command="restart")),
    )

    async def restarted() -> bool:
        return len(await probe_log(begasist_redis, begasist_names, "probe", "starts")) == 2

    await eventually(restarted)


async def test_a_send_to_a_disabled_channel_fails_at_once(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    make_bot: Callable[..., HotelBot],
) -> None:
    source = StaticSettingsSource(
        {"plaza": {"probe": {"enabled": False, "probe_redis_url": begasist_redis_url}}}
    )
    bot = make_bot(source)
    async with anyio.create_task_group() as group:
        await group.start(bot.run)
        await Publisher(begasist_redis).publish(
            begasist_names.outbound("plaza"),
            make_event("plaza", MessageSend(message=outbound("hello"))),
        )

        async def failed() -> bool:
            return any(
                isinstance(e, MessageStatusEvent)
                and e.data.failed
                and e.data.error == "channel probe is disabled"
                for e in await events_of(begasist_redis, begasist_names)
            )

        await eventually(failed, within=3)  # not after READY_WAIT_SECONDS of waiting
        await bot.drain()
