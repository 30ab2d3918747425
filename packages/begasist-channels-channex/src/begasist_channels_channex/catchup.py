"""The periodic catch-up: guests' messages whose webhook never came, read from Channex.

Channex retries a webhook but may still give up (the suite down for hours, a
webhook switched off by mistake). Every period the channel lists the
property's message threads, the most recently active first, and each active
thread's messages, newest first, back to its cursor; each guest message not
caught up before is handed on as its webhook would have been (same Channex
message id, so the suite stores it once whichever way it came first).

The cursor (a UTC time, in the channel's Redis keys) moves forward after each
message is handed on and after each whole pass, so a restart, or a standby
bot taking the hotel over, resumes from it; a first run looks back a bounded
window. Reading starts :data:`OVERLAP` before the cursor (Channex's clock and
ours differ, and a message may be listed a little after its time); a key per
message caught up keeps the overlap from handing it on twice.

A pass reads the threads' messages, then the bookings of the messages to hand
on, :data:`READS_AT_ONCE` requests at a time, and hands the messages on one by
one, oldest first, each booking read once per pass (:class:`PassMemo`).
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import anyio
from begasist_core import ChannelKeys, utc_now

from begasist_channels_channex.api import (
    MESSAGES_PAGE_LIMIT,
    ChannexApiError,
    ChannexBooking,
    ChannexClient,
    ChannexMessage,
    ChannexThread,
)
from begasist_channels_channex.errors import ChannexUnavailable
from begasist_channels_channex.webhook import ChannexMessagePayload

__all__ = [
    "CURSOR_KEY",
    "OVERLAP",
    "SEEN_TTL",
    "CatchUp",
    "ListedMessage",
    "PassMemo",
    "at_once",
    "mark_seen",
    "was_seen",
]

CURSOR_KEY: Final = "catch-up-cursor"
"""The cursor's name in the channel's keys: a UTC POSIX time, in seconds."""
OVERLAP: Final = timedelta(minutes=5)
SEEN_TTL: Final = timedelta(days=2)
"""How long a message handed on (by its webhook or the catch-up) is remembered: far
longer than :data:`OVERLAP` and than Channex's webhook retries. One small key per
message, gone after this: the keys are bounded by two days of the hotel's messages."""
MAX_PAGES: Final = 50
"""Pages of one thread's messages not handed on yet read per pass at most (the threads:
every page); the rest of such a thread waits for the next pass, the cursor held."""

READS_AT_ONCE: Final = 4
"""Channex reads in flight at once in a pass (threads' messages, bookings). Channex
publishes limits for its ARI updates only (10 a minute per property each), none for
these reads; four keep a pass from waiting on one answer at a time, no more."""
PREPARE_CHUNK: Final = 100
"""Messages prepared (their bookings read, a few at once) then handed on, at a time."""

GUEST_SENDER: Final = "guest"


@dataclass(frozen=True)
class ListedMessage:
    """A guest message as the catch-up found it: the webhook payload it stands for, and when."""

    payload: ChannexMessagePayload
    at: datetime


@dataclass
class PassMemo:
    """What one pass reads once for all its messages (the channel's emit fills it)."""

    bookings: dict[str, ChannexBooking | None] = field(default_factory=dict)
    """Bookings by id, as read (None: Channex refused to show it)."""
    threads_kept: set[str] = field(default_factory=set)
    """The bookings whose thread id this pass has remembered already."""


@dataclass
class _Listing:
    """A pass's guest messages not handed on yet, and how far the cursor may go."""

    found: list[ListedMessage] = field(default_factory=list)
    horizon: datetime | None = None
    """Set when a thread had more new messages than a pass reads: its oldest message
    read. Older ones are still unread, so the cursor stays at it."""

    def hold_at(self, at: datetime) -> None:
        self.horizon = at if self.horizon is None else min(self.horizon, at)

    def cap(self, at: datetime) -> datetime:
        """*at*, or the horizon if that comes first."""
        return at if self.horizon is None else min(at, self.horizon)


