"""Concurrent webhook requests share one Redis round trip for their stream writes.

Each request hands its event to :class:`IngressBatcher` and waits for its own
entry id. One writer task takes whatever is queued, writes it in one Redis
round trip and wakes every waiter of that batch with its entry id or its
error. With a :class:`~begasist_core.bus.replication.ReplicaWait`
(``BEGASIST_REDIS_WAIT_REPLICAS``) that round trip ends with one ``WAIT`` for
the whole batch, and a batch fewer replicas acknowledged in time fails as a
whole: its requests answer 503 and their providers retry.

An idle batcher writes a lone event at once; only events that arrived while a
write was in flight wait for the next one, so batching adds no latency of its
own.

Nothing trims an ingress stream before its bot has read and acknowledged it
(:mod:`begasist_core.bus.trimming`), so a hotel whose bot is down keeps every
webhook; with a *backlog*, a hotel whose bot is that many entries behind is
refused (503: the provider retries later) instead of growing Redis without end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

import anyio
from anyio.abc import TaskStatus
from begasist_core import Event, Publisher, encode_event
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_core.bus.replication import ReplicaWait, add_wait, check_wait
from begasist_core.metrics import EVENTS_PUBLISHED, stream_kind
from redis.asyncio import Redis
from redis.exceptions import RedisError

from begasist_suite.ingress.backlog import IngressBacklog

__all__ = [
    "DEFAULT_CAPACITY",
    "MAX_BATCH",
    "IngressBatcher",
    "IngressUnavailable",
]

log = logging.getLogger(__name__)

DEFAULT_CAPACITY: Final = 4096
"""Events queued (not yet written) before new requests are refused with 503."""

MAX_BATCH: Final = 512
"""Events per round trip: Redis serves no one else while it runs a batch's commands."""


class IngressUnavailable(Exception):
    """The event was not stored: the queue is full, the batcher stopped, or the write failed."""


@dataclass(slots=True, eq=False)
class _Pending:
    stream: str
    event: Event
    done: anyio.Event = field(default_factory=anyio.Event)
    entry_id: bytes | None = None
    error: BaseException | None = None


class IngressBatcher:
    """Writes events to streams, batching those of concurrent callers.

    Run :meth:`run` in a task group (``await tasks.start(batcher.run)``) and
    call :meth:`stop` to end it: what was queued is written first.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        capacity: int = DEFAULT_CAPACITY,
        backlog: IngressBacklog | None = None,
        backlog_limit: int | None = None,
        wait: ReplicaWait | None = None,
    ) -> None:
        self._redis = redis
        self._wait = wait
        self._publisher = Publisher(redis, wait=wait)
        self._backlog = backlog
        self._backlog_limit = backlog_limit
        self._send, self._receive = anyio.create_memory_object_stream[_Pending](capacity)
        self._running = False

    async def publish(self, stream: str, event: Event) -> bytes:
        """Append *event* to *stream*; its entry id once Redis has it, else IngressUnavailable.

        Refused without writing while *event*'s hotel's bot is ``backlog_limit`` entries
        behind on its ingress stream (measured at most once a second).
        """
        if self._backlog is not None and self._backlog_limit is not None:
            try:
                behind = await self._backlog.entries(event.hotel)
            except RedisError as error:
                raise IngressUnavailable("the hotel's backlog is unknown") from error
            if behind >= self._backlog_limit:
                raise IngressUnavailable(f"the hotel's bot is {behind} entries behind")
        pending = _Pending(stream, event)
        try:
            self._send.send_nowait(pending)
        except anyio.WouldBlock:
            raise IngressUnavailable("ingress queue full") from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise IngressUnavailable("ingress stopped") from None
        await pending.done.wait()
        if pending.error is not None:
            raise IngressUnavailable("stream write failed") from pending.error
        assert pending.entry_id is not None
        return pending.entry_id

    def stop(self) -> None:
        """Refuse new events; :meth:`run` returns once the queued ones are written."""
        self._send.close()

    def abandon(self) -> None:
        """Close both ends if :meth:`run` never started (an app whose start failed first:
        nothing was served, so nothing is queued); no effect once it has."""
        if not self._running:
            self._send.close()
            self._receive.close()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._running = True
        task_status.started()
        async with self._receive:
            async for first in self._receive:
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                # A cancelled request must not cancel its batch-mates' write.
                with anyio.CancelScope(shield=True):
                    await self._write(batch)

    async def _write(self, batch: list[_Pending]) -> None:
        # Measured (docs/benchmarks.md): one stream, core's one-script publish_many is
        # ~1.8x a pipeline of XADDs; several streams, one pipeline beats a script call
        # per stream ~3x, as it stays one round trip.
        results: list[bytes | BaseException]
        try:
            if all(pending.stream == batch[0].stream for pending in batch):
                events = [pending.event for pending in batch]
                results = [*await self._publisher.publish_many(batch[0].stream, events)]
            else:
                results = await self._pipeline(batch)
        except Exception as error:
            results = [error] * len(batch)
        failed = sum(isinstance(result, BaseException) for result in results)
        if failed:
            log.warning(
                "ingress: %d of %d events not written: %s",
                failed,
                len(batch),
                next(result for result in results if isinstance(result, BaseException)),
            )
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                pending.error = result
            else:
                pending.entry_id = result
            pending.done.set()

    async def _pipeline(self, batch: list[_Pending]) -> list[bytes | BaseException]:
        """One XADD per event in one round trip; a failed command fails only its event.

        With a wait, ``WAIT`` ends the round trip; too few replicas fail every event.
        """
        pipe = self._redis.pipeline(transaction=False)
        for pending in batch:
            # Untrimmed: the bot trims what it has acknowledged (begasist_core.bus.trimming).
            pipe.xadd(pending.stream, {ENTRY_FIELD: encode_event(pending.event)})
        if self._wait is not None:
            add_wait(pipe, self._wait)
        results: list[bytes | BaseException] = await pipe.execute(raise_on_error=False)
        if self._wait is not None:
            check_wait(results.pop(), self._wait)
        for pending, result in zip(batch, results, strict=True):
            if not isinstance(result, BaseException):  # publish_many counts its own
                EVENTS_PUBLISHED.labels(stream_kind(pending.stream)).inc()
        return results
