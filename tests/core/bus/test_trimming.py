"""Streams are trimmed of what every group is done with, and of nothing a group still needs."""

from __future__ import annotations

import anyio
import pytest
from begasist_core import Event
from begasist_core.bus import DEFAULT_MAXLEN, Delivery, Publisher, StreamTrimmer
from begasist_core.events import StreamNames
from redis.asyncio import Redis

from tests.core.bus.test_stream_consumer import FAST, config_event, consumer_for, eventually

pytestmark = pytest.mark.anyio


async def publish(redis: Redis, stream: str, count: int) -> list[bytes]:
    return await Publisher(redis).publish_many(stream, [config_event(n) for n in range(count)])


async def read(redis: Redis, stream: str, group: str, count: int) -> list[bytes]:
    """Deliver *count* new entries to *group* (left pending); their ids."""
    answer = await redis.xreadgroup(group, "reader", {stream: ">"}, count=count)
    return [entry_id for entry_id, _ in answer[0][1]]


async def test_a_stream_with_no_group_keeps_everything(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    stream = begasist_names.ingress("plaza")
    await publish(begasist_redis, stream, 1000)
    assert await StreamTrimmer(begasist_redis).trim(stream) == 0
    assert await begasist_redis.xlen(stream) == 1000
    assert await StreamTrimmer(begasist_redis).trim(begasist_names.ingress("nowhere")) == 0


async def test_what_every_group_acknowledged_goes_and_the_rest_stays(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    stream = begasist_names.ingress("plaza")
    ids = await publish(begasist_redis, stream, 1000)
    for group in ("fast", "slow"):
        await begasist_redis.xgroup_create(stream, group, id="0")
    # fast: everything read, all acked but entry 700 (still being handled).
    fast = await read(begasist_redis, stream, "fast", 1000)
    await begasist_redis.xack(stream, "fast", *[i for i in fast if i != ids[700]])
    # slow: 600 read and acked, 50 more read and pending, the rest unread.
    slow = await read(begasist_redis, stream, "slow", 650)
    await begasist_redis.xack(stream, "slow", *slow[:600])

    removed = await StreamTrimmer(begasist_redis).trim(stream)

    kept = [entry_id for entry_id, _ in await begasist_redis.xrange(stream)]
    assert ids[600:] == kept[-400:]  # slow's first pending entry and all after it
    assert removed == 1000 - len(kept)
    assert removed >= 500  # approximate: whole nodes of 100 entries below entry 600

    # slow acks its pending entries: now fast's unacked entry 700 holds the stream.
    await begasist_redis.xack(stream, "slow", *slow[600:])
    await read(begasist_redis, stream, "slow", 1000)
    await StreamTrimmer(begasist_redis).trim(stream)
    kept = [entry_id for entry_id, _ in await begasist_redis.xrange(stream)]
    assert ids[700:] == kept[-300:]


async def test_a_group_that_never_read_holds_the_whole_stream(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    stream = begasist_names.ingress("plaza")
    await publish(begasist_redis, stream, 500)
    await begasist_redis.xgroup_create(stream, "reader", id="0")
    await begasist_redis.xgroup_create(stream, "never", id="0")
    await begasist_redis.xack(stream, "reader", *await read(begasist_redis, stream, "reader", 500))
    assert await StreamTrimmer(begasist_redis).trim(stream) == 0
    assert await begasist_redis.xlen(stream) == 500


async def test_publishing_far_past_the_old_length_drops_nothing_unread(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    """Streams were trimmed to DEFAULT_MAXLEN on every XADD, unread or not: a bot that was
    down that long lost the oldest webhooks, each already answered 200."""
    stream = begasist_names.ingress("plaza")
    await begasist_redis.xgroup_create(stream, "channelbot", id="0", mkstream=True)
    total = DEFAULT_MAXLEN + 2_000
    publisher = Publisher(begasist_redis)
    first = await publisher.publish(stream, config_event(0))
    for start in range(1, total, 10_000):
        count = min(10_000, total - start)
        await publisher.publish_many(stream, [config_event(n) for n in range(count)])
    assert await begasist_redis.xlen(stream) == total
    assert (await begasist_redis.xrange(stream, count=1))[0][0] == first


async def test_a_consumer_trims_its_stream_as_it_goes(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    handled: list[Event] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        handled.append(event)

    consumer = consumer_for(begasist_redis, begasist_names, handler, options=FAST)
    async with anyio.create_task_group() as tasks:
        await tasks.start(consumer.run)
        await publish(begasist_redis, begasist_names.events, 1000)
        with anyio.fail_after(30):
            await eventually(lambda: _all_handled(handled, 1000))
            await eventually(lambda: _shorter_than(begasist_redis, begasist_names.events, 200))
        consumer.stop()
    assert len(handled) == 1000


async def _all_handled(handled: list[Event], count: int) -> bool:
    return len(handled) >= count


async def _shorter_than(redis: Redis, stream: str, length: int) -> bool:
    return int(await redis.xlen(stream)) < length
