"""Fixed-window rate limits for guest sockets: per visitor, per client address, per hotel.

Events are counted one at a time (:meth:`WindowLimiter.allow`); bytes (guests'
uploads) are spent against several budgets at once, each with its own window
(:meth:`WindowLimiter.spend`).

Counted in Redis, so every replica shares them. A key names what it counts by
a keyed hash (HMAC-SHA256 with a key derived from ``BEGASIST_SECRET_KEY``), not
a plain one: an IPv4 address or a visitor id hashed without a key could be
found again by hashing every candidate, and nothing personal sits in Redis when
a keyed hash will do. Every key expires with its window, so the key space is
bounded by the traffic of one window. Count, then compare, in one script (the
approach of the login limits, :mod:`begasist_suite.auth.rate_limit`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final, NamedTuple

import anyio
from redis.asyncio import Redis

__all__ = ["IN_FLIGHT", "Budget", "WindowLimiter"]

_KEY_LABEL: Final = b"begasist guest rate limit keys v1"

# Every key is counted (a refused event still counts against each of them), and the
# answer is whether any went past its limit: one round trip for a client's several keys.
_COUNT: Final = """
local over = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[1], 'NX')
  if n > tonumber(ARGV[i + 1]) then over = 1 end
end
return over
"""

# Every budget is counted, even past one already over: what was received was received.
_SPEND: Final = """
local over = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCRBY', key, ARGV[1])
  redis.call('EXPIRE', key, ARGV[2 * i + 1], 'NX')
  if over == 0 and n > tonumber(ARGV[2 * i]) then over = i end
end
return over
"""

IN_FLIGHT: Final = 64
"""Counts one replica sends to Redis at once; the others wait their turn.

Every guest frame is counted, so without a bound a burst from thousands of
sockets (a reconnect storm after a restart, many widgets pinging together)
asks the client's pool for more connections than it has, and redis-py refuses
those at once (``MaxConnectionsError``), which the socket takes for Redis being
down and closes with 1013 (``bench/webchat_sockets.py`` saw it with 5,000 sockets).
A count takes a fraction of a millisecond, so waiting costs little."""


class Budget(NamedTuple):
    """At most *limit* units of *kind* for *value* per *window_seconds*."""

    kind: str
    value: str
    limit: int
    window_seconds: int


class WindowLimiter:
    """Counts events per key in windows of *window_seconds*, under *prefix*."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        window_seconds: int,
        secret_key: str,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.window_seconds = window_seconds
        # A key of its own: a limiter key is never also a MAC of anything else.
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()
        self._in_flight = anyio.Semaphore(in_flight)

    def key(self, kind: str, value: str) -> str:
        """The Redis key counting *kind* events of *value* (a keyed digest of *value*)."""
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
        return f"{self._prefix}:guest-limit:{kind}:{digest}"

    async def allow(self, kind: str, value: str, limit: int) -> bool:
        """Count one event of *kind* for *value*; False once *limit* is passed in the window."""
        return await self.allow_each(kind, ((value, limit),))

    async def allow_each(self, kind: str, limits: Sequence[tuple[str, int]]) -> bool:
        """Count one event of *kind* for each value of *limits* (one client's several keys);
        False once any value's limit is passed in the window."""
        keys = [self.key(kind, value) for value, _ in limits]
        async with self._in_flight:
            over = await self._redis.eval(
                _COUNT, len(keys), *keys, self.window_seconds, *(limit for _, limit in limits)
            )
        return not int(over)

    async def spend(self, amount: int, budgets: Sequence[Budget]) -> Budget | None:
        """Count *amount* against every one of *budgets* at once; the first that is now
        over its limit, or None."""
        keys = [self.key(budget.kind, budget.value) for budget in budgets]
        arguments: list[int] = [amount]
        for budget in budgets:
            arguments += [budget.limit, budget.window_seconds]
        async with self._in_flight:
            over = await self._redis.eval(_SPEND, len(keys), *keys, *arguments)
        return budgets[int(over) - 1] if int(over) else None
