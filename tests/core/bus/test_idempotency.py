"""Idempotency: once() is atomic with its Redis effect; run_once() locks outside effects."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from begasist_core.bus import Idempotency, InFlight
from begasist_core.events import StreamNames
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio


@pytest.fixture
def idempotency(begasist_redis: Redis, begasist_names: StreamNames) -> Idempotency:
    return Idempotency(begasist_redis, begasist_names, namespace="test", ttl=timedelta(hours=1))


async def test_once_applies_the_effect_with_the_marker_only_the_first_time(
    begasist_redis: Redis, begasist_names: StreamNames, idempotency: Idempotency
) -> None:
    counter = begasist_names.key("counter")

    assert not await idempotency.seen("msg-1")
    assert await idempotency.once("msg-1", lambda pipe: pipe.incr(counter))
    assert not await idempotency.once("msg-1", lambda pipe: pipe.incr(counter))
    assert await idempotency.once("msg-2", lambda pipe: pipe.incr(counter))

    assert await begasist_redis.get(counter) == b"2"
    assert await idempotency.seen("msg-1")
    assert 0 < await begasist_redis.ttl(idempotency.marker("msg-1")) <= 3600


async def test_once_applies_the_effect_once_under_concurrent_deliveries(
    begasist_redis: Redis, begasist_names: StreamNames, idempotency: Idempotency
) -> None:
    counter = begasist_names.key("counter")
    outcomes: list[bool] = []

    async def deliver() -> None:
        outcomes.append(await idempotency.once("msg-1", lambda pipe: pipe.incr(counter)))

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(deliver)

    assert sorted(outcomes) == [False] * 19 + [True]
    assert await begasist_redis.get(counter) == b"1"


async def test_run_once_runs_the_effect_once_and_returns_its_result(
    idempotency: Idempotency,
) -> None:
    calls: list[str] = []

    async def send() -> str:
        calls.append("sent")
        return "provider-id-1"

    assert await idempotency.run_once("out-1", send) == (True, "provider-id-1")
    assert await idempotency.run_once("out-1", send) == (False, None)
    assert calls == ["sent"]
    assert await idempotency.seen("out-1")


async def test_run_once_raises_in_flight_while_another_worker_runs_the_effect(
    idempotency: Idempotency,
) -> None:
    started, release = anyio.Event(), anyio.Event()
    results: list[tuple[bool, str | None]] = []

    async def slow_send() -> str:
        started.set()
        await release.wait()
        return "sent"

    async def first_worker() -> None:
        results.append(await idempotency.run_once("out-1", slow_send))

    async with anyio.create_task_group() as group:
        group.start_soon(first_worker)
        with anyio.fail_after(5):
            await started.wait()
        assert not await idempotency.seen("out-1")
        with pytest.raises(InFlight) as in_flight:
            await idempotency.run_once("out-1", slow_send)
        assert in_flight.value.key == "out-1"
        release.set()

    assert results == [(True, "sent")]
    assert await idempotency.run_once("out-1", slow_send) == (False, None)


async def test_run_once_releases_its_lock_when_the_effect_fails(
    idempotency: Idempotency,
) -> None:
    async def failing_send() -> str:
        raise ConnectionError("provider down")

    async def send() -> str:
        return "sent"

    with pytest.raises(ConnectionError):
        await idempotency.run_once("out-1", failing_send)
    assert not await idempotency.seen("out-1")
    assert await idempotency.run_once("out-1", send) == (True, "sent")


async def test_run_once_never_releases_a_lock_that_is_no_longer_its_own(
    begasist_redis: Redis, idempotency: Idempotency
) -> None:
    marker = idempotency.marker("out-1")

    async def outlives_its_lock() -> str:
        # Our lock expired and another worker took the key meanwhile.
        await begasist_redis.set(marker, b"pending:someone-else")
        raise TimeoutError("took too long")

    with pytest.raises(TimeoutError):
        await idempotency.run_once("out-1", outlives_its_lock)
    assert await begasist_redis.get(marker) == b"pending:someone-else"
