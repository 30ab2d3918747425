"""The outbox relay: publishes what the store's outbox holds to the hotels' streams.

Every suite replica runs one. It claims due entries (``store/outbox.py``: a
compare-and-set per entry, so two replicas never publish one entry at once),
publishes their events, then marks them done. It runs a pass as soon as this
process commits an entry (:meth:`OutboxRelay.wake`) and every
``poll_seconds`` otherwise, which finds what other replicas queued, what was
left at start-up and what a dead replica held (its claims expire after
``hold``).

A crash between publishing and marking done publishes the entry again, with
the same event (a message's ``message.send`` is stored whole: same id, same
key): the bot sends a message id once. While Redis is down the relay gives
its claims back, logs once (core's :class:`RedisOutage`), and tries again with
a backoff of at most a couple of seconds, so what queued meanwhile goes out
soon after Redis is back. The API never waits for any of this.

It also purges expired ``Idempotency-Key`` records (hourly): housekeeping of
the same kind, on every replica (a purge is idempotent).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

import anyio
from anyio.abc import TaskStatus
from begasist_core import (
    REDIS_UNAVAILABLE,
    ConfigChanged,
    Event,
    EventDecodeError,
    RedisOutage,
    decode_event,
    make_event,
)
from begasist_core.backoff import Backoff
from begasist_core.bus.connection import redis_label
from begasist_core.bus.replication import NotReplicated
from begasist_core.events.envelope import MessageSendEvent

from begasist_suite.services import Services
from begasist_suite.store.outbox import OutboxEntry

__all__ = ["OutboxRelay"]

log = logging.getLogger(__name__)

POLL_SECONDS: Final = 1.0
HOLD: Final = timedelta(seconds=30)
"""How long a claim lasts: far longer than a publish, short enough to take over a dead replica's."""
BATCH: Final = 100
PURGE_SECONDS: Final = 3600.0
OUTAGE_BACKOFF_MAX: Final = 2.0
"""Longest wait between tries while Redis is down: how late the backlog may start after it."""


class OutboxRelay:
    """Publishes the outbox's due entries; :meth:`run` until :meth:`stop`."""

    def __init__(
        self,
        services: Services,
        *,
        poll_seconds: float = POLL_SECONDS,
        hold: timedelta = HOLD,
        batch: int = BATCH,
    ) -> None:
        self._services = services
        self.poll_seconds = poll_seconds
        self.hold = hold
        self.batch = batch
        self._wakeup = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        self._outage = RedisOutage(
            redis_label(services.redis),
            logger=log,
            backoff=Backoff(initial=0.1, maximum=OUTAGE_BACKOFF_MAX),
        )
        self._store_failing = False

    def wake(self) -> None:
        """Run a pass now: an entry was committed (the store's ``after_commit``)."""
        self._wakeup.set()

    def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Relay until :meth:`stop`; neither Redis nor the store failing ends it."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            task_status.started()
            next_purge = anyio.current_time()
            while True:
                self._wakeup = anyio.Event()  # a wake during the pass runs another one
                published = 0
                try:
                    if anyio.current_time() >= next_purge:
                        await self._services.store.purge_idempotency()
                        next_purge = anyio.current_time() + PURGE_SECONDS
                    published = await self.relay_once()
                except (*REDIS_UNAVAILABLE, NotReplicated) as error:
                    # Too few replicas acknowledged (BEGASIST_REDIS_WAIT_REPLICAS): the
                    # claims were given back, so publish them again once they can.
                    await self._outage.failed(error)  # logs once per outage, then sleeps
                    continue
                except Exception:
                    self._store_trouble()
                    await anyio.sleep(self.poll_seconds)
                    continue
                self._outage.succeeded()
                if self._store_failing:
                    self._store_failing = False
                    log.info("outbox relay: the store answers again")
                if published < self.batch:
                    with anyio.move_on_after(self.poll_seconds):
                        await self._wakeup.wait()

    async def relay_once(self, *, now: datetime | None = None) -> int:
        """One pass: claim up to a batch of due entries, publish them, mark them done.

        Returns how many were published. A Redis error is raised after the
        unpublished claims are given back (and the published ones marked).
        """
        if self._outage.down:
            # Probe before claiming, so an outage does not rewrite the backlog every try.
            await self._services.redis.ping()
        store = self._services.store
        entries = await store.claim_outbox(now=now, hold=self.hold, limit=self.batch)
        if not entries:
            return 0
        published: list[OutboxEntry] = []
        try:
            await self.publish(entries, published)
        finally:
            with anyio.CancelScope(shield=True):  # a stopping replica still settles its claims
                if published:
                    await store.outbox_done(published)
                unpublished = [entry for entry in entries if entry not in published]
                if unpublished:
                    await store.release_outbox(unpublished)
        return len(published)

    async def publish(self, entries: list[OutboxEntry], published: list[OutboxEntry]) -> None:
        """Publish *entries*' events in order, appending each to *published* once Redis has it
        (or once it is clear it has nothing to publish); raise on a Redis error."""
        by_stream: dict[str, list[tuple[OutboxEntry, Event]]] = {}
        for entry in entries:
            event = await self._event(entry)
            if event is None:
                published.append(entry)  # nothing to send: done with it
                continue
            names = self._services.names
            stream = (
                names.outbound(event.hotel)
                if isinstance(event, MessageSendEvent)
                else names.control(event.hotel)
            )
            by_stream.setdefault(stream, []).append((entry, event))
        for stream, items in by_stream.items():
            await self._services.publisher.publish_many(stream, [event for _, event in items])
            published.extend(entry for entry, _ in items)

    async def _event(self, entry: OutboxEntry) -> Event | None:
        if entry.kind == "config":
            hotel = await self._services.store.get_hotel(entry.hotel)
            if hotel is None:
                return None  # deleted since: no bot to tell
            version = hotel.config_version
            # The key names the version: a republished one is the same announcement.
            return make_event(
                hotel.slug,
                ConfigChanged(version=version),
                key=f"config.changed:{hotel.slug}:{version}",
            )
        try:
            return decode_event(entry.event or "")
        except EventDecodeError:
            # Only this code writes entries: one that does not decode is a bug, and
            # retrying it forever would hold up the rest.
            log.error("outbox entry %s does not decode; dropped", entry.document_id)
            return None

    def _store_trouble(self) -> None:
        if not self._store_failing:
            self._store_failing = True
            log.warning("outbox relay: a pass failed; retrying", exc_info=True)
        else:
            log.debug("outbox relay: a pass failed again", exc_info=True)
