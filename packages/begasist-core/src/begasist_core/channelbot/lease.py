"""The per-hotel lease: one active bot per hotel, with a fencing token.

The lease is a plain key with a TTL holding ``"<fence>:<instance>"``. Taking it
increments the hotel's fence counter, so every tenure has a number larger than
any before it; the holder renews it well before it expires. A second bot
waits as hot standby and takes the lease within one TTL of the holder dying.

A holder that cannot renew (Redis lost, or another instance holds the key)
must stop acting at once: :meth:`HotelLease.ensure_held` checks, before each
side effect, that the last successful renewal is still within the TTL, so a
paused or partitioned process never acts on an expired lease.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from typing import Final

import anyio
from redis.asyncio import Redis

from begasist_core.bus.connection import REDIS_UNAVAILABLE, RedisOutage, redis_label
from begasist_core.events.streams import StreamNames
from begasist_core.metrics import LEASE_TAKEOVERS

__all__ = ["HotelLease", "LeaseLost"]

log = logging.getLogger("begasist.channelbot.lease")

_EXPIRY_MARGIN_SECONDS: Final = (0.005, 0.05)
"""A standby wakes this long (drawn at random) after the holder's key would expire:
late enough to find it gone, spread so standbys do not all ask at the same instant."""

# Take the lease if free and number the tenure, atomically, so a failed attempt
# by a standby costs nothing and fences only ever grow.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
return fence
"""
# Renew only if we still hold it: compare-and-expire, atomically.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# Release only if we still hold it: a late release must not drop a successor's lease.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseLost(RuntimeError):
    """This instance no longer holds the hotel's lease and must stop acting for it."""


class HotelLease:
    """Acquire, keep and release one hotel's lease."""

    def __init__(
        self,
        redis: Redis,
        names: StreamNames,
        hotel: str,
        instance: str,
        *,
        ttl: timedelta = timedelta(seconds=10),
    ) -> None:
        self.hotel = hotel
        self.instance = instance
        self.ttl = ttl
        self.fence: int | None = None
        self._redis = redis
        self._key = names.hotel_key(hotel, "lease")
        self._fence_key = names.hotel_key(hotel, "lease", "fence")
        self._valid_until = 0.0
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def token(self) -> str:
        return f"{self.fence}:{self.instance}"

    @property
    def key(self) -> str:
        return self._key

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl.total_seconds() * 1000)

    @property
    def renew_interval(self) -> float:
        """Renew three times per TTL: two renewals can fail before the lease lapses."""
        return self.ttl.total_seconds() / 3

    async def try_acquire(self) -> bool:
        """Take the lease if it is free; True when this instance now holds it."""
        started = time.monotonic()
        fence = int(
            await self._acquire(
                keys=[self._key, self._fence_key], args=[self.instance, self._ttl_ms]
            )
        )
        if not fence:
            return False
        self.fence = fence
        self._valid_until = started + self.ttl.total_seconds()
        return True

    async def acquire(self, *, poll: float | None = None) -> None:
        """Wait as standby until the lease is ours.

        Between attempts it sleeps until the holder's key would expire (its
        PTTL, plus a few jittered milliseconds), at most *poll* (a third of
        the TTL by default, as a renewal may have moved the expiry): a
        standby takes a lapsed lease moments after it lapses.
        """
        interval = poll if poll is not None else self.renew_interval
        announced = False
        while not await self.try_acquire():
            expires_in_ms = int(await self._redis.pttl(self._key))
            if not announced:
                holder = await self._redis.get(self._key)
                log.info(
                    "hotel %s: lease held by %s; waiting as standby",
                    self.hotel,
                    holder.decode() if isinstance(holder, bytes) else holder,
                )
                announced = True
            await anyio.sleep(_standby_wait(expires_in_ms, interval))
        LEASE_TAKEOVERS.labels(self.hotel).inc()
        log.info("hotel %s: lease acquired (fence %s)", self.hotel, self.fence)

    async def renew(self) -> None:
        """Extend the lease; raise :class:`LeaseLost` if another instance holds it."""
        started = time.monotonic()
        if not await self._renew(keys=[self._key], args=[self.token, self._ttl_ms]):
            self._valid_until = 0.0
            raise LeaseLost(f"hotel {self.hotel}: lease {self.token} was lost")
        self._valid_until = started + self.ttl.total_seconds()

    async def keep(self) -> None:
        """Renew until cancelled; raise :class:`LeaseLost` when it cannot be kept.

        While Redis is unreachable the renewal is retried with the outage
        backoff (at most a second apart, one WARNING per outage) until the
        lease would have expired: past that moment another instance may hold
        it, so this one must stop.
        """
        outage = RedisOutage(redis_label(self._redis), logger=log)
        while True:
            if not outage.down:
                # Negative when the process stalled past the lease (a start-up
                # storm, a long pause): renew at once, which finds it lost.
                await anyio.sleep(max(0.0, min(self.renew_interval, self._remaining())))
            # A renewal that hangs (a partition) must not outlive the lease:
            # past that moment another instance may hold it.
            with anyio.move_on_after(self._remaining()):
                try:
                    await self.renew()
                except REDIS_UNAVAILABLE as error:
                    await outage.failed(error)
                else:
                    outage.succeeded()
            if self._remaining() <= 0:
                raise LeaseLost(f"hotel {self.hotel}: could not renew the lease before it expired")

    def is_held(self) -> bool:
        """Whether the lease is certainly still ours (renewed less than a TTL ago)."""
        return self._remaining() > 0

    def ensure_held(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is certainly still ours."""
        if not self.is_held():
            raise LeaseLost(f"hotel {self.hotel}: lease expired")

    def _remaining(self) -> float:
        return self._valid_until - time.monotonic()

    async def release(self) -> None:
        """Give the lease up at once so a standby takes over without waiting a TTL."""
        if self.fence is None:
            return
        self._valid_until = 0.0
        await self._release(keys=[self._key], args=[self.token])
        log.info("hotel %s: lease released (fence %s)", self.hotel, self.fence)
        self.fence = None


def _standby_wait(expires_in_ms: int, interval: float) -> float:
    """How long a standby sleeps before its next attempt, given the key's PTTL.

    PTTL -2: the key is already gone, try again at once (after the margin);
    -1 (a key without a TTL, which this class never writes): poll at *interval*.
    """
    if expires_in_ms == -1:
        return interval
    margin = random.uniform(*_EXPIRY_MARGIN_SECONDS)
    return min(interval, max(0, expires_in_ms) / 1000 + margin)
