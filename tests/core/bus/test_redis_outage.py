"""Losing Redis: one clear WARNING, backoff instead of a busy loop, recovery logged once."""

from __future__ import annotations

import logging

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream, TaskStatus
from begasist_core import ConfigChanged, Event, make_event
from begasist_core.backoff import Backoff
from begasist_core.bus import (
    ConsumerOptions,
    DeadLetters,
    Delivery,
    Publisher,
    RedisOutage,
    StreamConsumer,
    redis_from_url,
)
from begasist_core.events import StreamNames
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.core.redis_server import free_port, private_server

pytestmark = pytest.mark.anyio

LOGGER = "begasist.bus"


def messages(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == level and text in record.getMessage()
    ]


async def logged(caplog: pytest.LogCaptureFixture, level: int, text: str) -> None:
    while True:
        if messages(caplog, level, text):
            return
        await anyio.sleep(0.01)


async def test_outage_logs_one_warning_then_debug_then_one_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    outage = RedisOutage(
        "redis://:s3cret@cache.internal:6380/0",
        logger=logging.getLogger(LOGGER),
        backoff=Backoff(initial=0.01, maximum=0.02),
    )

    for _ in range(3):
        await outage.failed(RedisConnectionError("Connection refused"))
    outage.succeeded()
    outage.succeeded()

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "Redis unreachable at cache.internal:6380 (ConnectionError: Connection refused); "
            "retrying with backoff up to 0.02s",
        ),
        ("DEBUG", caplog.records[1].getMessage()),
        ("DEBUG", caplog.records[2].getMessage()),
        ("INFO", caplog.records[3].getMessage()),
    ]
    assert "reachable again at cache.internal:6380" in caplog.records[3].getMessage()
    assert "s3cret" not in caplog.text


async def test_a_consumer_without_redis_backs_off_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    # Something listens but never speaks Redis: every connection attempt is
    # counted here, which a refused port would not let us do.
    connections = 0

    async def hang_up(stream: SocketStream) -> None:
        nonlocal connections
        connections += 1
        await stream.aclose()

    async def never_called(event: Event, delivery: Delivery) -> None:
        raise AssertionError("nothing can be read without Redis")

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    redis = redis_from_url(f"redis://127.0.0.1:{port}/0")
    consumer = StreamConsumer(
        redis,
        stream="outage-test:events",
        group="workers",
        consumer="one",
        handler=never_called,
        dead_letters=DeadLetters(redis, StreamNames(prefix="outage-test")),
    )
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, hang_up)
            group.start_soon(consumer.run)
            await anyio.sleep(2)  # the observation window
            consumer.stop()
            group.cancel_scope.cancel()
    finally:
        await listener.aclose()
        await redis.aclose()

    # Default backoff (0.1 s doubling, at most 1 s): at most 7 attempts in 2 s,
    # each at most four connections (redis-py retries the connect and the
    # command once each, at once). A busy loop would make thousands.
    assert 2 <= connections <= 28
    assert len(messages(caplog, logging.WARNING, "Redis unreachable at 127.0.0.1")) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == [
        r for r in caplog.records if "Redis unreachable" in r.getMessage()
    ]


async def test_a_consumer_resumes_after_the_server_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    port = free_port()
    redis = redis_from_url(f"redis://127.0.0.1:{port}/0")
    names = StreamNames(prefix="outage-test")
    publisher = Publisher(redis)
    handled: list[int] = []
    one_handled, two_handled = anyio.Event(), anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        handled.append(event.data.version)
        (one_handled if len(handled) == 1 else two_handled).set()

    consumer = StreamConsumer(
        redis,
        stream=names.events,
        group="workers",
        consumer="one",
        handler=handler,
        dead_letters=DeadLetters(redis, names),
        options=ConsumerOptions(block_seconds=0.05, reclaim_interval_seconds=0.05),
        backoff=Backoff(initial=0.05, maximum=0.2),
    )
    finished = anyio.Event()

    async def consume(*, task_status: TaskStatus[None]) -> None:
        await consumer.run(task_status=task_status)
        finished.set()

    try:
        async with anyio.create_task_group() as group:
            async with private_server(port):
                await group.start(consume)
                await publisher.publish(names.events, make_event("plaza", ConfigChanged(version=1)))
                with anyio.fail_after(5):
                    await one_handled.wait()
            # The server crashed (SIGKILL) mid-run.
            with anyio.fail_after(5):
                await logged(caplog, logging.WARNING, "Redis unreachable")
            async with private_server(port):
                with anyio.fail_after(5):
                    await logged(caplog, logging.INFO, "Redis reachable again")
                # It came back empty: the consumer recreated its group.
                await publisher.publish(names.events, make_event("plaza", ConfigChanged(version=2)))
                with anyio.fail_after(5):
                    await two_handled.wait()
                consumer.stop()
                with anyio.fail_after(5):
                    await finished.wait()
    finally:
        await redis.aclose()

    assert handled == [1, 2]
    assert len(messages(caplog, logging.WARNING, "Redis unreachable")) == 1
    assert len(messages(caplog, logging.INFO, "Redis reachable again")) == 1
    assert messages(caplog, logging.WARNING, "group workers is gone; recreating it")


async def test_after_a_long_outage_a_consumer_works_again_soon_after_the_server_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    port = free_port()
    redis = redis_from_url(f"redis://127.0.0.1:{port}/0")
    names = StreamNames(prefix="outage-test")
    handled, finished = anyio.Event(), anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        handled.set()

    # The production backoff: nothing given.
    consumer = StreamConsumer(
        redis,
        stream=names.events,
        group="workers",
        consumer="one",
        handler=handler,
        dead_letters=DeadLetters(redis, names),
    )

    async def consume(*, task_status: TaskStatus[None]) -> None:
        await consumer.run(task_status=task_status)
        finished.set()

    try:
        async with anyio.create_task_group() as group:
            async with private_server(port):
                await group.start(consume)
            # Down long enough for an unbounded backoff to have grown past
            # several seconds (its 7th delay is at least 6.4 s): the server
            # comes back right after a failed attempt, the worst moment.
            with anyio.fail_after(60):
                await logged(caplog, logging.DEBUG, "(attempt 7:")
            async with private_server(port):
                await Publisher(redis).publish(
                    names.events, make_event("plaza", ConfigChanged(version=1))
                )
                with anyio.fail_after(4):  # generous: the next attempt is at most 1 s away
                    await handled.wait()
                consumer.stop()
                with anyio.fail_after(5):
                    await finished.wait()
    finally:
        await redis.aclose()
    assert len(messages(caplog, logging.WARNING, "Redis unreachable")) == 1
    assert len(messages(caplog, logging.INFO, "Redis reachable again")) == 1
