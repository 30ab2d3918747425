"""A partitioned consumer's queues: one per key, each handled in order, several at once."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import anyio
from anyio.abc import TaskGroup

from begasist_core.bus.triage import Ready

__all__ = ["Partitions"]


class Partitions:
    """Entries queued per partition key; a worker per non-empty queue handles it in order.

    At most *concurrency* workers handle at once. *handle* runs one entry and
    says whether it succeeded; its exception stops every worker before its
    next entry and is kept in :attr:`failure`. A succeeded entry is passed to
    *handled* before it leaves :attr:`in_flight`, with no await between, so
    the consumer always knows it holds the entry until it is acked.
    """

    def __init__(
        self,
        workers: TaskGroup,
        *,
        concurrency: int,
        handle: Callable[[Ready], Awaitable[bool]],
        handled: Callable[[bytes], None],
        stopping: Callable[[], bool],
    ) -> None:
        self._workers = workers
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._handle = handle
        self._handled = handled
        self._stopping = stopping
        self._queues: dict[str, deque[Ready]] = {}
        self.in_flight: set[bytes] = set()
        """Entries queued here or being handled."""
        self.failure: Exception | None = None
        """The first guard or Redis error: nothing new starts, and it leaves the pipeline."""
        self.progressed = anyio.Event()
        """Set whenever an entry leaves :attr:`in_flight` (replace it to wait again)."""

    @property
    def going(self) -> bool:
        return self.failure is None and not self._stopping()

    def enqueue(self, ready: Ready, key: str) -> None:
        """Queue *ready* behind *key*'s entries, starting a worker where none runs."""
        self.in_flight.add(ready[0].entry_id)
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(ready)
        else:
            self._queues[key] = deque([ready])
            self._workers.start_soon(self._drain, key)

    async def _drain(self, key: str) -> None:
        """Handle *key*'s queue in order until it is empty, the pipeline stops or fails."""
        async with self._limiter:
            queue = self._queues[key]
            while queue and self.going:
                ready = queue[0]
                try:
                    succeeded = await self._handle(ready)
                except Exception as error:
                    self.failure = self.failure or error
                    break
                queue.popleft()
                entry_id = ready[0].entry_id
                if succeeded:
                    self._handled(entry_id)
                self.in_flight.discard(entry_id)
                self.progressed.set()
            # No await between the last look at the queue and this: an entry
            # enqueued from now on starts a new worker behind this one.
            del self._queues[key]
