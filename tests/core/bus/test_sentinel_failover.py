"""A Sentinel failover during traffic: the bus's publisher and consumer go on with the new master.

Real ``redis-server`` and ``redis-sentinel`` processes (tests/core/sentinel_servers.py):
the master is SIGKILLed (then started again, as an operator would, and Sentinel makes it
a replica) or handed over with ``SENTINEL FAILOVER`` (the old master is demoted under
its clients: READONLY and UNBLOCKED replies). Every publish acknowledged with ``WAIT``
for one replica is consumed afterwards, and the consumer loop never stops.
"""

from __future__ import annotations

import gc
from pathlib import Path

import anyio
import pytest
from begasist_core import ConfigChanged, Event, make_event
from begasist_core.backoff import Backoff
from begasist_core.bus import (
    REDIS_UNAVAILABLE,
    ConsumerOptions,
    DeadLetters,
    Delivery,
    Publisher,
    StreamConsumer,
    redis_from_url,
)
from begasist_core.bus.redis_settings import redis_client
from begasist_core.bus.replication import NotReplicated, ReplicaWait
from begasist_core.events import StreamNames
from redis.asyncio import Redis

from tests.core.sentinel_servers import MASTER_NAME, ReplicatedRedis, replicated_redis

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

BEFORE = 30
"""Events acknowledged before the failover starts."""
TOTAL = 80


async def _fail_over(servers: ReplicatedRedis, how: str) -> None:
    old_master = await servers.master_port()
    if how == "sigkill":
        await servers.kill(old_master)
        await servers.wait_for_failover(old_master)
        # The operator starts the crashed server again; Sentinel makes it a replica.
        await servers.start_server(old_master)
    else:
        async with Redis(port=servers.sentinel_ports[0]) as sentinel:
            await sentinel.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
        await servers.wait_for_failover(old_master)


# Once in a loaded run (1 of 4 here), redis-py left a pooled connection to the demoted
# master unclosed during SENTINEL FAILOVER, and its ResourceWarning surfaced at garbage
# collection: collected here, in this test, so it cannot fail whichever test runs next.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("how", ["sigkill", "sentinel-failover"])
async def test_publisher_and_consumer_carry_on_after_a_failover(tmp_path: Path, how: str) -> None:
    names = StreamNames(prefix="failover")
    acknowledged: set[int] = set()
    handled: set[int] = set()
    everything_handled = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event.data, ConfigChanged)
        handled.add(event.data.version)
        if len(handled) == TOTAL:
            everything_handled.set()

    async with replicated_redis(tmp_path) as servers:
        redis = redis_client(servers.settings())
        publisher = Publisher(redis, wait=ReplicaWait(replicas=1, timeout_ms=500))
        consumer = StreamConsumer(
            redis,
            stream=names.events,
            group="workers",
            consumer="one",
            handler=handler,
            dead_letters=DeadLetters(redis, names),
            options=ConsumerOptions(block_seconds=0.1, reclaim_interval_seconds=0.5),
            backoff=Backoff(initial=0.05, maximum=0.5),
        )
        enough_before = anyio.Event()
        consumer_ended = anyio.Event()

        async def publish_all() -> None:
            for version in range(1, TOTAL + 1):
                event = make_event("plaza", ConfigChanged(version=version))
                while True:
                    try:
                        await publisher.publish(names.events, event)
                    except (*REDIS_UNAVAILABLE, NotReplicated):
                        await anyio.sleep(0.05)  # the failover is under way: retry
                    else:
                        break
                acknowledged.add(version)
                if version == BEFORE:
                    enough_before.set()
                await anyio.sleep(0.01)

        async def consume(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            await consumer.run(task_status=task_status)
            consumer_ended.set()

        try:
            async with anyio.create_task_group() as group:
                await group.start(consume)
                group.start_soon(publish_all)
                await enough_before.wait()
                await _fail_over(servers, how)
                await everything_handled.wait()
                assert not consumer_ended.is_set()
                consumer.stop()
        finally:
            await redis.aclose()

    gc.collect()
    assert acknowledged == set(range(1, TOTAL + 1))
    assert handled == acknowledged


async def test_a_consumer_on_a_url_that_reaches_a_replica_waits_for_it_to_be_promoted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """READONLY (a URL still naming a demoted master, until DNS or a VIP moves) is an
    outage to ride out like a refused connection, not an error that ends the loop."""
    names = StreamNames(prefix="readonly")
    handled = anyio.Event()

    async def handler(event: Event, delivery: Delivery) -> None:
        handled.set()

    async with replicated_redis(tmp_path, sentinels=0) as servers:
        _, replica = servers.ports
        redis = redis_from_url(servers.url(replica))
        consumer = StreamConsumer(
            redis,
            stream=names.events,
            group="workers",
            consumer="one",
            handler=handler,
            dead_letters=DeadLetters(redis, names),
            options=ConsumerOptions(block_seconds=0.1),
            backoff=Backoff(initial=0.05, maximum=0.2),
        )
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(consumer.run)
                with anyio.fail_after(30):
                    while "Redis unreachable" not in caplog.text:  # noqa: ASYNC110
                        await anyio.sleep(0.02)
                await redis.execute_command("REPLICAOF", "NO", "ONE")  # the promotion
                await Publisher(redis).publish(
                    names.events, make_event("plaza", ConfigChanged(version=1))
                )
                with anyio.fail_after(30):
                    await handled.wait()
                consumer.stop()
        finally:
            await redis.aclose()
    assert "READONLY" in caplog.text or "ReadOnlyError" in caplog.text
    assert "unexpected Redis error" not in caplog.text
