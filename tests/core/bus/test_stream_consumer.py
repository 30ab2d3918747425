"""StreamConsumer on a real server: ack after success, reclaim, dead letters, stop, kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from begasist_core import ConfigChanged, Event, decode_event, encode_event, make_event
from begasist_core.backoff import Backoff
from begasist_core.bus import (
    ENTRY_FIELD,
    BatchScope,
    ConsumerOptions,
    DeadLetters,
    Delivery,
    Handler,
    Idempotency,
    Publisher,
    RejectedEvent,
    StreamConsumer,
)
from begasist_core.events import StreamNames
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.core.bus.conftest import every_dead_letter

pytestmark = pytest.mark.anyio

GROUP = "workers"
FAST = ConsumerOptions(
    block_seconds=0.05, claim_idle_seconds=0.1, reclaim_interval_seconds=0.05, max_deliveries=3
)


def config_event(version: int) -> Event:
    return make_event("plaza", ConfigChanged(version=version))


def consumer_for(
    redis: Redis,
    names: StreamNames,
    handler: Handler,
    *,
    name: str = "one",
    options: ConsumerOptions | None = None,
    guard: Callable[[], None] | None = None,
    batch_scope: BatchScope | None = None,
    partition: Callable[[Event], str] | None = None,
) -> StreamConsumer:
    return StreamConsumer(
        redis,
        stream=names.events,
        group=GROUP,
        consumer=name,
        handler=handler,
        dead_letters=DeadLetters(redis, names),
        options=options or ConsumerOptions(),
        guard=guard,
        batch_scope=batch_scope,
        partition=partition,
    )


async def eventually(check: Callable[[], Awaitable[object]]) -> None:
    """Poll a condition on the server (no event to wait for); the caller sets the deadline."""
    while True:
        if await check():
            return
        await anyio.sleep(0.01)


async def pending_count(redis: Redis, stream: str) -> int:
    return int((await redis.xpending(stream, GROUP))["pending"])


async def test_published_events_are_handled_in_order_and_acked(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    # Published before the group exists: the group starts at 0, so they count.
    await publisher.publish_many(stream, [config_event(0), config_event(1)])
    seen: list[tuple[int, Delivery]] = []
    all_seen = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        seen.append((event.data.version, delivery))
        if len(seen) == 4:
            all_seen.set()

    consumer = consumer_for(begasist_redis, begasist_names, handler)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        await publisher.publish_many(stream, [config_event(2), config_event(3)])
        with anyio.fail_after(5):
            await all_seen.wait()
        consumer.stop()

    assert [version for version, _ in seen] == [0, 1, 2, 3]
    assert {(d.stream, d.deliveries) for _, d in seen} == {(stream, 1)}
    assert await pending_count(begasist_redis, stream) == 0


async def test_a_failing_handler_leaves_its_entry_pending_with_the_error_noted(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    ids = await publisher.publish_many(stream, [config_event(n) for n in range(3)])
    handled: list[int] = []
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        if event.data.version == 1:
            raise RuntimeError("provider said no")
        handled.append(event.data.version)
        if len(handled) == 2:
            done.set()

    consumer = consumer_for(begasist_redis, begasist_names, handler)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    assert handled == [0, 2]
    pending = await begasist_redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert [(p["message_id"], p["times_delivered"]) for p in pending] == [(ids[1], 1)]
    noted = await dead_letters.noted_error(source_stream=stream, group=GROUP, source_id=ids[1])
    assert noted == "RuntimeError: provider said no"


async def test_an_entry_that_keeps_failing_is_buried_after_max_deliveries(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    event = config_event(7)
    [entry_id] = await publisher.publish_many(stream, [event])
    attempts: list[int] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        attempts.append(delivery.deliveries)
        raise ValueError(f"attempt {delivery.deliveries} failed")

    async def buried() -> bool:
        return bool(await every_dead_letter(dead_letters))

    consumer = consumer_for(begasist_redis, begasist_names, handler, options=FAST)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await eventually(buried)
        consumer.stop()

    assert attempts == [1, 2, 3]
    [dead] = await every_dead_letter(dead_letters)
    assert (dead.source_stream, dead.source_id, dead.group) == (stream, entry_id.decode(), GROUP)
    assert (dead.reason, dead.deliveries) == ("handler_failed", 3)
    assert dead.error == "ValueError: attempt 3 failed"
    assert decode_event(dead.payload) == event
    assert await pending_count(begasist_redis, stream) == 0


async def test_a_rejected_event_is_buried_at_once_and_the_loop_goes_on(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    poisoned, fine = config_event(1), config_event(2)
    await publisher.publish_many(stream, [poisoned, fine])
    attempts: list[int] = []
    handled = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        if event == poisoned:
            attempts.append(delivery.deliveries)
            raise RejectedEvent("cannot ever be applied")
        handled.set()

    consumer = consumer_for(begasist_redis, begasist_names, handler, options=FAST)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await handled.wait()
        consumer.stop()

    assert attempts == [1]
    [dead] = await every_dead_letter(dead_letters)
    assert (dead.reason, dead.deliveries, dead.error) == ("rejected", 1, "cannot ever be applied")
    assert decode_event(dead.payload) == poisoned
    assert await pending_count(begasist_redis, stream) == 0


async def test_an_entry_whose_consumer_died_on_its_last_delivery_is_buried_on_reclaim(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    await begasist_redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    [entry_id] = await publisher.publish_many(stream, [config_event(1)])
    # Three consumers each took the entry and vanished; one noted an error first.
    await begasist_redis.xreadgroup(GROUP, "ghost", {stream: ">"}, count=1)
    for _ in range(2):
        await begasist_redis.xclaim(stream, GROUP, "ghost", 0, [entry_id])
    await dead_letters.note_error(
        source_stream=stream, group=GROUP, source_id=entry_id, error="TimeoutError: smtp"
    )
    handled: list[Event] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        handled.append(event)

    async def nothing_pending() -> bool:
        return await pending_count(begasist_redis, stream) == 0

    consumer = consumer_for(begasist_redis, begasist_names, handler, options=FAST)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await eventually(nothing_pending)
        consumer.stop()

    assert handled == []
    [dead] = await every_dead_letter(dead_letters)
    assert (dead.deliveries, dead.error) == (3, "TimeoutError: smtp")


async def test_malformed_entries_are_buried_with_their_reason_and_the_loop_goes_on(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    valid = json.loads(encode_event(config_event(1)))
    bad_entries: list[dict[bytes, bytes]] = [
        {ENTRY_FIELD: b"{not json"},
        {ENTRY_FIELD: json.dumps({**valid, "type": "guest.teleported"}).encode()},
        {ENTRY_FIELD: json.dumps({**valid, "v": 2}).encode()},
        {b"x": b"no e field"},
        {ENTRY_FIELD: json.dumps({**valid, "data": {"version": -1}}).encode()},
    ]
    for fields in bad_entries:
        await begasist_redis.xadd(stream, fields)  # type: ignore[arg-type]
    good = config_event(2)
    await publisher.publish(stream, good)
    assert await first_handled(begasist_redis, begasist_names) == good
    dead = list(reversed(await every_dead_letter(dead_letters)))
    assert [d.reason for d in dead] == [
        "malformed",
        "unknown_type",
        "unsupported_version",
        "malformed",
        "invalid",
    ]
    assert "no 'e' field (fields: x)" in dead[3].error
    assert "guest.teleported" in dead[1].error
    assert dead[0].payload == "{not json"
    assert {d.deliveries for d in dead} == {1}
    assert await pending_count(begasist_redis, stream) == 0


async def test_stop_lets_the_handler_in_flight_finish_and_hands_back_the_rest(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    ids = await publisher.publish_many(stream, [config_event(n) for n in range(5)])
    entered, release = anyio.Event(), anyio.Event()
    first: list[Delivery] = []

    async def slow_handler(event: Event, delivery: Delivery) -> None:
        first.append(delivery)
        entered.set()
        await release.wait()

    consumer = consumer_for(begasist_redis, begasist_names, slow_handler)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await entered.wait()
        consumer.stop()
        release.set()

    assert [d.entry_id for d in first] == [ids[0]]
    pending = await begasist_redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == ids[1:]
    # Handing back does not count as a delivery, and the entries look idle
    # for longer than the default claim_idle (30 s): claimable right away.
    assert {p["times_delivered"] for p in pending} == {1}
    assert min(p["time_since_delivered"] for p in pending) > 30_000

    taken: list[Delivery] = []
    all_taken = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        taken.append(delivery)
        if len(taken) == 4:
            all_taken.set()

    successor = consumer_for(begasist_redis, begasist_names, handler, name="two")
    async with anyio.create_task_group() as group:
        await group.start(successor.run)
        with anyio.fail_after(5):
            await all_taken.wait()
        successor.stop()

    assert [(d.entry_id, d.deliveries) for d in taken] == [(i, 2) for i in ids[1:]]
    assert await pending_count(begasist_redis, stream) == 0


async def test_stop_cuts_a_blocking_read_short(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    async def handler(event: Event, delivery: Delivery) -> None:
        raise AssertionError("nothing was published")

    name = f"{begasist_names.prefix}-reader"
    reader = Redis.from_url(begasist_redis_url, client_name=name)

    async def blocked() -> bool:
        clients = await begasist_redis.client_list()
        return any(c["name"] == name and "b" in c["flags"] for c in clients)

    patient = ConsumerOptions(block_seconds=60, reclaim_interval_seconds=60)
    consumer = consumer_for(reader, begasist_names, handler, options=patient)
    try:
        with anyio.fail_after(2):
            async with anyio.create_task_group() as group:
                await group.start(consumer.run)
                await eventually(blocked)
                consumer.stop()
        # The interrupted read's connection was dropped, not returned half-read.
        assert await reader.ping()
    finally:
        await reader.aclose()


@pytest.mark.slow
async def test_no_event_is_lost_or_applied_twice_when_a_consumer_is_killed_mid_batch(
    begasist_redis: Redis,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    publisher: Publisher,
) -> None:
    stream, total = begasist_names.events, 20
    events = [config_event(n) for n in range(total)]
    await publisher.publish_many(stream, events)
    child = await anyio.open_process(
        [
            sys.executable,
            str(Path(__file__).with_name("consumer_child.py")),
            begasist_redis_url,
            begasist_names.prefix,
            stream,
            GROUP,
            "doomed",
            "4",  # effects applied before it hangs mid-batch
            "10",  # batch size
        ],
        stdin=subprocess.DEVNULL,
        stdout=None,
        stderr=None,
    )
    try:
        with anyio.fail_after(20):  # a cold interpreter start can be slow
            await eventually(lambda: begasist_redis.exists(begasist_names.key("child-hung")))
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()

    effects = begasist_names.key("effects")
    idempotency = Idempotency(begasist_redis, begasist_names, namespace="effects")
    outcomes: dict[str, list[tuple[int, bool]]] = {}

    async def handler(event: Event, delivery: Delivery) -> None:
        applied = await idempotency.once(
            event.key, lambda pipe: pipe.hincrby(effects, event.key, 1)
        )
        outcomes.setdefault(event.key, []).append((delivery.deliveries, applied))

    async def settled() -> bool:
        return len(outcomes) == total and await pending_count(begasist_redis, stream) == 0

    rescuer = consumer_for(begasist_redis, begasist_names, handler, name="rescuer", options=FAST)
    async with anyio.create_task_group() as group:
        await group.start(rescuer.run)
        with anyio.fail_after(5):
            await eventually(settled)
        rescuer.stop()

    counts = await begasist_redis.hgetall(effects)
    assert counts == {event.key.encode(): b"1" for event in events}
    # The four the dead consumer applied came back and were recognised as done;
    # the rest of its batch came back once; the unread ten came once.
    assert [outcomes[e.key] for e in events[:4]] == [[(2, False)]] * 4
    assert [outcomes[e.key] for e in events[4:10]] == [[(2, True)]] * 6
    assert [outcomes[e.key] for e in events[10:]] == [[(1, True)]] * 10


DAY_MS = 24 * 3600 * 1000


async def first_handled(redis: Redis, names: StreamNames) -> Event:
    """Consume until one event reaches the handler; return it (what came before was not)."""
    handled: list[Event] = []
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        handled.append(event)
        done.set()

    consumer = consumer_for(redis, names, handler)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()
    return handled[0]


class LeaseGone(Exception):
    """A guard's own exception, as a bot's lease check raises it."""


async def test_an_entry_nested_too_deep_for_json_is_buried_as_malformed_and_the_loop_goes_on(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    nested = b"[" * 100_000  # overflows the JSON parser's stack: a RecursionError inside
    await begasist_redis.xadd(stream, {ENTRY_FIELD: nested})
    good = config_event(2)
    await publisher.publish(stream, good)
    assert await first_handled(begasist_redis, begasist_names) == good
    [dead] = await every_dead_letter(dead_letters)
    assert (dead.reason, dead.deliveries) == ("malformed", 1)
    # The codec's own verdict, not the consumer's catch-all.
    assert dead.error.startswith("entry is not JSON: RecursionError")
    assert dead.payload == nested.decode()
    assert await pending_count(begasist_redis, stream) == 0


async def test_an_entry_that_makes_the_decoder_raise_anything_is_buried_as_malformed(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = begasist_names.events

    def broken_decoder(raw: bytes | str) -> Event:
        if raw == b"trips the decoder":
            raise KeyError("a decoder bug")
        return decode_event(raw)

    monkeypatch.setattr("begasist_core.bus.triage.decode_event", broken_decoder)
    await begasist_redis.xadd(stream, {ENTRY_FIELD: b"trips the decoder"})
    good = config_event(2)
    await publisher.publish(stream, good)
    assert await first_handled(begasist_redis, begasist_names) == good
    [dead] = await every_dead_letter(dead_letters)
    assert (dead.reason, dead.error) == ("malformed", "KeyError: 'a decoder bug'")
    assert dead.payload == "trips the decoder"
    assert await pending_count(begasist_redis, stream) == 0


async def test_a_cancelled_consumer_hands_back_the_entries_it_holds(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    ids = await publisher.publish_many(stream, [config_event(n) for n in range(4)])
    entered = anyio.Event()

    async def stuck_handler(event: Event, delivery: Delivery) -> None:
        entered.set()
        await anyio.sleep_forever()

    consumer = consumer_for(begasist_redis, begasist_names, stuck_handler)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await entered.wait()
        # Cancelled, not stopped: a drain that ran out of time.
        group.cancel_scope.cancel()

    # The whole batch is still pending (nothing was handled), with its delivery
    # count unchanged and an idle time far past any claim_idle.
    pending = await begasist_redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == ids
    assert {p["times_delivered"] for p in pending} == {1}
    assert min(p["time_since_delivered"] for p in pending) > DAY_MS

    taken: list[Delivery] = []
    all_taken = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        taken.append(delivery)
        if len(taken) == len(ids):
            all_taken.set()

    # The default claim_idle (30 s): only a hand-back makes them claimable now.
    successor = consumer_for(begasist_redis, begasist_names, handler, name="two")
    async with anyio.create_task_group() as group:
        await group.start(successor.run)
        with anyio.fail_after(5):
            await all_taken.wait()
        successor.stop()

    assert [(d.entry_id, d.deliveries) for d in taken] == [(i, 2) for i in ids]
    assert await pending_count(begasist_redis, stream) == 0


async def test_a_guard_that_raises_ends_run_acking_the_handled_and_handing_back_the_rest(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    ids = await publisher.publish_many(stream, [config_event(n) for n in range(4)])
    handled: list[int] = []

    def guard() -> None:
        # The lease runs out after two entries of the batch were handled.
        if len(handled) == 2:
            raise LeaseGone("lease expired")

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        handled.append(event.data.version)

    consumer = consumer_for(begasist_redis, begasist_names, handler, guard=guard)
    with (
        anyio.fail_after(5),
        pytest.RaisesGroup(pytest.RaisesExc(LeaseGone, match="^lease expired$")),
    ):
        async with anyio.create_task_group() as group:
            await group.start(consumer.run)

    assert handled == [0, 1]
    # The two handled are acked; the two not handled are handed back, with
    # no delivery counted against them and no error noted.
    pending = await begasist_redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == ids[2:]
    assert {p["times_delivered"] for p in pending} == {1}
    assert min(p["time_since_delivered"] for p in pending) > DAY_MS
    for entry_id in ids[2:]:
        noted = await dead_letters.noted_error(
            source_stream=stream, group=GROUP, source_id=entry_id
        )
        assert noted is None
    assert await every_dead_letter(dead_letters) == []


async def test_a_guard_that_never_raises_is_asked_before_every_entry_and_changes_nothing(
    begasist_redis: Redis,
    begasist_names: StreamNames,
    publisher: Publisher,
    dead_letters: DeadLetters,
) -> None:
    stream = begasist_names.events
    await publisher.publish_many(stream, [config_event(n) for n in range(3)])
    handled: list[int] = []
    asked_after: list[int] = []
    done = anyio.Event()

    def guard() -> None:
        asked_after.append(len(handled))

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        handled.append(event.data.version)
        if len(handled) == 3:
            done.set()

    consumer = consumer_for(begasist_redis, begasist_names, handler, guard=guard)
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    assert handled == [0, 1, 2]
    assert {0, 1, 2} <= set(asked_after)
    assert await pending_count(begasist_redis, stream) == 0
    assert await every_dead_letter(dead_letters) == []


async def test_a_batch_scope_wraps_each_batch_and_its_entries_are_acked_after_it(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    await publisher.publish_many(stream, [config_event(n) for n in range(5)])
    log: list[str] = []
    pending_inside: list[int] = []

    @asynccontextmanager
    async def batch_scope() -> AsyncIterator[None]:
        log.append("open")
        yield
        pending_inside.append(await pending_count(begasist_redis, stream))
        log.append("close")

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        log.append(f"event {event.data.version}")

    consumer = consumer_for(
        begasist_redis, begasist_names, handler, options=FAST, batch_scope=batch_scope
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await eventually(lambda: _equal(pending_count(begasist_redis, stream), 0))
        consumer.stop()

    assert log[:7] == ["open", *(f"event {n}" for n in range(5)), "close"]
    assert pending_inside[0] == 5  # nothing was acked before the scope closed


async def test_a_batch_scope_that_fails_on_exit_leaves_the_whole_batch_to_be_delivered_again(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    await publisher.publish_many(stream, [config_event(n) for n in range(3)])
    commits: list[list[int]] = []
    applied: list[int] = []
    failures = 1

    @asynccontextmanager
    async def batch_scope() -> AsyncIterator[None]:
        nonlocal failures
        applied.clear()
        yield
        if failures:
            failures -= 1
            raise RuntimeError("commit failed")
        commits.append(list(applied))

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        applied.append(event.data.version)

    consumer = consumer_for(
        begasist_redis, begasist_names, handler, options=FAST, batch_scope=batch_scope
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await eventually(lambda: _truthy(commits))
            await eventually(lambda: _equal(pending_count(begasist_redis, stream), 0))
        consumer.stop()

    # The failed commit acked nothing; the reclaim delivered all three again.
    assert commits == [[0, 1, 2]]


def by_parity(event: Event) -> str:
    assert isinstance(event.data, ConfigChanged)
    return "even" if event.data.version % 2 == 0 else "odd"


async def test_partitions_are_handled_side_by_side_each_in_stream_order(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    await publisher.publish_many(stream, [config_event(n) for n in range(6)])
    seen: list[int] = []
    both_started = anyio.Event()
    running: set[str] = set()
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        running.add(by_parity(event))
        if len(running) == 2:
            both_started.set()
        # Each partition's first entry waits for the other partition to start:
        # with entries handled one at a time this would never finish.
        with anyio.fail_after(5):
            await both_started.wait()
        seen.append(event.data.version)
        if len(seen) == 6:
            done.set()

    options = ConsumerOptions(concurrency=4)
    consumer = consumer_for(
        begasist_redis, begasist_names, handler, options=options, partition=by_parity
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    assert [n for n in seen if n % 2 == 0] == [0, 2, 4]
    assert [n for n in seen if n % 2 == 1] == [1, 3, 5]
    assert await pending_count(begasist_redis, stream) == 0


async def test_a_failure_in_one_partition_leaves_only_its_entry_pending(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    ids = await publisher.publish_many(stream, [config_event(n) for n in range(4)])
    seen: list[int] = []
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        seen.append(event.data.version)
        if len(seen) == 4:
            done.set()
        if event.data.version == 1:
            raise RuntimeError("provider down")

    options = ConsumerOptions(concurrency=2, claim_idle_seconds=60)
    consumer = consumer_for(
        begasist_redis, begasist_names, handler, options=options, partition=by_parity
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    # The odd partition went on after its failure, as a sequential batch does.
    assert sorted(seen) == [0, 1, 2, 3]
    pending = await begasist_redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == [ids[1]]


async def test_a_partition_function_that_raises_handles_the_entry_alone(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    await publisher.publish_many(stream, [config_event(n) for n in range(3)])
    seen: list[int] = []
    done = anyio.Event()

    def broken(event: Event) -> str:
        raise KeyError("no conversation")

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        seen.append(event.data.version)
        if len(seen) == 3:
            done.set()

    consumer = consumer_for(
        begasist_redis,
        begasist_names,
        handler,
        options=ConsumerOptions(concurrency=2),
        partition=broken,
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    assert sorted(seen) == [0, 1, 2]
    assert await pending_count(begasist_redis, stream) == 0


class FlakyDeadLetters(DeadLetters):
    """Redis drops the connection the first time an error is noted."""

    failed = False

    async def note_error(
        self, *, source_stream: str, group: str, source_id: bytes, error: str
    ) -> None:
        if not self.failed:
            self.failed = True
            raise RedisConnectionError("connection reset")
        await super().note_error(
            source_stream=source_stream, group=group, source_id=source_id, error=error
        )


async def test_a_redis_outage_in_one_partition_neither_ends_run_nor_cancels_the_others(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    ids = await publisher.publish_many(stream, [config_event(n) for n in range(2)])
    finished: list[int] = []
    odd_failed = anyio.Event()
    later = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        version = event.data.version
        if version == 1:
            odd_failed.set()
            raise RuntimeError("provider down")
        if version == 0:
            # In flight (a send) while the other partition hits the outage.
            await odd_failed.wait()
            await anyio.sleep(0.05)
        finished.append(version)
        if version == 10:
            later.set()

    consumer = StreamConsumer(
        begasist_redis,
        stream=stream,
        group=GROUP,
        consumer="one",
        handler=handler,
        dead_letters=FlakyDeadLetters(begasist_redis, begasist_names),
        options=ConsumerOptions(concurrency=2, claim_idle_seconds=60, block_seconds=0.05),
        backoff=Backoff(initial=0.01, maximum=0.01),
        partition=by_parity,
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await odd_failed.wait()
        await publisher.publish(stream, config_event(10))
        with anyio.fail_after(5):
            await later.wait()
        consumer.stop()

    # The even partition's handler was not cancelled by the odd one's outage, and
    # run() rode the outage out as it does for a sequential batch.
    assert finished == [0, 10]
    pending = await begasist_redis.xpending_range(stream, GROUP, "-", "+", 10)
    assert [p["message_id"] for p in pending] == [ids[1]]


async def test_reading_goes_on_while_a_slow_partition_is_handled(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    await publisher.publish(stream, config_event(0))
    slow_started, later_done = anyio.Event(), anyio.Event()
    seen: list[int] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        if event.data.version == 0:
            slow_started.set()
            # Still in flight when the next entry is published: a consumer that
            # read only after its batch was done would never get to it.
            with anyio.fail_after(5):
                await later_done.wait()
        seen.append(event.data.version)
        if event.data.version == 1:
            later_done.set()

    options = ConsumerOptions(concurrency=2, block_seconds=0.05)
    consumer = consumer_for(
        begasist_redis, begasist_names, handler, options=options, partition=by_parity
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await slow_started.wait()
        await publisher.publish(stream, config_event(1))
        with anyio.fail_after(5):
            await later_done.wait()
            while await pending_count(begasist_redis, stream):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        consumer.stop()

    assert seen == [1, 0]


async def test_an_entry_queued_longer_than_claim_idle_is_neither_reclaimed_nor_buried(
    begasist_redis: Redis, begasist_names: StreamNames, publisher: Publisher
) -> None:
    stream = begasist_names.events
    # One partition: 0 is handled slowly while 2 and 4 wait behind it for many
    # reclaim rounds, each past claim_idle and past max_deliveries rounds.
    await publisher.publish_many(stream, [config_event(n) for n in (0, 2, 4)])
    seen: list[tuple[int, int]] = []
    done = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        if event.data.version == 0:
            await anyio.sleep(0.6)
        seen.append((event.data.version, delivery.deliveries))
        if len(seen) == 3:
            done.set()

    options = ConsumerOptions(
        concurrency=2,
        block_seconds=0.02,
        claim_idle_seconds=0.05,
        reclaim_interval_seconds=0.02,
        max_deliveries=2,
    )
    consumer = consumer_for(
        begasist_redis, begasist_names, handler, options=options, partition=by_parity
    )
    async with anyio.create_task_group() as group:
        await group.start(consumer.run)
        with anyio.fail_after(5):
            await done.wait()
        consumer.stop()

    assert seen == [(0, 1), (2, 1), (4, 1)]
    assert await pending_count(begasist_redis, stream) == 0
    assert await DeadLetters(begasist_redis, begasist_names).list() == []


def test_a_partitioned_consumer_takes_no_batch_scope(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    async def handler(event: Event, delivery: Delivery) -> None:
        return None

    @asynccontextmanager
    async def scope() -> AsyncIterator[None]:
        yield

    with pytest.raises(ValueError, match="batch scope"):
        consumer_for(
            begasist_redis,
            begasist_names,
            handler,
            options=ConsumerOptions(concurrency=2),
            partition=by_parity,
            batch_scope=scope,
        )


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        ConsumerOptions(concurrency=0)


async def _equal(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _truthy(value: object) -> bool:
    return bool(value)
