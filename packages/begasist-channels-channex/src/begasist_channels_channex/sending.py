"""Sending one reply into a booking's Channex thread: once per part, retried when worth it.

A reply is its text parts, then one message per file (Channex sends a file as
a message of its own: Create Attachment, then Send Message with its
``attachment_id`` and no text). Channex's Send Message to Booking takes no
idempotency key, so the channel keeps its own ledger in the channel's Redis
keys: before a part's ``POST`` an *intent* (the time it was made), after it
the id Channex gave the message (and, for a file, the id of its upload). A
redelivery reuses the ids it finds; an intent without an id means a send died
inside its ``POST``, and the booking's messages are read back for a property
message with that text (or a file and no text) since the intent before the
part is sent again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import anyio
from begasist_core import SENT_RECORD_PATIENCE, ChannelKeys, utc_now

from begasist_channels_channex.api import ChannexApiError, ChannexClient, ChannexMessage
from begasist_channels_channex.errors import (
    ChannexRefused,
    ChannexUnavailable,
    ThreadClosed,
    is_transient,
    refusal,
)
from begasist_channels_channex.threads import known_thread, remember_thread

__all__ = ["PART_TTL", "OutboundFile", "PartSender", "RetryPolicy"]

_T = TypeVar("_T")

PART_TTL: Final = timedelta(days=7)
"""How long a part's intent and id are kept (longer than any redelivery)."""
CLOCK_SLACK: Final = timedelta(seconds=5)
"""Channex's clock may run behind ours: a message this much before the intent still counts."""


@dataclass
class RetryPolicy:
    """Delays between attempts: exponential from ``initial`` to ``maximum``, with jitter.

    A ``Retry-After`` longer than ``max_wait`` is not waited for in the send:
    it gives up and the runtime redelivers later.
    """

    initial: float = 1.0
    maximum: float = 30.0
    max_wait: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False)
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class OutboundFile:
    """A file of a reply, read from the media store and checked against the OTA's rules."""

    data: bytes
    mime_type: str
    filename: str


def part_key(message_id: str, index: int) -> str:
    return f"sent-part:{message_id}:{index}"


def intent_key(message_id: str, index: int) -> str:
    return f"send-intent:{message_id}:{index}"


def upload_key(message_id: str, index: int) -> str:
    return f"upload:{message_id}:{index}"


Matches = Callable[[ChannexMessage], bool]


class PartSender:
    """Sends the parts of one message to one booking; see the module doc."""

    def __init__(
        self,
        client: ChannexClient,
        keys: ChannelKeys,
        retry: RetryPolicy,
        *,
        attempts: int,
        booking_id: str,
    ) -> None:
        self._client = client
        self._keys = keys
        self._retry = retry
        self._attempts = attempts
        self._booking_id = booking_id

    async def ensure_open(self, logger: logging.Logger) -> None:
        """Raise ThreadClosed if the booking's thread is closed; return if open or unknown.

        A booking whose thread Channex does not show (no message yet, or the
        thread refused to us) is let through: the post then says what Channex thinks.
        """
        thread_id = await known_thread(self._keys, self._booking_id)
        if thread_id is None:
            page = await self._with_retries(lambda: self._client.booking_messages(self._booking_id))
            thread_id = next((item.thread_id for item in page if item.thread_id), None)
            await remember_thread(self._keys, self._booking_id, thread_id)
        if thread_id is None:
            logger.debug("channex: booking %s has no thread yet; not checked", self._booking_id)
            return
        known_id = thread_id
        try:
            thread = await self._with_retries(lambda: self._client.thread(known_id))
        except ChannexRefused as refused:
            logger.info("channex: thread %s not readable (%s); posting anyway", known_id, refused)
            return
        if thread.is_closed:
            raise ThreadClosed(ThreadClosed.REASON)

    async def send(self, message_id: str, index: int, text: str) -> str:
        """Channex's id of part *index* (*text*), sending it unless it was sent before."""
        return await self._once(
            message_id,
            index,
            lambda: self._client.send_message(self._booking_id, text),
            lambda item: item.message == text,
        )

    async def send_file(self, message_id: str, index: int, file: OutboundFile) -> str:
        """Channex's id of part *index* (*file*), uploading and sending it once."""

        async def post() -> ChannexMessage:
            attachment_id = await self._uploaded(message_id, index, file)
            return await self._client.send_attachment(self._booking_id, attachment_id)

        return await self._once(
            message_id, index, post, lambda item: bool(item.attachments) and not item.message
        )

    async def _uploaded(self, message_id: str, index: int, file: OutboundFile) -> str:
        """Channex's attachment id of *file*: uploaded once, kept for a redelivery."""
        known = await self._keys.get(upload_key(message_id, index))
        if known is not None:
            return known.decode()
        attachment_id = await self._client.upload_attachment(
            file.data, file_name=file.filename, file_type=file.mime_type
        )
        await self._keys.set(
            upload_key(message_id, index),
            attachment_id,
            ttl=PART_TTL,
            patience=SENT_RECORD_PATIENCE,
        )
        return attachment_id

    async def _once(
        self,
        message_id: str,
        index: int,
        post: Callable[[], Awaitable[ChannexMessage]],
        matches: Matches,
    ) -> str:
        known = await self._keys.get(part_key(message_id, index))
        if known is not None:
            return known.decode()
        intent = await self._keys.get(intent_key(message_id, index))
        if intent is not None:
            found = await self._find_sent(matches, datetime.fromisoformat(intent.decode()))
            if found is not None:
                await self._keep(message_id, index, found)
                return found
        await self._keys.set(
            intent_key(message_id, index),
            utc_now().isoformat(),
            ttl=PART_TTL,
            patience=SENT_RECORD_PATIENCE,
        )
        sent = await self._with_retries(post)
        # Kept before the next part goes: a crash now must not send this one again.
        await self._keep(message_id, index, sent.id)
        return sent.id

    async def _keep(self, message_id: str, index: int, provider_id: str) -> None:
        await self._keys.set(
            part_key(message_id, index), provider_id, ttl=PART_TTL, patience=SENT_RECORD_PATIENCE
        )

    async def _find_sent(self, matches: Matches, since: datetime) -> str | None:
        """The id of a property message that *matches*, in the booking since *since*, if any."""
        page = await self._with_retries(lambda: self._client.booking_messages(self._booking_id))
        for item in page:
            if item.sender == "property" and matches(item) and _since(item, since):
                return item.id
        return None

    async def _with_retries(self, call: Callable[[], Awaitable[_T]]) -> _T:
        last: ChannexApiError | None = None
        for attempt in range(1, self._attempts + 1):
            try:
                return await call()
            except ChannexApiError as error:
                if not is_transient(error):
                    raise refusal(error) from error
                last = error
            if attempt == self._attempts:
                break
            wait = self._retry.delay(attempt)
            if last.retry_after is not None:
                if last.retry_after > self._retry.max_wait:
                    raise ChannexUnavailable(
                        f"{last.describe()}; Channex asks to wait {last.retry_after:.0f} s, "
                        "retrying later"
                    )
                wait = last.retry_after
            await self._retry.sleep(wait)
        assert last is not None
        raise ChannexUnavailable(
            f"{last.describe()}; gave up after {self._attempts} attempts, retrying later"
        )


def _since(item: ChannexMessage, since: datetime) -> bool:
    if item.inserted_at is None:
        return False
    inserted = item.inserted_at
    if inserted.tzinfo is None:
        # Channex's timestamps carry no zone; they are UTC.
        inserted = inserted.replace(tzinfo=UTC)
    return inserted >= since - CLOCK_SLACK
