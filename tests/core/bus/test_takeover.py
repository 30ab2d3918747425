"""A consumer that takes over (a bot that just took the lease) claims the group's pending
entries at once, counting the claim as a delivery; one that does not waits for claim_idle."""

from __future__ import annotations

import anyio
import pytest
from begasist_core import ConfigChanged, Event, make_event
from begasist_core.bus import ConsumerOptions, DeadLetters, Delivery, Publisher, StreamConsumer
from begasist_core.events import StreamNames
from redis.asyncio import Redis

from tests.core.bus.conftest import every_dead_letter

pytestmark = pytest.mark.anyio

GROUP = "workers"
# Far longer than any test: only a takeover can get the dead consumer's entries.
PATIENT = {"claim_idle_seconds": 600, "block_seconds": 0.02, "max_deliveries": 3}


def version_of(event: Event) -> int:
    assert isinstance(event.data, ConfigChanged)
    return event.data.version


async def dead_consumer_left_pending(
    redis: Redis, names: StreamNames, publisher: Publisher, dead_letters: DeadLetters
) -> list[bytes]:
    """Versions 0-4 read by "dead" and never acked; 4 already delivered three times, with
    its error noted."""
    stream = names.events
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    ids = await publisher.publish_many(
        stream, [make_event("plaza", ConfigChanged(version=n)) for n in range(5)]
    )
    await redis.xreadgroup(GROUP, "dead", {stream: ">"}, count=5)
    for _ in range(2):
        await redis.xclaim(stream, GROUP, "dead", 0, [ids[4]])
    await dead_letters.note_error(
        source_stream=stream, group=GROUP, source_id=ids[4], error="TimeoutError: provider"
    )
    return ids


@pytest.mark.parametrize("concurrency", [1, 4], ids=["sequential", "partitioned"])
async def test_taking_over_claims_every_pending_entry_at_once_with_honest_counts(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
    concurrency: int,
) -> None:
    ids = await dead_consumer_left_pending(begasist_redis, begasist_names, publisher, dead_letters)
    seen: dict[int, int] = {}
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        seen[version_of(event)] = delivery.deliveries
        if len(seen) == 5:
            done.set()

    consumer = StreamConsumer(
        begasist_redis,
        stream=begasist_names.events,
        group=GROUP,
        consumer="successor",
        handler=handler,
        dead_letters=dead_letters,
        options=ConsumerOptions(concurrency=concurrency, **PATIENT),
        partition=lambda event: str(version_of(event) % 2),
        take_over=True,
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        await publisher.publish(
            begasist_names.events, make_event("plaza", ConfigChanged(version=5))
        )
        with anyio.fail_after(10):
            await done.wait()
        consumer.stop()

    # The dead consumer's first delivery plus the takeover's; the new entry once.
    assert seen == {0: 2, 1: 2, 2: 2, 3: 2, 5: 1}
    # The entry out of deliveries went to the dead stream with its last error.
    [dead] = await every_dead_letter(dead_letters)
    assert (dead.source_id, dead.deliveries, dead.error) == (
        ids[4].decode(),
        3,
        "TimeoutError: provider",
    )
    assert int((await begasist_redis.xpending(begasist_names.events, GROUP))["pending"]) == 0


async def test_without_taking_over_a_consumer_leaves_others_entries_until_claim_idle(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    await dead_consumer_left_pending(begasist_redis, begasist_names, publisher, dead_letters)
    seen: list[int] = []
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        seen.append(version_of(event))
        done.set()

    consumer = StreamConsumer(
        begasist_redis,
        stream=begasist_names.events,
        group=GROUP,
        consumer="neighbour",
        handler=handler,
        dead_letters=dead_letters,
        options=ConsumerOptions(**PATIENT),
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        await publisher.publish(
            begasist_names.events, make_event("plaza", ConfigChanged(version=5))
        )
        with anyio.fail_after(10):
            await done.wait()
        consumer.stop()

    assert seen == [5]
    pending = await begasist_redis.xpending_range(begasist_names.events, GROUP, "-", "+", 10)
    assert {p["consumer"] for p in pending} == {b"dead"}
    assert len(pending) == 5