Emit = Callable[[ListedMessage, PassMemo], Awaitable[None]]
Prepare = Callable[[Sequence[ListedMessage], PassMemo], Awaitable[None]]
"""Reads ahead what emitting these messages needs into the pass's memo; a failure there
is left for the emit to meet (and end the pass at the right message)."""
ClientFactory = Callable[[], AbstractAsyncContextManager[ChannexClient]]


class CatchUp:
    """One channel's catch-up; :meth:`run_once` is one pass (see the module doc)."""

    def __init__(
        self,
        *,
        keys: ChannelKeys,
        logger: logging.Logger,
        client: ClientFactory,
        emit: Emit,
        property_id: str,
        lookback: timedelta,
        prepare: Prepare | None = None,
    ) -> None:
        self._keys = keys
        self._logger = logger
        self._client = client
        self._emit = emit
        self._prepare = prepare
        self._property_id = property_id
        self._lookback = lookback
        self._failing = False

    async def cursor(self) -> datetime | None:
        """The stored cursor, None before the first pass (or when it is unreadable)."""
        raw = await self._keys.get(CURSOR_KEY)
        try:
            return None if raw is None else datetime.fromtimestamp(float(raw), UTC)
        except ValueError:
            return None

    async def run_once(self) -> int:
        """One pass: hand on every guest message since the cursor; how many were new.

        Channex's refusals and silences are logged once (until a pass works
        again) and leave the cursor where the last message handed on put it,
        so the next period retries from there. The cursor never passes a
        message not handed on yet: a thread with more new messages than
        :data:`MAX_PAGES` pages holds it at the oldest message read (see
        :class:`_Listing`), and the next pass reads on from there.
        """
        started = utc_now()
        cursor = await self.cursor()
        since = cursor - OVERLAP if cursor is not None else started - self._lookback
        handed_on = 0
        memo = PassMemo()
        try:
            async with self._client() as client:
                listing = await self._listed_since(client, since)
            ordered = sorted(listing.found, key=lambda m: m.at)
            for start in range(0, len(ordered), PREPARE_CHUNK):
                chunk = ordered[start : start + PREPARE_CHUNK]
                if self._prepare is not None:
                    await self._prepare(chunk, memo)
                for message in chunk:
                    await self._hand_on(message, memo, listing.cap(message.at))
                    handed_on += 1
        except (ChannexApiError, ChannexUnavailable) as error:
            self._failed(error)
            return handed_on
        await self._keys.set_if_greater(CURSOR_KEY, listing.cap(started).timestamp())
        if self._failing:
            self._failing = False
            self._logger.info("channex catch-up: Channex answers again")
        return handed_on

    async def _hand_on(self, message: ListedMessage, memo: PassMemo, cursor: datetime) -> None:
        await self._emit(message, memo)
        await mark_seen(self._keys, message.payload.id)
        await self._keys.set_if_greater(CURSOR_KEY, cursor.timestamp())

    async def _listed_since(self, client: ChannexClient, since: datetime) -> _Listing:
        # Every page of threads active since the cursor, however many: the pass moves the
        # cursor past all of them, so a thread left unread here would be missed for good.
        listing = _Listing()
        read: set[str] = set()
        for page in itertools.count(1):
            threads = await client.threads(self._property_id, page=page)
            fresh = [thread for thread in threads if thread.id not in read]
            active = list(itertools.takewhile(lambda t: _active_since(t, since), fresh))
            read.update(thread.id for thread in active)
            await at_once(
                [functools.partial(self._thread_since, client, t, since, listing) for t in active]
            )
            if len(active) < len(fresh):
                # The most recently active first: the rest are older still.
                return listing
            if len(threads) < MESSAGES_PAGE_LIMIT or not fresh:
                # The last page, or one repeating the earlier ones (pagination ignored).
                break
        return listing

    async def _thread_since(
        self, client: ChannexClient, thread: ChannexThread, since: datetime, listing: _Listing
    ) -> None:
        """Add *thread*'s guest messages since *since* not handed on yet to *listing*.

        Newest first, page after page; pages holding a message not handed on yet
        count towards :data:`MAX_PAGES`, the others (handed on by an earlier,
        capped pass, or the property's own replies) do not, so a thread capped in
        one pass is read further in the next.
        """
        if thread.booking_id is None:
            self._logger.debug("channex catch-up: thread %s names no booking; skipped", thread.id)
            return
        read: set[str] = set()
        pages_with_new = 0
        oldest: datetime | None = None
        for page in itertools.count(1):
            messages = await client.thread_messages(thread.id, page=page)
            fresh = [item for item in messages if item.id not in read]
            if not fresh:
                return  # a page repeating the earlier ones: pagination ignored
            read.update(item.id for item in fresh)
            new = False
            for item in fresh:
                if item.inserted_at is None:
                    continue
                at = oldest = _utc(item.inserted_at)
                if at < since:
                    return
                if item.sender == GUEST_SENDER and not await was_seen(self._keys, item.id):
                    listing.found.append(
                        ListedMessage(_payload(item, thread, thread.booking_id), at)
                    )
                    new = True
            if len(messages) < MESSAGES_PAGE_LIMIT:
                return
            if new:
                pages_with_new += 1
            if pages_with_new >= MAX_PAGES:
                # Older messages of this thread are left for the next pass: the cursor
                # may not pass them (and stays put if no page said when it was written).
                listing.hold_at(oldest or since)
                return

    def _failed(self, error: Exception) -> None:
        if self._failing:
            self._logger.debug("channex catch-up: still failing: %s", error)
            return
        self._failing = True
        self._logger.warning(
            "channex catch-up: %s; retried every period, the cursor stays where it was", error
        )


