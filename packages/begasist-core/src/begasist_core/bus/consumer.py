"""Consuming a stream in a consumer group: at-least-once, reclaim, dead letters."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Final, cast

import anyio
from anyio.abc import TaskStatus
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
    """Partitions of a batch handled at once (with a *partition* function; see
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
      ``concurrency`` keys at a time). A bot partitions outbound messages by
      conversation, so one slow provider call does not hold up every guest
      while each guest still gets their messages in order.
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

    async def _read_new_entries(self) -> Sequence[Entry]:
        # Wake up in time for the next reclaim; BLOCK 0 would mean "forever".
        until_reclaim = self._next_reclaim - anyio.current_time()
        block_ms = max(1, min(self._block_ms, int(until_reclaim * 1000)))
        response: Any = None
        with self._interruptible():
            response = await self._redis.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: b">"},
                count=self._options.batch_size,
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
        if self._partition is None or self._options.concurrency == 1:
            for entry_id, fields in entries:
                if self._stopping:
                    break
                self._check_guard()
                ready = await self._decoded(entry_id, fields, counts)
                if ready is not None:
                    await self._handle_one(*ready, handled)
            return
        # Concurrent: entries of one partition in stream order, partitions side by side.
        partitions: dict[str, list[tuple[Delivery, bytes, Event]]] = {}
        for entry_id, fields in entries:
            ready = await self._decoded(entry_id, fields, counts)
            if ready is not None:
                partitions.setdefault(self._partition_of(ready[2]), []).append(ready)
        limiter = anyio.CapacityLimiter(self._options.concurrency)
        # A guard's or Redis's exception in one partition must neither cancel the
        # handlers in flight in the others (a send cut between the provider's
        # acceptance and its record) nor leave run() wrapped in an ExceptionGroup
        # that its outage handling cannot catch: note it, start nothing new, and
        # raise it as a sequential batch would once the others are done.
        failures: list[Exception] = []

        async def handle_partition(items: list[tuple[Delivery, bytes, Event]]) -> None:
            async with limiter:
                for item in items:
                    if self._stopping or failures:
                        return
                    try:
                        self._check_guard()
                        await self._handle_one(*item, handled)
                    except Exception as error:
                        failures.append(error)
                        return

        async with anyio.create_task_group() as group:
            for items in partitions.values():
                group.start_soon(handle_partition, items)
        if failures:
            raise failures[0]

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
                    await self._redis.xclaim(
                        self.stream,
                        self.group,
                        self.consumer,
                        0,
                        cast("list[StreamIdT]", entry_ids),
                        idle=HAND_BACK_IDLE_MS,
                        justid=True,
                    )
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
