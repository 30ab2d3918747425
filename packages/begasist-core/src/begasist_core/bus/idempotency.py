"""Exactly-once effects on top of at-least-once delivery: a marker per idempotency key."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from begasist_core.events.streams import StreamNames

__all__ = ["Idempotency", "InFlight"]

T = TypeVar("T")

DONE: Final = b"done"
_PENDING: Final = b"pending:"

# Delete the lock only while it is still ours: after our lock expired, another
# worker may hold a fresh one that we must not release.
_RELEASE_SCRIPT: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class InFlight(RuntimeError):
    """Another worker is applying this effect right now.

    Do not ack the entry: it is delivered again later, by when the other
    worker has either finished (then it is skipped) or failed (then it runs).
    """

    def __init__(self, key: str) -> None:
        super().__init__(f"effect {key!r} is in flight in another worker")
        self.key = key


class Idempotency:
    """Applies each effect once per key, however often its event is delivered.

    Markers live under ``names.key("idempotency", namespace, key)`` for *ttl*:
    longer than any redelivery can come late (reclaims come within minutes).

    * :meth:`once` is for effects that are Redis writes: the marker and the
      writes commit in one MULTI, so the effect is applied if and only if the
      marker is set, even if the worker dies at any point.
    * :meth:`run_once` is for effects outside Redis (sending through a
      provider). Nothing can make those atomic with a marker; a lock narrows
      the window to a worker dying between the effect and the marker.
    """

    def __init__(
        self,
        redis: Redis,
        names: StreamNames,
        *,
        namespace: str,
        ttl: timedelta = timedelta(days=7),
    ) -> None:
        self._redis = redis
        self._names = names
        self._namespace = namespace
        self._ttl = ttl

    def marker(self, key: str) -> str:
        """The Redis key that records *key*'s effect."""
        return self._names.key("idempotency", self._namespace, key)

    async def once(self, key: str, effect: Callable[[Pipeline], object]) -> bool:
        """Queue *effect*'s writes with the marker, unless the marker is already set.

        *effect* receives the pipeline in MULTI mode and queues commands on it
        (``lambda pipe: pipe.hincrby(...)``); it must not await anything.
        Returns True if this call applied the effect, False if it had been
        applied before. Redis does not roll back a MULTI in which one command
        fails at run time (a wrong type): queue only commands that cannot.
        """
        marker = self.marker(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            # A WatchError means the marker changed under us; the next round
            # then sees it set and returns, so this loop ends after two rounds.
            while True:
                try:
                    await pipe.watch(marker)
                    if await pipe.exists(marker):
                        return False  # leaving the block resets the pipeline: UNWATCH
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(marker, DONE, ex=self._ttl)
                    effect(pipe)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def seen(self, key: str) -> bool:
        """Whether *key*'s effect has been applied (a pending :meth:`run_once` is not)."""
        value = await self._redis.get(self.marker(key))
        return value is not None and not _as_bytes(value).startswith(_PENDING)

    async def run_once(
        self,
        key: str,
        effect: Callable[[], Awaitable[T]],
        *,
        lock_ttl: timedelta = timedelta(seconds=60),
    ) -> tuple[bool, T | None]:
        """Run *effect* unless it already ran for *key*; ``(ran, its result)``.

        Takes a lock for *lock_ttl* (longer than the effect can take: if it
        expires mid-effect, another worker may run the effect too). Raises
        :class:`InFlight` if another worker holds the lock. If *effect* raises,
        the lock is released (if still ours) and the error propagates, so a
        later delivery runs it again. If the task is cancelled mid-effect, the
        outcome is unknown: the lock is left to expire, which delays the retry.
        """
        marker = self.marker(key)
        token = _PENDING + secrets.token_hex(8).encode()
        # The lock can expire between our SET NX and GET: try again then.
        while not await self._redis.set(marker, token, nx=True, px=lock_ttl):
            current = await self._redis.get(marker)
            if current is None:
                continue
            if _as_bytes(current).startswith(_PENDING):
                raise InFlight(key)
            return False, None
        try:
            result = await effect()
        except Exception:
            await self._redis.eval(_RELEASE_SCRIPT, 1, marker, token)
            raise
        await self._redis.set(marker, DONE, ex=self._ttl)
        return True, result


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value
