"""Consuming a stream in a consumer group: at-least-once, reclaim, dead letters."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, cast

import anyio
from anyio.abc import TaskGroup, TaskStatus
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from redis.typing import StreamIdT

from begasist_core.backoff import Backoff
from begasist_core.bus.connection import REDIS_UNAVAILABLE, RedisOutage, redis_label
from begasist_core.bus.dead_letters import DeadLetters
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_core.events.codec import EventDecodeError, decode_event
from begasist_core.events.envelope import Event

__all__ = [
    "BatchScope",
    "ConsumerOptions",
    "Delivery",
    "Handler",
    "RejectedEvent",
    "StreamConsumer",
]

HAND_BACK_IDLE_MS: Final = 365 * 24 * 3600 * 1000
"""Idle time given to handed-back entries: past any claim_idle, so they are claimable now.

Not larger: Redis computes ``now - IDLE`` and treats a negative result as "now".
"""

_HAND_BACK_PAGE: Final = 1000
_NO_ERROR_NOTED: Final = (
    "no error noted: a consumer took the entry and never acked it (it died or hung)"
)

Entry = tuple[bytes, dict[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a handled event came from, and how many times it has been delivered (1 = first)."""

    stream: str
    entry_id: bytes
    deliveries: int


BatchScope = Callable[[], AbstractAsyncContextManager[object]]
"""Opens a scope around the handling of one batch (a store transaction, say)."""

_Ready = tuple[Delivery, bytes, Event]


@dataclass(eq=False)
class _Pipeline:
    """Concurrent mode's state: entries read and not yet done, queued per partition."""

    workers: TaskGroup
    limiter: anyio.CapacityLimiter
    queues: dict[str, deque[_Ready]] = field(default_factory=dict)
    in_flight: set[bytes] = field(default_factory=set)
    """Entries read (or reclaimed) and not yet handled: queued or being handled."""
    handled: list[bytes] = field(default_factory=list)
    """Handled entries not yet acked."""
    failure: Exception | None = None
    """The first guard or Redis error: nothing new starts, and it leaves the pipeline."""
    progressed: anyio.Event = field(default_factory=anyio.Event)


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
    """Tuning of a :class:`StreamConsumer`; the defaults suit production."""

    batch_size: int = 100
    """Entries read (and acked) per round trip."""
    block_seconds: float = 1.0
    """Longest wait for new entries; kept below the client's socket timeout."""
    claim_idle_seconds: float = 30.0
    """An entry pending this long without an ack is taken over from its consumer.

    Keep it above the slowest handler's run time: a handler still busy after
    this long is presumed dead, and another consumer starts the entry again.
    """
    reclaim_interval_seconds: float = 5.0
    max_deliveries: int = 5
    """Handler attempts per entry; after the last one fails it goes to the dead stream."""
    concurrency: int = 1
    """Partitions handled at once (with a *partition* function; see
    :class:`StreamConsumer`). 1 handles every entry in stream order."""

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_deliveries < 1 or self.concurrency < 1:
            raise ValueError("batch_size, max_deliveries and concurrency must be at least 1")
        if min(self.block_seconds, self.claim_idle_seconds, self.reclaim_interval_seconds) <= 0:
            raise ValueError("block, claim idle and reclaim interval must be positive")


