"""Login rate limiting: failed attempts counted per email and per client address in Redis."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """At most *attempts* failed logins per key in a fixed window of *window_seconds*.

    Keys are hashed, so neither addresses nor emails sit in Redis in clear. A
    success does not reset the address counter: an attacker holding one valid
    account cannot use it to keep guessing others.
    """

    def __init__(self, redis: Redis, prefix: str, *, attempts: int, window_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self.attempts = attempts
        self.window_seconds = window_seconds

    def _keys(self, email: str, address: str) -> list[str]:
        return [
            f"{self._prefix}:login:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
            for kind, value in (("email", email.casefold()), ("addr", address))
        ]

    async def retry_after(self, email: str, address: str) -> int | None:
        """Seconds to wait when either counter is spent, else None."""
        keys = self._keys(email, address)
        counts = await self._redis.mget(keys)
        for key, count in zip(keys, counts, strict=True):
            if count is not None and int(count) >= self.attempts:
                ttl = await self._redis.ttl(key)
                return max(int(ttl), 1)
        return None

    async def failed(self, email: str, address: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in self._keys(email, address):
                pipe.incr(key)
                pipe.expire(key, self.window_seconds, nx=True)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        await self._redis.delete(self._keys(email, "")[0])
