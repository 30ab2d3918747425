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
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from begasist_core import ChannelKeys, utc_now

from begasist_channels_channex.api import (
    MESSAGES_PAGE_LIMIT,
    ChannexApiError,
    ChannexClient,
    ChannexMessage,
    ChannexThread,
)
from begasist_channels_channex.errors import ChannexUnavailable
from begasist_channels_channex.webhook import ChannexMessagePayload

__all__ = ["CURSOR_KEY", "OVERLAP", "SEEN_TTL", "CatchUp", "ListedMessage", "mark_seen", "was_seen"]

CURSOR_KEY: Final = "catch-up-cursor"
"""The cursor's name in the channel's keys: a UTC POSIX time, in seconds."""
OVERLAP: Final = timedelta(minutes=5)
SEEN_TTL: Final = timedelta(days=2)
"""How long a message handed on (by its webhook or the catch-up) is remembered: far
longer than :data:`OVERLAP` and than Channex's webhook retries. One small key per
message, gone after this: the keys are bounded by two days of the hotel's messages."""
MAX_PAGES: Final = 50
"""Pages of threads (and of one thread's messages) read per pass at most."""

GUEST_SENDER: Final = "guest"


@dataclass(frozen=True)
class ListedMessage:
    """A guest message as the catch-up found it: the webhook payload it stands for, and when."""

    payload: ChannexMessagePayload
    at: datetime


Emit = Callable[[ListedMessage], Awaitable[None]]
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
    ) -> None:
        self._keys = keys
        self._logger = logger
        self._client = client
        self._emit = emit
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
        so the next period retries from there.
        """
        started = utc_now()
        cursor = await self.cursor()
        since = cursor - OVERLAP if cursor is not None else started - self._lookback
        handed_on = 0
        try:
            async with self._client() as client:
                listed = await self._listed_since(client, since)
            for message in sorted(listed, key=lambda m: m.at):
                if await self._hand_on(message):
                    handed_on += 1
        except (ChannexApiError, ChannexUnavailable) as error:
            self._failed(error)
            return handed_on
        await self._keys.set_if_greater(CURSOR_KEY, started.timestamp())
        if self._failing:
            self._failing = False
            self._logger.info("channex catch-up: Channex answers again")
        return handed_on

    async def _hand_on(self, message: ListedMessage) -> bool:
        if await was_seen(self._keys, message.payload.id):
            # Its webhook (or an earlier pass) handed it on: no booking read, no event.
            return False
        await self._emit(message)
        await mark_seen(self._keys, message.payload.id)
        await self._keys.set_if_greater(CURSOR_KEY, message.at.timestamp())
        return True

    async def _listed_since(self, client: ChannexClient, since: datetime) -> list[ListedMessage]:
        found: list[ListedMessage] = []
        for page in range(1, MAX_PAGES + 1):
            threads = await client.threads(self._property_id, page=page)
            for thread in threads:
                times = [thread.last_message_received_at, thread.updated_at]
                known = [_utc(at) for at in times if at is not None]
                if known and max(known) < since:
                    # The most recently active first: the rest are older still.
                    return found
                found += await self._thread_since(client, thread, since)
            if len(threads) < MESSAGES_PAGE_LIMIT:
                break
        return found

    async def _thread_since(
        self, client: ChannexClient, thread: ChannexThread, since: datetime
    ) -> list[ListedMessage]:
        if thread.booking_id is None:
            self._logger.debug("channex catch-up: thread %s names no booking; skipped", thread.id)
            return []
        found: list[ListedMessage] = []
        for page in range(1, MAX_PAGES + 1):
            messages = await client.thread_messages(thread.id, page=page)
            for item in messages:
                if item.inserted_at is None:
                    continue
                at = _utc(item.inserted_at)
                if at < since:
                    return found
                if item.sender == GUEST_SENDER:
                    found.append(ListedMessage(_payload(item, thread, thread.booking_id), at))
            if len(messages) < MESSAGES_PAGE_LIMIT:
                break
        return found

    def _failed(self, error: Exception) -> None:
        if self._failing:
            self._logger.debug("channex catch-up: still failing: %s", error)
            return
        self._failing = True
        self._logger.warning(
            "channex catch-up: %s; retried every period, the cursor stays where it was", error
        )


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
