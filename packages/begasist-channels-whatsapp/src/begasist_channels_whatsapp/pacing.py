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
from collections import deque
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


WINDOW_MARGIN: Final = 0.005
"""Seconds added to the one-second window the real sends are counted in: the
few milliseconds a request may take longer than the one sent after it."""


class NumberPacer:
    """At most ``rate`` sends (rounded up) in any one second for one number.

    A token bucket in its virtual-scheduling form (GCRA). Slots are spaced
    ``1 / refill`` apart with ``burst`` allowed back to back, where ``refill =
    rate - burst + 1``: a burst plus a second's refill then never exceeds
    ``rate``, which is how Meta counts throughput. The default burst is 1
    (evenly spaced sends, 12.5 ms apart at 80/s): a burst arrives at Meta as
    a clump whose order and timing the network shuffles. :meth:`acquire`
    then also counts the sends as they really went (see there).
    """

    def __init__(self, rate: float, *, burst: int = 1, clock: Clock) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.burst = max(1, min(burst, int(rate)))
        refill = rate - self.burst + 1
        self.interval = 1.0 / refill
        self._tolerance = (self.burst - 1) * self.interval
        self._clock = clock
        self._next = -math.inf
        self._sent: deque[float] = deque(maxlen=max(1, math.floor(rate)))
        """When the last ``rate`` sends went, oldest first."""

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait for it (0: now)."""
        now = self._clock.now()
        slot = max(self._next, now)
        self._next = slot + self.interval
        delay = slot - self._tolerance - now
        return delay if delay > 1e-9 else 0.0  # not a rounding error's worth of sleep

    async def acquire(self) -> None:
        """Wait for the next slot, then until the last second's sends leave room.

        The slots are planned; the sends happen when the sleeps end, and an
        event loop wakes some late. The second check counts the sends as they
        really went: the ``rate``-th send before this one must be a full
        second (and :data:`WINDOW_MARGIN`) ago, so one late wake-up cannot
        squeeze ``rate`` + 1 sends into a second.
        """
        delay = self.reserve()
        if delay > 0:
            await self._clock.sleep(delay)
        while len(self._sent) == self._sent.maxlen:
            wait = self._sent[0] + 1.0 + WINDOW_MARGIN - self._clock.now()
            if wait <= 0:
                break
            await self._clock.sleep(wait)
        self._sent.append(self._clock.now())


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
