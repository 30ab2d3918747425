"""The guest sockets' rate limits (``begasist_suite.guest.limits``) against a real Redis."""

from __future__ import annotations

import uuid

import anyio
import pytest
from begasist_core import redis_from_url
from begasist_suite.guest.limits import IN_FLIGHT, Budget, WindowLimiter

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


async def test_a_burst_larger_than_the_redis_pool_is_counted_not_refused(
    begasist_redis_url: str,
) -> None:
    """Thousands of sockets' frames at once must wait for a connection, not fail as if
    Redis were down (which closes each socket with 1013)."""
    pool_size = IN_FLIGHT + 16
    redis = redis_from_url(f"{begasist_redis_url}?max_connections={pool_size}")
    prefix = f"test-limits-{uuid.uuid4().hex[:8]}"
    limiter = WindowLimiter(redis, prefix, window_seconds=60, secret_key="k" * 32)
    answers: list[bool] = []

    async def frame(visitor: int) -> None:
        answers.append(await limiter.allow("visitor", f"v{visitor}", 1))

    try:
        async with anyio.create_task_group() as tasks:
            for visitor in range(10 * pool_size):
                tasks.start_soon(frame, visitor)
        assert answers == [True] * (10 * pool_size)
        assert await limiter.allow("visitor", "v0", 1) is False  # counted all the same
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_bytes_are_spent_against_every_budget_each_in_its_own_window(
    begasist_redis_url: str,
) -> None:
    redis = redis_from_url(begasist_redis_url)
    prefix = f"test-limits-{uuid.uuid4().hex[:8]}"
    limiter = WindowLimiter(redis, prefix, window_seconds=60, secret_key="k" * 32)
    minute = Budget("bytes-address", "198.51.100.7", 1000, 60)
    day = Budget("bytes-hotel-day", "plaza", 1500, 86_400)
    try:
        assert await limiter.spend(600, (minute, day)) is None
        assert await limiter.spend(600, (minute, day)) == minute
        # Counted against both all the same, so the day is now past its budget too.
        assert await limiter.spend(400, (day, minute)) == day
        assert await redis.get(limiter.key(day.kind, day.value)) == b"1600"
        assert 60 < await redis.ttl(limiter.key(day.kind, day.value)) <= 86_400
        assert 0 < await redis.ttl(limiter.key(minute.kind, minute.value)) <= 60
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
