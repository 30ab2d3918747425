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

    async def reserve(self, email: str, address: str) -> int | None:
        """Count this attempt on both keys before the password is checked.

        Returns the seconds to wait when either count is past the limit (the
        attempt is then refused), else None. Counting first, in one MULTI, is
        what stops a burst of parallel guesses from all passing the check.
        """
        keys = self._keys(email, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, self.window_seconds, nx=True)
            results = await pipe.execute()
        if all(int(count) <= self.attempts for count in results[0::2]):
            return None
        ttls = [int(await self._redis.ttl(key)) for key in keys]
        return max(1, *ttls)

    async def succeeded(self, email: str, address: str) -> None:
        """A right password: forget the email's count, take this attempt off the address's."""
        email_key, address_key = self._keys(email, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(email_key)
            pipe.decr(address_key)
            await pipe.execute()
