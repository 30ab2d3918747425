"""What a stream consumer hands its handler, what a handler may raise, and the tuning."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from begasist_core.events.envelope import Event

__all__ = ["BatchScope", "ConsumerOptions", "Delivery", "Handler", "RejectedEvent"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a handled event came from, and how many times it has been delivered (1 = first)."""

    stream: str
    entry_id: bytes
    deliveries: int


BatchScope = Callable[[], AbstractAsyncContextManager[object]]
"""Opens a scope around the handling of one batch (a store transaction, say)."""

Handler = Callable[[Event, Delivery], Awaitable[None]]
"""Applies one event. Return = done (the entry is acked); raise = retry it later;
raise :class:`RejectedEvent` = dead-letter it now."""


class RejectedEvent(Exception):
    """Raised by a handler for an event that retrying cannot help (it is unreadable,
    or does not belong on its stream): the entry goes to the dead stream at once,
    with ``reason`` and the message, instead of after ``max_deliveries`` attempts.
    """

    reason: str = "rejected"


@dataclass(frozen=True)
class ConsumerOptions:
    """Tuning of a :class:`~begasist_core.bus.StreamConsumer`; the defaults suit production."""

    batch_size: int = 100
    """Entries read (and acked) per round trip."""
    block_seconds: float = 1.0
    """Longest wait for new entries; kept below the client's socket timeout."""
    claim_idle_seconds: float = 30.0
    """An entry pending this long without an ack is taken over from its consumer.

    A live consumer touches the entries it holds (read and not yet acked)
    three times per claim_idle, so only a consumer that died or hung loses
    them. One exception: a sequential consumer touches between entries, so
    keep claim_idle above its slowest handler's run time.
    """
    reclaim_interval_seconds: float = 5.0
    max_deliveries: int = 5
    """Handler attempts per entry; after the last one fails it goes to the dead stream."""
    concurrency: int = 1
    """Partitions handled at once (with a *partition* function; see
    :class:`~begasist_core.bus.StreamConsumer`). 1 handles every entry in stream order."""

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_deliveries < 1 or self.concurrency < 1:
            raise ValueError("batch_size, max_deliveries and concurrency must be at least 1")
        if min(self.block_seconds, self.claim_idle_seconds, self.reclaim_interval_seconds) <= 0:
            raise ValueError("block, claim idle and reclaim interval must be positive")

    @property
    def touch_interval_seconds(self) -> float:
        """How often a consumer touches what it holds: three times per claim_idle."""
        return self.claim_idle_seconds / 3

    @property
    def claim_idle_ms(self) -> int:
        """claim_idle for XAUTOCLAIM: at least 1 ms (0 would claim what is in hand)."""
        return max(1, int(self.claim_idle_seconds * 1000))
