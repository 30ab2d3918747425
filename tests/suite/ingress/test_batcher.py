"""IngressBatcher: per-stream order, errors only to the waiters of a failed write, flush on stop."""

from __future__ import annotations

from typing import cast

import anyio
import anyio.lowlevel
import pytest
from begasist_core import ConfigChanged, Event, StreamNames, decode_event, make_event
from begasist_suite.ingress.batcher import IngressBatcher, IngressUnavailable
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.exceptions import ResponseError

pytestmark = pytest.mark.anyio


def _event(version: int) -> Event:
    return make_event("plaza", ConfigChanged(version=version))


async def _stored_versions(redis: Redis, stream: str) -> list[int]:
    entries = await redis.xrange(stream) or []
    return [
        decode_event(cast(dict[bytes, bytes], fields)[b"e"]).data.version  # type: ignore[union-attr]
        for _, fields in entries
    ]


async def test_events_land_in_their_streams_in_the_order_given(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    batcher = IngressBatcher(begasist_redis)
    streams = [begasist_names.ingress(hotel) for hotel in ("a", "b", "c")]
    ids: dict[int, bytes] = {}
    published_before = _published_to_ingress()

    async def publish(version: int) -> None:
        ids[version] = await batcher.publish(streams[version % 3], _event(version))

    async with anyio.create_task_group() as tasks:
        await tasks.start(batcher.run)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as publishers:
                for version in range(300):
                    publishers.start_soon(publish, version)
                    if version % 37 == 0:
                        await anyio.lowlevel.checkpoint()  # writes interleave with arrivals
        batcher.stop()
    for index, stream in enumerate(streams):
        expected = list(range(index, 300, 3))
        assert await _stored_versions(begasist_redis, stream) == expected
        entry_ids = [ids[v] for v in expected]
        assert entry_ids == [e for e, _ in await begasist_redis.xrange(stream) or []]
    # Counted once each, whether a batch went as one script or as a pipeline of XADDs.
    assert _published_to_ingress() - published_before == 300


def _published_to_ingress() -> float:
    value = REGISTRY.get_sample_value("begasist_events_published_total", {"stream": "ingress"})
    return value or 0.0


async def test_a_failed_write_fails_its_waiters_and_no_one_else(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    good, bad = begasist_names.ingress("good"), begasist_names.ingress("bad")
    await begasist_redis.set(bad, "not a stream")  # XADD answers WRONGTYPE
    batcher = IngressBatcher(begasist_redis)
    outcomes: dict[int, bytes | BaseException] = {}

    async def publish(stream: str, version: int) -> None:
        try:
            outcomes[version] = await batcher.publish(stream, _event(version))
        except IngressUnavailable as error:
            outcomes[version] = error

    async with anyio.create_task_group() as tasks:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as publishers:
                for version in range(10):  # all queued before the writer starts: one batch
                    publishers.start_soon(publish, bad if version % 2 else good, version)
                await anyio.sleep(0.05)
                await tasks.start(batcher.run)
        await begasist_redis.delete(bad)
        after = await batcher.publish(bad, _event(99))  # the failure did not stick
        batcher.stop()

    failed = {v for v, outcome in outcomes.items() if isinstance(outcome, BaseException)}
    assert failed == {1, 3, 5, 7, 9}
    for version in failed:
        error = outcomes[version]
        assert isinstance(error, IngressUnavailable)
        assert isinstance(error.__cause__, ResponseError)
    assert await _stored_versions(begasist_redis, good) == [0, 2, 4, 6, 8]
    assert [e for e, _ in await begasist_redis.xrange(bad) or []] == [after]


async def test_stop_writes_what_is_queued_then_refuses(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    stream = begasist_names.ingress("plaza")
    batcher = IngressBatcher(begasist_redis)
    written: list[bytes] = []

    async def publish(version: int) -> None:
        written.append(await batcher.publish(stream, _event(version)))

    async with anyio.create_task_group() as tasks:
        for version in range(5):
            tasks.start_soon(publish, version)
        await anyio.sleep(0.05)
        batcher.stop()
        with anyio.fail_after(10):
            await batcher.run()  # returns once the queue is drained
    assert len(written) == 5
    assert await _stored_versions(begasist_redis, stream) == [0, 1, 2, 3, 4]
    with pytest.raises(IngressUnavailable, match="stopped"):
        await batcher.publish(stream, _event(5))


async def test_a_full_queue_refuses_at_once(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    stream = begasist_names.ingress("plaza")
    batcher = IngressBatcher(begasist_redis, capacity=2)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(batcher.publish, stream, _event(0))
        tasks.start_soon(batcher.publish, stream, _event(1))
        await anyio.sleep(0.05)
        with pytest.raises(IngressUnavailable, match="full"):
            await batcher.publish(stream, _event(2))
        batcher.stop()
        await batcher.run()
    assert await _stored_versions(begasist_redis, stream) == [0, 1]
