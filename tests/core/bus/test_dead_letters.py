"""DeadLetters: bury atomically with the ack, list newest first, retry once."""

from __future__ import annotations

import anyio
import pytest
from begasist_core import ConfigChanged, Event, decode_event, encode_event, make_event
from begasist_core.bus import (
    ENTRY_FIELD,
    ConsumerOptions,
    DeadLetters,
    Delivery,
    Publisher,
    StreamConsumer,
    UnknownDeadLetter,
)
from begasist_core.events import StreamNames
from redis.asyncio import Redis

from tests.core.bus.conftest import every_dead_letter

pytestmark = pytest.mark.anyio

GROUP = "workers"


async def take_one(redis: Redis, stream: str, payload: bytes) -> bytes:
    """Add an entry and read it in the group, so it is pending like a failed delivery."""
    await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    entry_id: bytes = await redis.xadd(stream, {ENTRY_FIELD: payload})
    await redis.xreadgroup(GROUP, "one", {stream: ">"}, count=1)
    return entry_id


async def test_bury_adds_the_dead_letter_and_acks_the_source_entry(
    begasist_redis: Redis, begasist_names: StreamNames, dead_letters: DeadLetters
) -> None:
    stream = begasist_names.events
    entry_id = await take_one(begasist_redis, stream, b"payload \xff")
    await dead_letters.note_error(source_stream=stream, group=GROUP, source_id=entry_id, error="x")

    dead_id = await dead_letters.bury(
        source_stream=stream,
        source_id=entry_id,
        group=GROUP,
        payload=b"payload \xff",
        reason="handler_failed",
        error="RuntimeError: nope",
        deliveries=5,
    )

    [dead] = await every_dead_letter(dead_letters)
    assert dead.id == dead_id.decode()
    assert (dead.source_stream, dead.source_id, dead.group) == (stream, entry_id.decode(), GROUP)
    assert (dead.reason, dead.error, dead.deliveries) == ("handler_failed", "RuntimeError: nope", 5)
    assert dead.payload == "payload \ufffd"
    assert dead.failed_at.tzinfo is not None
    assert (await begasist_redis.xpending(stream, GROUP))["pending"] == 0
    # The noted error went with it.
    assert (
        await dead_letters.noted_error(source_stream=stream, group=GROUP, source_id=entry_id)
        is None
    )


async def test_list_is_newest_first_and_bounded(
    begasist_redis: Redis, begasist_names: StreamNames, dead_letters: DeadLetters
) -> None:
    for n in range(3):
        await dead_letters.bury(
            source_stream=begasist_names.events,
            source_id=f"{n + 1}-0".encode(),
            group=GROUP,
            payload=b"{}",
            reason="malformed",
            error=f"error {n}",
            deliveries=1,
        )

    assert [d.error for d in await every_dead_letter(dead_letters)] == [
        "error 2",
        "error 1",
        "error 0",
    ]
    assert [d.error for d in (await every_dead_letter(dead_letters))[:2]] == ["error 2", "error 1"]


async def test_retry_puts_the_entry_back_and_it_is_handled(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    event = make_event("plaza", ConfigChanged(version=3))
    [original_id] = await publisher.publish_many(stream, [event])
    broken = True
    handled: list[tuple[Event, Delivery]] = []
    buried, done = anyio.Event(), anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        if broken:
            buried.set()  # max_deliveries=1: this failure buries it
            raise ConnectionRefusedError("provider down")
        handled.append((event, delivery))
        done.set()

    consumer = StreamConsumer(
        begasist_redis,
        stream=stream,
        group=GROUP,
        consumer="one",
        handler=handler,
        dead_letters=dead_letters,
        options=ConsumerOptions(max_deliveries=1, block_seconds=0.05),
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await buried.wait()
            while True:  # the bury follows the failure: poll the dead stream
                if dead := await every_dead_letter(dead_letters):
                    break
                await anyio.sleep(0.01)
        [dead] = dead
        assert decode_event(dead.payload) == event
        broken = False
        new_id = await dead_letters.retry(dead.id, hotel="plaza")
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    assert new_id != original_id
    assert handled == [(event, Delivery(stream, new_id, 1))]
    assert await every_dead_letter(dead_letters) == []
    [(_, fields)] = await begasist_redis.xrange(stream, min=new_id, max=new_id)
    assert fields == {ENTRY_FIELD: encode_event(event)}


async def test_retry_of_an_unknown_or_already_retried_dead_letter_is_a_typed_error(
    begasist_redis: Redis, begasist_names: StreamNames, dead_letters: DeadLetters
) -> None:
    with pytest.raises(UnknownDeadLetter):
        await dead_letters.retry("1-0")
    dead_id = await dead_letters.bury(
        source_stream=begasist_names.events,
        source_id=b"1-0",
        group=GROUP,
        payload=b"{}",
        reason="malformed",
        error="e",
        deliveries=1,
    )
    await dead_letters.retry(dead_id.decode())
    with pytest.raises(UnknownDeadLetter):
        await dead_letters.retry(dead_id.decode())
    assert await begasist_redis.xlen(begasist_names.events) == 1


async def test_each_hotel_has_its_own_dead_stream_and_retry_looks_only_there(
    begasist_redis: Redis, begasist_names: StreamNames, dead_letters: DeadLetters
) -> None:
    async def bury(stream: str, payload: bytes) -> str:
        dead_id = await dead_letters.bury(
            source_stream=stream,
            source_id=b"1-0",
            group=GROUP,
            payload=payload,
            reason="handler_failed",
            error=stream,
            deliveries=3,
        )
        return dead_id.decode()

    sol = await bury(begasist_names.outbound("sol"), b"{}")
    plaza = await bury(
        begasist_names.events, encode_event(make_event("plaza", ConfigChanged(version=1)))
    )
    nobody = await bury(begasist_names.events, b"[" * 100_000)  # too deep even to read
    assert [d.id for d in await dead_letters.list(hotel="sol")] == [sol]
    assert [d.id for d in await dead_letters.list(hotel="plaza")] == [plaza]
    assert [d.id for d in await dead_letters.list()] == [nobody]
    with pytest.raises(UnknownDeadLetter):
        await dead_letters.retry(sol, hotel="ghost")
    await dead_letters.retry(sol, hotel="sol")
    assert await dead_letters.list(hotel="sol") == []


async def test_sort_shared_moves_old_entries_to_their_hotel_keeping_their_ids(
    begasist_redis: Redis, begasist_names: StreamNames, dead_letters: DeadLetters
) -> None:
    fields = {"group": GROUP, "reason": "handler_failed", "error": "old", "deliveries": 1}
    at = {"failed_at": "2026-01-01T00:00:00+00:00", "source_id": "1-0"}
    old = [
        await begasist_redis.xadd(
            begasist_names.dead,
            {**fields, **at, "source_stream": begasist_names.outbound("plaza"), "payload": "{}"},
        )
        for _ in range(3)
    ]
    assert await dead_letters.sort_shared(batch=2) == 3
    assert await dead_letters.sort_shared() == 0
    moved = await dead_letters.list(hotel="plaza")
    assert [d.id.encode() for d in moved] == list(reversed(old))
    assert await begasist_redis.xlen(begasist_names.dead) == 0
