"""The guest sockets' rate limits (``begasist_suite.guest.limits``) against a real Redis."""

from __future__ import annotations

import uuid

import anyio
import pytest
from begasist_core import redis_from_url
from begasist_suite.guest.limits import IN_FLIGHT, WindowLimiter

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
