"""Send pacing: the number's throughput and the time between two messages to one guest.

Both pacers hand out slots by reservation: a caller reserves the next free
slot (a plain computation, with no await in it, so concurrent tasks on one
event loop can never take the same slot) and then sleeps until it. Slots go
out in call order, so a waiting send is never overtaken by a later one.
Time comes from a :class:`Clock`, so tests drive it without sleeping.
"""

from __future__ import annotations

import math
import time
from typing import Final, Protocol

import anyio

__all__ = ["Clock", "MonotonicClock", "NumberPacer", "RecipientPacer", "SendPacing"]

_PRUNE_AT: Final = 10_000
"""Recipients remembered before the ones whose slot has passed are forgotten."""


class Clock(Protocol):
    """Monotonic seconds and a way to wait; tests pass a fake that advances on sleep."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` and ``anyio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class NumberPacer:
    """At most ``rate`` sends (rounded up) in any one second for one number, ``burst`` at once.

    A token bucket in its virtual-scheduling form (GCRA). Slots are spaced
    ``1 / refill`` apart with ``burst`` allowed back to back, where ``refill =
    rate - burst + 1``: a burst plus a second's refill then never exceeds
    ``rate``, which is how Meta counts throughput.
    """

    def __init__(self, rate: float, *, burst: int | None = None, clock: Clock) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.burst = max(1, min(burst if burst is not None else math.floor(rate / 20), int(rate)))
        refill = rate - self.burst + 1
        self.interval = 1.0 / refill
        self._tolerance = (self.burst - 1) * self.interval
        self._clock = clock
        self._next = -math.inf

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait for it (0: now)."""
        now = self._clock.now()
        slot = max(self._next, now)
        self._next = slot + self.interval
        return max(0.0, slot - self._tolerance - now)

    async def acquire(self) -> None:
        """Wait for the next slot."""
        delay = self.reserve()
        if delay > 0:
            await self._clock.sleep(delay)


class RecipientPacer:
    """At least ``interval`` seconds between two sends to one recipient."""

    def __init__(self, interval: float, *, clock: Clock) -> None:
        if interval < 0:
            raise ValueError("interval must not be negative")
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}

    def reserve(self, recipient: str) -> float:
        """Take *recipient*'s next slot; the seconds to wait for it (0: now)."""
        now = self._clock.now()
        if len(self._next) >= _PRUNE_AT:
            self._next = {key: at for key, at in self._next.items() if at > now}
        slot = max(self._next.get(recipient, now), now)
        self._next[recipient] = slot + self.interval
        return slot - now

    async def acquire(self, recipient: str) -> None:
        """Wait for *recipient*'s next slot."""
        delay = self.reserve(recipient)
        if delay > 0:
            await self._clock.sleep(delay)


class SendPacing:
    """Both pacers of one number: the guest's slot first, then the number's."""

    def __init__(
        self,
        *,
        messages_per_second: float,
        per_recipient_interval: float,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock or MonotonicClock()
        self.number = NumberPacer(messages_per_second, clock=self.clock)
        self.recipients = RecipientPacer(per_recipient_interval, clock=self.clock)

    async def acquire(self, recipient: str) -> None:
        """Wait until a message to *recipient* may go out.

        The guest's slot is taken first: taking the number's first would hold
        one of its slots while waiting for a slow guest, wasting it.
        """
        await self.recipients.acquire(recipient)
        await self.number.acquire()
