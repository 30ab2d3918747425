"""Consuming a stream in a consumer group: at-least-once, reclaim, dead letters."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import anyio
from anyio.abc import TaskStatus
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from begasist_core.backoff import Backoff
from begasist_core.bus.claims import Claims, Entry
from begasist_core.bus.connection import REDIS_UNAVAILABLE, RedisOutage, redis_label
from begasist_core.bus.dead_letters import DeadLetters
from begasist_core.bus.handling import (
    BatchScope,
    ConsumerOptions,
    Delivery,
    Handler,
    RejectedEvent,
)
from begasist_core.bus.partitions import Partitions
from begasist_core.bus.triage import Ready, Triage
from begasist_core.bus.trimming import StreamTrimmer
from begasist_core.events.envelope import Event

__all__ = [
    "BatchScope",
    "ConsumerOptions",
    "Delivery",
    "Handler",
    "RejectedEvent",
    "StreamConsumer",
]

DEFAULT_OPTIONS: Final = ConsumerOptions()


class StreamConsumer:
    """Feeds one stream's entries to *handler*, as *consumer* of *group*, at least once.

    * An entry is acked only after the handler returned, and exactly once: the
      acks of a batch go in one round trip, and an ack that fails (Redis went
      away) is retried before anything else, so the entry is never handled
      again. A handler that raises leaves its entry pending (its error noted
      in Redis) and the batch goes on.
    * Entries this consumer holds (read and not yet acked) are touched three
      times per ``claim_idle_seconds``, so no consumer reclaims them from a
      live one. Entries idle longer than that (their consumer died or failed)
      are reclaimed every ``reclaim_interval_seconds`` and handled again;
      after ``max_deliveries`` attempts an entry is buried in the dead stream
      with its last error. Each reclaim also trims the stream of what every
      group has acknowledged (:class:`~begasist_core.bus.trimming.StreamTrimmer`).
    * *take_over*: the first reclaim takes every entry pending in the group at
      once, whatever its idle time (delivery counts and ``max_deliveries``
      apply as to any reclaim). Only for a consumer that knows every other
      consumer of its group has stopped: a bot that has just taken its
      hotel's lease, whose previous holder's lease expired.
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
        options: ConsumerOptions = DEFAULT_OPTIONS,
        logger: logging.Logger | None = None,
        backoff: Backoff | None = None,
        guard: Callable[[], None] | None = None,
        batch_scope: BatchScope | None = None,
        partition: Callable[[Event], str] | None = None,
        take_over: bool = False,
    ) -> None:
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._redis = redis
        self._claims = Claims(redis, stream=stream, group=group, consumer=consumer)
        self._trimmer = StreamTrimmer(redis)
        self._handler = handler
        self._options = options
        self._log = logger or logging.getLogger("begasist.bus")
        self._triage = Triage(
            dead_letters,
            stream=stream,
            group=group,
            max_deliveries=options.max_deliveries,
            logger=self._log,
        )
        self._outage = RedisOutage(redis_label(redis), logger=self._log, backoff=backoff)
        self._error_backoff = Backoff()
        self._block_ms = _block_ms(redis, options.block_seconds)
        self._group_ready = False
        self._stopping = False
        self._interrupt: anyio.CancelScope | None = None
        self._next_reclaim = 0.0
        self._next_touch = 0.0
        self._take_over = take_over
        self._guard = guard
        self._batch_scope = batch_scope
        self._partition = partition
        if partition is not None and batch_scope is not None and options.concurrency > 1:
            raise ValueError("a partitioned consumer takes no batch scope")
        self._pipeline: Partitions | None = None
        self._unacked: set[bytes] = set()
        """Entries handled successfully and not acked yet. On the consumer, not on a
        batch or a pipeline: an ack that failed is retried by whatever runs next."""

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
        await self._ack_handled()
        await self._upkeep()
        entries = await self._read_new_entries()
        if entries:
            # Just delivered: the batch is fresh until the next touch is due.
            self._next_touch = anyio.current_time() + self._options.touch_interval_seconds
            await self._process(entries, None)

    async def _create_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):
                raise
        self._group_ready = True

    async def _upkeep(self) -> None:
        """Reclaim when due (touching what is held first); else touch it when due."""
        now = anyio.current_time()
        if now >= self._next_reclaim:
            await self._reclaim_stale_entries()
            # What every group is done with goes now (bus/trimming.py), never more.
            await self._trimmer.trim(self.stream)
            self._next_reclaim = anyio.current_time() + self._options.reclaim_interval_seconds
        elif now >= self._next_touch:
            await self._touch(self._held())

    def _until_upkeep(self) -> float:
        return max(0.0, min(self._next_reclaim, self._next_touch) - anyio.current_time())

    def _held(self) -> set[bytes]:
        """Entries read here and not acked yet (a sequential batch adds its own)."""
        if self._pipeline is None:
            return set(self._unacked)
        return self._pipeline.in_flight | self._unacked

    async def _touch(self, entry_ids: set[bytes]) -> None:
        await self._claims.touch(entry_ids)
        self._next_touch = anyio.current_time() + self._options.touch_interval_seconds

    async def _read_new_entries(self, count: int | None = None) -> Sequence[Entry]:
        # Wake up in time for the next reclaim or touch; BLOCK 0 would mean "forever".
        block_ms = max(1, min(self._block_ms, int(self._until_upkeep() * 1000)))
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
            # Durable: acked below or, if that fails or never comes (cancelled),
            # before anything else this consumer does, hand-back included.
            self._unacked.update(handled)
        await self._ack_handled()

    async def _handle_each(
        self, entries: Sequence[Entry], counts: dict[bytes, int] | None, handled: list[bytes]
    ) -> None:
        for index, (entry_id, fields) in enumerate(entries):
            if self._stopping:
                break
            self._check_guard()
            if anyio.current_time() >= self._next_touch:
                # A long batch: what is still ahead, or done and not yet acked,
                # must not look abandoned to the group's other consumers.
                ahead = {ahead_id for ahead_id, _ in entries[index:]}
                await self._touch(ahead | set(handled) | self._unacked)
            ready = await self._triage.decoded(entry_id, fields, _deliveries(entry_id, counts))
            if ready is not None and await self._handle_one(*ready):
                handled.append(entry_id)

    async def _run_pipeline(self) -> None:
        """Concurrent mode: read, queue per partition and handle, until stopped or failed."""
        async with anyio.create_task_group() as workers:
            pipeline = Partitions(
                workers,
                concurrency=self._options.concurrency,
                handle=self._handle_guarded,
                handled=self._unacked.add,
                stopping=lambda: self._stopping,
            )
            self._pipeline = pipeline
            try:
                while pipeline.going:
                    self._check_guard()
                    await self._ack_handled()
                    await self._upkeep()
                    free = self._options.batch_size - len(pipeline.in_flight)
                    if free <= 0:
                        pipeline.progressed = anyio.Event()
                        with self._interruptible(), anyio.move_on_after(self._until_upkeep()):
                            await pipeline.progressed.wait()
                        continue
                    entries = await self._read_new_entries(free)
                    # Back after an outage: say so now, not when the pipeline ends.
                    self._outage.succeeded()
                    await self._dispatch(pipeline, entries, None)
            except Exception as error:
                # The workers start nothing new; the task group waits for their
                # handlers in flight (a send is never cut between its provider's
                # answer and its record).
                pipeline.failure = pipeline.failure or error
            finally:
                self._pipeline = None
        try:
            await self._ack_handled()
            if pipeline.in_flight:
                # Read but never started: claimable at once (the next reclaim, or
                # another consumer's), not after claim_idle.
                await self._claims.make_claimable(sorted(pipeline.in_flight))
                self._next_reclaim = anyio.current_time()
        except RedisError as error:
            pipeline.failure = pipeline.failure or error
        if pipeline.failure is not None:
            raise pipeline.failure

    async def _dispatch(
        self, pipeline: Partitions, entries: Sequence[Entry], counts: dict[bytes, int] | None
    ) -> None:
        """Queue each readable entry behind its partition's."""
        for entry_id, fields in entries:
            ready = await self._triage.decoded(entry_id, fields, _deliveries(entry_id, counts))
            if ready is not None:
                pipeline.enqueue(ready, self._partition_of(ready[2]))

    async def _handle_guarded(self, ready: Ready) -> bool:
        self._check_guard()
        return await self._handle_one(*ready)

    async def _ack_handled(self) -> None:
        """Ack what was handled; if that fails, it stays to be acked by the next try."""
        if self._unacked:
            done = list(self._unacked)
            await self._claims.ack(done)
            self._unacked.difference_update(done)

    def _partition_of(self, event: Event) -> str:
        assert self._partition is not None
        try:
            return self._partition(event)
        except Exception as error:  # a bad key function must not lose the entry
            self._log.warning(
                "%s: partition key failed (%s); entry handled alone", self.stream, error
            )
            return f"\x00{event.id}"

    async def _handle_one(self, delivery: Delivery, raw: bytes, event: Event) -> bool:
        """Run the handler; True if it succeeded (the entry is to be acked)."""
        try:
            await self._handler(event, delivery)
        except RejectedEvent as rejected:
            await self._triage.rejected(delivery, raw, rejected)
        except Exception as error:
            await self._triage.handler_failed(delivery, raw, error)
        else:
            return True
        return False

    def _check_guard(self) -> None:
        # The guard (a bot's lease check) raises to stop this consumer: its
        # exception leaves run(), unlike a handler's, which is counted and retried.
        if self._guard is not None:
            self._guard()

    async def _reclaim_stale_entries(self) -> None:
        """Take over entries left idle (on a takeover, every pending entry); bury those
        out of deliveries."""
        taking_over = self._take_over
        min_idle_ms = 0 if taking_over else self._options.claim_idle_ms
        cursor = b"0-0"
        while not self._stopping:
            page = await self._claims.claim_idle(
                cursor, min_idle_ms=min_idle_ms, count=self._options.batch_size, keep=self._held()
            )
            self._next_touch = anyio.current_time() + self._options.touch_interval_seconds
            if page.trimmed:
                self._log.warning(
                    "%s: %d pending entries were trimmed before they were acked: %s",
                    self.stream,
                    len(page.trimmed),
                    b", ".join(page.trimmed[:10]).decode(),
                )
            if page.claimed:
                await self._handle_reclaimed(page.claimed, taking_over=taking_over)
            if page.last:
                self._take_over = False
                return
            cursor = page.cursor

    async def _handle_reclaimed(self, claimed: Sequence[Entry], *, taking_over: bool) -> None:
        # What this consumer holds is touched in the claim's own transaction, so
        # only a claim_idle of a millisecond or so (or a takeover) could claim it
        # back: it is in hand, never to be started twice nor counted dead.
        held = self._held()
        claimed = [entry for entry in claimed if entry[0] not in held]
        if not claimed:
            return
        counts = await self._claims.delivery_counts([entry_id for entry_id, _ in claimed])
        retry: list[Entry] = []
        for entry_id, fields in claimed:
            # The claim itself counted as a delivery: the handler has seen it one time less.
            count = counts.get(entry_id, 1)
            if count <= self._options.max_deliveries:
                retry.append((entry_id, fields))
                continue
            await self._triage.out_of_deliveries(entry_id, fields, count - 1)
        if taking_over:
            self._log.info(
                "%s: took over %d entries left pending in group %s",
                self.stream,
                len(claimed),
                self.group,
            )
        else:
            self._log.info("%s: reclaimed %d idle entries", self.stream, len(claimed))
        if self._pipeline is not None:
            await self._dispatch(self._pipeline, retry, counts)
        else:
            await self._process(retry, counts)

    async def _hand_back(self) -> None:
        """Ack what was handled, then make every other entry this consumer still
        holds claimable by others at once (delivery counts unchanged)."""
        try:
            await self._ack_handled()
            handed = await self._claims.hand_back(exclude=self._unacked)
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


def _deliveries(entry_id: bytes, counts: dict[bytes, int] | None) -> int:
    """Times the entry was delivered: 1 when just read, else its count on reclaim."""
    return 1 if counts is None else counts.get(entry_id, 1)