async def at_once(calls: Sequence[Callable[[], Awaitable[object]]]) -> None:
    """Run *calls* at most :data:`READS_AT_ONCE` at a time; a Channex failure of one ends
    them all and is raised as itself (not in an exception group), as a lone call's would be."""
    limiter = anyio.CapacityLimiter(READS_AT_ONCE)

    async def limited(call: Callable[[], Awaitable[object]]) -> None:
        async with limiter:
            await call()

    try:
        async with anyio.create_task_group() as group:
            for call in calls:
                group.start_soon(limited, call)
    except BaseExceptionGroup as failed:
        channex, rest = failed.split((ChannexApiError, ChannexUnavailable))
        if channex is None or rest is not None:
            raise
        first: BaseException = channex
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def _active_since(thread: ChannexThread, since: datetime) -> bool:
    times = [thread.last_message_received_at, thread.updated_at]
    known = [_utc(at) for at in times if at is not None]
    return not known or max(known) >= since


def _seen_key(message_id: str) -> str:
    return f"caught-up:{message_id}"


async def mark_seen(keys: ChannelKeys, message_id: str) -> None:
    """Remember that Channex message *message_id* was handed on, so no catch-up repeats it.

    The webhook's parse calls it too: the suite would store a repeat once anyway
    (it dedupes by provider message id), but the catch-up would read the booking
    and download the attachments again for nothing.
    """
    await keys.set(_seen_key(message_id), "1", ttl=SEEN_TTL)


async def was_seen(keys: ChannelKeys, message_id: str) -> bool:
    """Whether :func:`mark_seen` remembers *message_id*."""
    return await keys.get(_seen_key(message_id)) is not None


def _payload(item: ChannexMessage, thread: ChannexThread, booking_id: str) -> ChannexMessagePayload:
    return ChannexMessagePayload(
        id=item.id,
        booking_id=booking_id,
        message=item.message,
        message_thread_id=thread.id,
        attachments=item.attachments,
    )


def _utc(at: datetime) -> datetime:
    # Channex's timestamps carry no zone; they are UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