class StreamConsumer:
    """Feeds one stream's entries to *handler*, as *consumer* of *group*, at least once.

    * An entry is acked only after the handler returned; the acks of a batch go
      in one round trip. A handler that raises leaves its entry pending (its
      error noted in Redis) and the batch goes on.
    * Entries idle longer than ``claim_idle_seconds`` (their consumer died or
      failed) are reclaimed every ``reclaim_interval_seconds`` and handled again;
      after ``max_deliveries`` attempts an entry is buried in the dead stream
      with its last error.
    * An entry that is not a valid event is buried at once with the reason.
    * Redis errors never end :meth:`run`: it logs once (:class:`RedisOutage`),
      backs off, and carries on, recreating the group if Redis lost it.
    * *guard*, if given, is called before every read, reclaim and entry; an
      exception from it ends :meth:`run` (after handing back what it holds).
      A bot passes its lease check, so it never acts on an expired lease.
    * *batch_scope*, if given, is entered around the handling of each batch
      and the batch is acked only after the scope exited without an error:
      the suite passes its store's transaction, so a batch's effects become
      durable in one commit before their entries are acked. A handler that
      raises must leave nothing of its own behind in that scope (the suite
      handles each event in a savepoint); if leaving the scope raises, no
      entry of the batch is acked, and all of them are delivered again.
    * *partition*, with ``options.concurrency`` above 1, maps an event to a
      key: entries with the same key are handled one after another in stream
      order, entries with different keys concurrently (at most
      ``concurrency`` keys at a time). Reading goes on while entries are
      handled, up to ``batch_size`` entries in flight, and handled entries
      are acked before each read, so one slow entry holds up only its own
      key. A bot partitions outbound messages by conversation: one slow
      provider call does not hold up every guest, and each guest still gets
      their messages in order. A guard's or Redis's error in a handler stops
      new work, lets the handlers in flight finish, and then leaves the
      pipeline as it would a sequential batch (an entry left queued is
      reclaimed later). Not combined with *batch_scope*.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        stream: str,
        group: str,
        consumer: str,
        handler: Handler,
        dead_letters: DeadLetters,
        options: ConsumerOptions = ConsumerOptions(),
        logger: logging.Logger | None = None,
        backoff: Backoff | None = None,
        guard: Callable[[], None] | None = None,
        batch_scope: BatchScope | None = None,
        partition: Callable[[Event], str] | None = None,
    ) -> None:
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._redis = redis
        self._handler = handler
        self._dead = dead_letters
        self._options = options
        self._log = logger or logging.getLogger("begasist.bus")
        self._outage = RedisOutage(redis_label(redis), logger=self._log, backoff=backoff)
        self._error_backoff = Backoff()
        self._block_ms = _block_ms(redis, options.block_seconds)
        self._group_ready = False
        self._stopping = False
        self._interrupt: anyio.CancelScope | None = None
        self._next_reclaim = 0.0
        self._guard = guard
        self._batch_scope = batch_scope
        self._partition = partition
        if partition is not None and batch_scope is not None and options.concurrency > 1:
            raise ValueError("a partitioned consumer takes no batch scope")
        self._pipeline: _Pipeline | None = None

    def stop(self) -> None:
        """Stop gracefully: no new entries; the handler in flight finishes and is acked.

        The rest of the current batch is handed back (made claimable by any
        other consumer at once, its delivery count unchanged); then :meth:`run`
        returns. Call it from the event loop's thread.
        """
        self._stopping = True
        if self._interrupt is not None:
            self._interrupt.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Consume until :meth:`stop` (then return) or cancellation.

        *task_status* is started once the group exists: from then on nothing
        published to the stream is missed. The group is created at id ``0``,
        so entries published before it existed are consumed too.
        """
        started = False
        try:
            while not self._stopping:
                try:
                    if not self._group_ready:
                        await self._create_group()
                    if not started:
                        task_status.started()
                        started = True
                    await self._step()
                except REDIS_UNAVAILABLE as error:
                    with self._interruptible():
                        await self._outage.failed(error)
                except RedisError as error:
                    await self._on_redis_error(error)
                else:
                    self._outage.succeeded()
                    self._error_backoff.reset()
        finally:
            if started:
                # Also when cancelled (a drain that ran out of time, a lost lease):
                # what this consumer holds is claimable at once, not after claim_idle.
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    try:
                        await self._hand_back()
                    except RedisError as error:
                        self._log.warning("%s: could not hand back: %s", self.stream, error)
        if not started:
            # Stopped before the group existed: nothing was read, nothing to hand back.
            task_status.started()

    async def _step(self) -> None:
        if self._partition is not None and self._options.concurrency > 1:
            await self._run_pipeline()
            return
        self._check_guard()
        if anyio.current_time() >= self._next_reclaim:
            await self._reclaim_stale_entries()
            self._next_reclaim = anyio.current_time() + self._options.reclaim_interval_seconds
        entries = await self._read_new_entries()
        if entries:
            await self._process(entries, None)

    async def _create_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):
                raise
        self._group_ready = True

    async def _read_new_entries(self, count: int | None = None) -> Sequence[Entry]:
        # Wake up in time for the next reclaim; BLOCK 0 would mean "forever".
        until_reclaim = self._next_reclaim - anyio.current_time()
        block_ms = max(1, min(self._block_ms, int(until_reclaim * 1000)))
        response: Any = None
        with self._interruptible():
            response = await self._redis.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: b">"},
                count=count or self._options.batch_size,
                block=block_ms,
            )
        return response[0][1] if response else ()

    async def _process(self, entries: Sequence[Entry], counts: dict[bytes, int] | None) -> None:
        """Handle *entries* in order; ack the handled ones in one round trip."""
        handled: list[bytes] = []
        try:
            if self._batch_scope is None:
                await self._handle_each(entries, counts, handled)
            else:
                try:
                    async with self._batch_scope():
                        await self._handle_each(entries, counts, handled)
                except Exception as error:
                    # The scope did not complete, so nothing of the batch is durable:
                    # ack none of it; each entry comes back by reclaim (and counts
                    # toward max_deliveries), and the loop goes on.
                    self._log.warning(
                        "%s: a batch of %d entries failed to complete, none acked: %s: %s",
                        self.stream,
                        len(handled),
                        type(error).__name__,
                        error,
                    )
                    handled.clear()
                except BaseException:
                    handled.clear()  # cancelled: nothing of the batch is durable
                    raise
        finally:
            if handled:
                await self._redis.xack(self.stream, self.group, *handled)

    async def _handle_each(
        self, entries: Sequence[Entry], counts: dict[bytes, int] | None, handled: list[bytes]
    ) -> None:
        for entry_id, fields in entries:
            if self._stopping:
                break
            self._check_guard()
            ready = await self._decoded(entry_id, fields, counts)
            if ready is not None:
                await self._handle_one(*ready, handled)

    async def _run_pipeline(self) -> None:
        """Concurrent mode: read, queue per partition and handle, until stopped or failed."""
        async with anyio.create_task_group() as workers:
            pipeline = _Pipeline(workers, anyio.CapacityLimiter(self._options.concurrency))
            self._pipeline = pipeline
            try:
                while not self._stopping and pipeline.failure is None:
                    self._check_guard()
                    await self._ack_handled(pipeline)
                    if anyio.current_time() >= self._next_reclaim:
                        if pipeline.in_flight:
                            # Entries queued here look idle to Redis: touch them, or
                            # the reclaim below would take them (and count deliveries).
                            await self._keep_claimed(list(pipeline.in_flight))
                        await self._reclaim_stale_entries()
                        self._next_reclaim = (
                            anyio.current_time() + self._options.reclaim_interval_seconds
                        )
                    free = self._options.batch_size - len(pipeline.in_flight)
                    if free <= 0:
                        pipeline.progressed = anyio.Event()
                        until_reclaim = max(0.0, self._next_reclaim - anyio.current_time())
                        with self._interruptible(), anyio.move_on_after(until_reclaim):
                            await pipeline.progressed.wait()
                        continue
                    entries = await self._read_new_entries(free)
                    await self._dispatch(pipeline, entries, None)
            except Exception as error:
                # The workers start nothing new; the task group waits for their
                # handlers in flight (a send is never cut between its provider's
                # answer and its record).
                pipeline.failure = pipeline.failure or error
            finally:
                self._pipeline = None
        try:
            await self._ack_handled(pipeline)
            if pipeline.in_flight:
                # Read but never started: claimable at once (the next reclaim, or
                # another consumer's), not after claim_idle.
                await self._claimable_now(sorted(pipeline.in_flight))
                self._next_reclaim = anyio.current_time()
        except RedisError as error:
            pipeline.failure = pipeline.failure or error
        if pipeline.failure is not None:
            raise pipeline.failure

    async def _dispatch(
        self, pipeline: _Pipeline, entries: Sequence[Entry], counts: dict[bytes, int] | None
    ) -> None:
        """Queue *entries* behind their partition's, starting a worker where none runs."""
        for entry_id, fields in entries:
            if entry_id in pipeline.in_flight:
                continue  # reclaimed while still queued here: it is coming
            ready = await self._decoded(entry_id, fields, counts)
            if ready is None:
                continue
            key = self._partition_of(ready[2])
            pipeline.in_flight.add(entry_id)
            queue = pipeline.queues.get(key)
            if queue is not None:
                queue.append(ready)
            else:
                pipeline.queues[key] = deque([ready])
                pipeline.workers.start_soon(self._drain_partition, pipeline, key)

    async def _drain_partition(self, pipeline: _Pipeline, key: str) -> None:
        """Handle *key*'s queue in order until it is empty, the pipeline stops or fails."""
        async with pipeline.limiter:
            queue = pipeline.queues[key]
            while queue and not self._stopping and pipeline.failure is None:
                delivery, raw, event = queue[0]
                try:
                    self._check_guard()
                    await self._handle_one(delivery, raw, event, pipeline.handled)
                except Exception as error:
                    pipeline.failure = pipeline.failure or error
                    break
                queue.popleft()
                pipeline.in_flight.discard(delivery.entry_id)
                pipeline.progressed.set()
            # No await between the last look at the queue and this: an entry
            # dispatched from now on starts a new worker behind this one.
            del pipeline.queues[key]

    async def _ack_handled(self, pipeline: _Pipeline) -> None:
        if pipeline.handled:
            done, pipeline.handled = pipeline.handled, []
            try:
                await self._redis.xack(self.stream, self.group, *done)
            except BaseException:
                pipeline.handled[:0] = done  # acked by the next try, or handed back
                raise

    def _partition_of(self, event: Event) -> str:
        assert self._partition is not None
        try:
            return self._partition(event)
        except Exception as error:  # a bad key function must not lose the entry
            self._log.warning(
                "%s: partition key failed (%s); entry handled alone", self.stream, error
            )
            return f"\x00{event.id}"

    async def _decoded(
        self, entry_id: bytes, fields: dict[bytes, bytes], counts: dict[bytes, int] | None
    ) -> tuple[Delivery, bytes, Event] | None:
        """The entry's delivery, raw JSON and event; ``None`` if it was buried as unreadable."""
        deliveries = 1 if counts is None else counts.get(entry_id, 1)
        raw = fields.get(ENTRY_FIELD)
        if raw is None:
            await self._bury_malformed(entry_id, fields, deliveries)
            return None
        try:
            event = decode_event(raw)
        except EventDecodeError as error:
            await self._bury(entry_id, raw, error.reason, str(error), deliveries)
            return None
        except Exception as error:  # decode_event promises otherwise; never die of an entry
            text = f"{type(error).__name__}: {error}"
            await self._bury(entry_id, raw, "malformed", text, deliveries)
            return None
        return Delivery(self.stream, entry_id, deliveries), raw, event

    async def _handle_one(
        self, delivery: Delivery, raw: bytes, event: Event, handled: list[bytes]
    ) -> None:
        try:
            await self._handler(event, delivery)
        except RejectedEvent as rejected:
            await self._bury(
                delivery.entry_id, raw, rejected.reason, str(rejected), delivery.deliveries
            )
        except Exception as error:
            await self._handler_failed(delivery, raw, error)
        else:
            handled.append(delivery.entry_id)

    def _check_guard(self) -> None:
        # The guard (a bot's lease check) raises to stop this consumer: its
        # exception leaves run(), unlike a handler's, which is counted and retried.
        if self._guard is not None:
            self._guard()

    async def _handler_failed(self, delivery: Delivery, raw: bytes, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"
        last = delivery.deliveries >= self._options.max_deliveries
        self._log.warning(
            "%s: handler failed on entry %s (delivery %d of %d%s): %s",
            self.stream,
            delivery.entry_id.decode(),
            delivery.deliveries,
            self._options.max_deliveries,
            ", burying it" if last else ", will retry",
            text,
            exc_info=error,
        )
        if last:
            await self._bury(delivery.entry_id, raw, "handler_failed", text, delivery.deliveries)
        else:
            await self._dead.note_error(
                source_stream=self.stream, group=self.group, source_id=delivery.entry_id, error=text
            )

    async def _reclaim_stale_entries(self) -> None:
        """Take over entries other consumers left idle; bury those out of deliveries."""
        cursor: bytes = b"0-0"
        while not self._stopping:
            reply = await self._redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=int(self._options.claim_idle_seconds * 1000),
                start_id=cursor,
                count=self._options.batch_size,
            )
            cursor, claimed = reply[0], [entry for entry in reply[1] if entry[1] is not None]
            # Redis 7 drops entries trimmed from the stream while pending and
            # lists their ids third: they are gone, say so.
            if len(reply) > 2 and reply[2]:
                self._log.warning(
                    "%s: %d pending entries were trimmed before they were acked: %s",
                    self.stream,
                    len(reply[2]),
                    b", ".join(reply[2][:10]).decode(),
                )
            if claimed:
                await self._handle_reclaimed(claimed)
            if cursor in (b"0-0", "0-0"):
                return

    async def _handle_reclaimed(self, claimed: Sequence[Entry]) -> None:
        counts = await self._delivery_counts([entry_id for entry_id, _ in claimed])
        retry: list[Entry] = []
        for entry_id, fields in claimed:
            # The claim itself counted as a delivery: the handler has seen it one time less.
            count = counts.get(entry_id, 1)
            if count <= self._options.max_deliveries:
                retry.append((entry_id, fields))
                continue
            error = await self._dead.noted_error(
                source_stream=self.stream, group=self.group, source_id=entry_id
            )
            payload = fields.get(ENTRY_FIELD) or _fields_as_json(fields)
            error = error or _NO_ERROR_NOTED
            await self._bury(entry_id, payload, "handler_failed", error, count - 1)
        self._log.info("%s: reclaimed %d idle entries", self.stream, len(claimed))
        if self._pipeline is not None:
            await self._dispatch(self._pipeline, retry, counts)
        else:
            await self._process(retry, counts)

    async def _delivery_counts(self, entry_ids: Sequence[bytes]) -> dict[bytes, int]:
        # XPENDING's extended form, one exact range per entry, all in one round trip.
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
            replies: list[list[dict[str, Any]]] = await pipe.execute()
        return {info["message_id"]: info["times_delivered"] for reply in replies for info in reply}

    async def _bury_malformed(
        self, entry_id: bytes, fields: dict[bytes, bytes], deliveries: int
    ) -> None:
        names = ", ".join(sorted(name.decode(errors="replace") for name in fields))
        error = f"entry has no {ENTRY_FIELD.decode()!r} field (fields: {names or 'none'})"
        await self._bury(entry_id, _fields_as_json(fields), "malformed", error, deliveries)

    async def _bury(
        self, entry_id: bytes, payload: bytes, reason: str, error: str, deliveries: int
    ) -> None:
        dead_id = await self._dead.bury(
            source_stream=self.stream,
            source_id=entry_id,
            group=self.group,
            payload=payload,
            reason=reason,
            error=error,
            deliveries=deliveries,
        )
        self._log.warning(
            "%s: entry %s buried as %s (%s): %s",
            self.stream,
            entry_id.decode(),
            dead_id.decode(),
            reason,
            error,
        )

    async def _keep_claimed(self, entry_ids: Sequence[bytes]) -> None:
        """Reset the idle time of entries this consumer is working on (JUSTID: the
        delivery counts stay)."""
        await self._redis.xclaim(
            self.stream,
            self.group,
            self.consumer,
            0,
            cast("list[StreamIdT]", list(entry_ids)),
            justid=True,
        )

    async def _claimable_now(self, entry_ids: Sequence[bytes]) -> None:
        """XCLAIM *entry_ids* to ourselves with JUSTID (delivery counts unchanged) and
        an IDLE past any claim_idle, so the next XAUTOCLAIM anywhere takes them."""
        await self._redis.xclaim(
            self.stream,
            self.group,
            self.consumer,
            0,
            cast("list[StreamIdT]", list(entry_ids)),
            idle=HAND_BACK_IDLE_MS,
            justid=True,
        )

    async def _hand_back(self) -> None:
        """Make every entry this consumer still holds claimable by others at once.

        XCLAIM to ourselves with JUSTID (which leaves the delivery count alone)
        and an IDLE past any claim_idle, so the next XAUTOCLAIM anywhere takes them.
        """
        handed = 0
        start: bytes | str = "-"
        try:
            while True:
                pending = await self._redis.xpending_range(
                    self.stream, self.group, start, "+", _HAND_BACK_PAGE, self.consumer
                )
                entry_ids = [cast(bytes, info["message_id"]) for info in pending]
                if entry_ids:
                    await self._claimable_now(entry_ids)
                    handed += len(entry_ids)
                if len(entry_ids) < _HAND_BACK_PAGE:
                    break
                start = b"(" + entry_ids[-1]
        except RedisError as error:
            self._log.warning(
                "%s: could not hand back in-flight entries (they are reclaimed after %gs): %s",
                self.stream,
                self._options.claim_idle_seconds,
                error,
            )
            return
        if handed:
            self._log.info("%s: handed back %d unprocessed entries", self.stream, handed)

    async def _on_redis_error(self, error: RedisError) -> None:
        if str(error).startswith("NOGROUP"):
            # The stream (and its group) vanished: deleted, or Redis restarted
            # empty. Recreate the group at once; nothing can have been lost.
            self._log.warning("%s: group %s is gone; recreating it", self.stream, self.group)
            self._group_ready = False
            return
        delay = self._error_backoff.next_delay()
        self._log.error(
            "%s: unexpected Redis error (%s); retrying in %.1fs", self.stream, error, delay
        )
        with self._interruptible():
            await anyio.sleep(delay)

    @contextmanager
    def _interruptible(self) -> Iterator[None]:
        """A wait that :meth:`stop` cuts short (a blocking read, a backoff sleep)."""
        with anyio.CancelScope() as scope:
            if self._stopping:
                scope.cancel()
            self._interrupt = scope
            try:
                yield
            finally:
                self._interrupt = None


def _block_ms(redis: Redis, block_seconds: float) -> int:
    socket_timeout = redis.connection_pool.connection_kwargs.get("socket_timeout")
    if socket_timeout:
        # A read blocked past the socket timeout would look like an outage.
        block_seconds = min(block_seconds, float(socket_timeout) / 2)
    return max(1, int(block_seconds * 1000))


def _fields_as_json(fields: dict[bytes, bytes]) -> bytes:
    document = {
        name.decode(errors="replace"): value.decode(errors="replace")
        for name, value in fields.items()
    }
    return json.dumps(document, sort_keys=True).encode()
