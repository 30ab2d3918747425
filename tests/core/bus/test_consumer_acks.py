"""Every entry handled successfully is acked exactly once, whatever the interleaving.

Handlers finish out of order (random small delays, many partitions) across
many ack boundaries (a small batch), with and without a short claim idle and
steady traffic, and with an ack lost to a dropped connection: at the end
nothing is pending, each entry was handled once, and nothing was buried.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from begasist_core import ConfigChanged, Event, make_event
from begasist_core.bus import ConsumerOptions, DeadLetters, Delivery, Publisher, StreamConsumer
from begasist_core.events import StreamNames
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.anyio

GROUP = "workers"
PARTITIONS = 24


def version_of(event: Event) -> int:
    assert isinstance(event.data, ConfigChanged)
    return event.data.version


def by_partition(event: Event) -> str:
    return str(version_of(event) % PARTITIONS)


class Tally:
    """What the handler saw: successful runs per version, and when all were seen."""

    def __init__(self, total: int, *, seed: int, max_delay: float) -> None:
        self.total = total
        self.runs: Counter[int] = Counter()
        self.all_seen = anyio.Event()
        self._rng = random.Random(seed)
        self._max_delay = max_delay

    async def handler(self, event: Event, delivery: Delivery) -> None:
        # Random small delays: handlers of different partitions finish out of
        # order and around the consumer's acks.
        await anyio.sleep(self._rng.uniform(0, self._max_delay))
        self.runs[version_of(event)] += 1
        if len(self.runs) == self.total:
            self.all_seen.set()


async def pending_count(redis: Redis, stream: str) -> int:
    return int((await redis.xpending(stream, GROUP))["pending"])


async def settle(redis: Redis, stream: str, tally: Tally, *, within: float) -> None:
    """Wait (bounded) until every entry was handled and nothing is pending.

    The assertions come after, so a run that never settles fails on what it
    left, not on a timeout.
    """
    with anyio.move_on_after(within):
        await tally.all_seen.wait()
        while await pending_count(redis, stream):  # noqa: ASYNC110 - the state is in Redis
            await anyio.sleep(0.02)


async def assert_each_acked_once(
    redis: Redis, names: StreamNames, stream: str, tally: Tally
) -> None:
    assert await pending_count(redis, stream) == 0, "handled entries were left unacked"
    twice = {version: runs for version, runs in tally.runs.items() if runs > 1}
    assert twice == {}, f"{len(twice)} entries were handled more than once"
    assert sorted(tally.runs) == list(range(tally.total))
    assert await DeadLetters(redis, names).list() == []


def partitioned(
    redis: Redis, names: StreamNames, handler: Callable[[Event, Delivery], Any], **options: Any
) -> StreamConsumer:
    return StreamConsumer(
        redis,
        stream=names.events,
        group=GROUP,
        consumer="one",
        handler=handler,
        dead_letters=DeadLetters(redis, names),
        options=ConsumerOptions(**options),
        partition=by_partition,
    )


async def test_out_of_order_handlers_across_many_ack_boundaries_are_each_acked_once(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    total = 600
    await publisher.publish_many(
        stream, [make_event("plaza", ConfigChanged(version=n)) for n in range(total)]
    )
    tally = Tally(total, seed=1, max_delay=0.004)
    # A long claim idle: nothing is reclaimed, so an entry left unacked stays pending.
    consumer = partitioned(
        begasist_redis,
        begasist_names,
        tally.handler,
        concurrency=16,
        batch_size=6,
        block_seconds=0.02,
        claim_idle_seconds=600,
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        await settle(begasist_redis, stream, tally, within=30)
        consumer.stop()

    await assert_each_acked_once(begasist_redis, begasist_names, stream, tally)


async def test_with_a_short_claim_idle_and_steady_traffic_each_entry_is_handled_once(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    total = 600
    tally = Tally(total, seed=2, max_delay=0.03)
    # Claim idle and reclaim interval far shorter than a batch's life: every
    # entry waiting in a queue, being handled or waiting for its ack is idle
    # to Redis many times over.
    consumer = partitioned(
        begasist_redis,
        begasist_names,
        tally.handler,
        concurrency=8,
        batch_size=8,
        block_seconds=0.02,
        claim_idle_seconds=0.1,
        reclaim_interval_seconds=0.03,
        max_deliveries=3,
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        for start in range(0, total, 10):
            await publisher.publish_many(
                stream,
                [make_event("plaza", ConfigChanged(version=n)) for n in range(start, start + 10)],
            )
            await anyio.sleep(0.01)
        await settle(begasist_redis, stream, tally, within=60)
        consumer.stop()

    await assert_each_acked_once(begasist_redis, begasist_names, stream, tally)


class LosesAnAck(Redis):
    """A real client whose first XACK is lost to a dropped connection."""

    lost = 0

    async def xack(self, name: Any, groupname: Any, *ids: Any) -> Any:
        if not self.lost:
            self.lost = len(ids)
            raise RedisConnectionError("Connection reset by peer")
        return await super().xack(name, groupname, *ids)


@pytest.mark.parametrize("concurrency", [1, 4], ids=["sequential", "partitioned"])
async def test_an_ack_lost_to_an_outage_is_retried_and_its_entries_are_not_handled_again(
    begasist_redis_url: str, begasist_names: StreamNames, concurrency: int
) -> None:
    redis = LosesAnAck.from_url(begasist_redis_url)
    stream = begasist_names.events
    total = 40
    tally = Tally(total, seed=3, max_delay=0.002)
    consumer = StreamConsumer(
        redis,
        stream=stream,
        group=GROUP,
        consumer="one",
        handler=tally.handler,
        dead_letters=DeadLetters(redis, begasist_names),
        # Reclaimed 0.1 s after the lost ack, if it is not retried first.
        options=ConsumerOptions(
            concurrency=concurrency,
            batch_size=8,
            block_seconds=0.02,
            claim_idle_seconds=0.1,
            reclaim_interval_seconds=0.03,
        ),
        partition=by_partition,
    )
    try:
        await Publisher(redis).publish_many(
            stream, [make_event("plaza", ConfigChanged(version=n)) for n in range(total)]
        )
        async with anyio.create_task_group() as group:
            await group.start(consumer.run)
            await settle(redis, stream, tally, within=30)
            # Long enough for the unacked entries to be reclaimed, were they left behind.
            await anyio.sleep(0.5)
            consumer.stop()
        assert redis.lost, "no ack was lost: the test did not exercise its case"
        await assert_each_acked_once(redis, begasist_names, stream, tally)
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{begasist_names.prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_a_long_sequential_batch_is_not_reclaimed_by_a_neighbour_while_it_is_handled(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    total = 12
    runs: Counter[int] = Counter()
    done = anyio.Event()

    async def slow(event: Event, delivery: Delivery) -> None:
        # Each entry is quick, the batch is not: its last entries wait three
        # times claim_idle for their turn.
        await anyio.sleep(0.15)
        runs[version_of(event)] += 1
        if len(runs) == total:
            done.set()

    def member(name: str) -> StreamConsumer:
        return StreamConsumer(
            begasist_redis,
            stream=stream,
            group=GROUP,
            consumer=name,
            handler=slow,
            dead_letters=DeadLetters(begasist_redis, begasist_names),
            options=ConsumerOptions(
                batch_size=total,
                block_seconds=0.02,
                claim_idle_seconds=0.6,
                reclaim_interval_seconds=0.05,
            ),
        )

    busy, neighbour = member("busy"), member("neighbour")
    async with anyio.create_task_group() as group:
        await group.start(busy.run)
        await publisher.publish_many(
            stream, [make_event("plaza", ConfigChanged(version=n)) for n in range(total)]
        )
        with anyio.fail_after(5):
            while not runs:  # noqa: ASYNC110 - the busy consumer has read the whole batch
                await anyio.sleep(0.01)
        await group.start(neighbour.run)
        with anyio.move_on_after(20):
            await done.wait()
            while await pending_count(begasist_redis, stream):  # noqa: ASYNC110
                await anyio.sleep(0.02)
        busy.stop()
        neighbour.stop()

    assert {version: n for version, n in runs.items() if n > 1} == {}
    assert sorted(runs) == list(range(total))
    assert await pending_count(begasist_redis, stream) == 0
