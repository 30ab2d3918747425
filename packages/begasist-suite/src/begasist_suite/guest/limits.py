"""Fixed-window rate limits for guest sockets: per visitor and per client address.

Counted in Redis, so every replica shares them; keys are hashed, so client
addresses do not sit in Redis in clear. The same approach as the login limits
(:mod:`begasist_suite.auth.rate_limit`): count, then compare, in one script.
"""

from __future__ import annotations

import hashlib
from typing import Final

import anyio
from redis.asyncio import Redis

__all__ = ["IN_FLIGHT", "WindowLimiter"]

_COUNT: Final = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return n
"""

IN_FLIGHT: Final = 64
"""Counts one replica sends to Redis at once; the others wait their turn.

Every guest frame is counted, so without a bound a burst from thousands of
sockets (a reconnect storm after a restart, many widgets pinging together)
asks the client's pool for more connections than it has, and redis-py refuses
those at once (``MaxConnectionsError``), which the socket takes for Redis being
down and closes with 1013 (``bench/webchat_sockets.py`` saw it with 5,000 sockets).
A count takes a fraction of a millisecond, so waiting costs little."""


class WindowLimiter:
    """Counts events per key in windows of *window_seconds*, under *prefix*."""

    def __init__(
        self, redis: Redis, prefix: str, *, window_seconds: int, in_flight: int = IN_FLIGHT
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.window_seconds = window_seconds
        self._in_flight = anyio.Semaphore(in_flight)

    async def allow(self, kind: str, value: str, limit: int) -> bool:
        """Count one event of *kind* for *value*; False once *limit* is passed in the window."""
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
        async with self._in_flight:
            count = await self._redis.eval(
                _COUNT, 1, f"{self._prefix}:guest-limit:{kind}:{digest}", self.window_seconds
            )
        return int(count) <= limit
