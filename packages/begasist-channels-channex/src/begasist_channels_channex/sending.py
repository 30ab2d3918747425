"""Sending one reply into a booking's Channex thread: once per part, retried when worth it.

Channex's Send Message to Booking takes no idempotency key, so the channel
keeps its own ledger in the channel's Redis keys: before a part's ``POST`` an
*intent* (the time it was made), after it the id Channex gave the message. A
redelivery reuses the ids it finds; an intent without an id means a send died
inside its ``POST``, and the booking's messages are read back for a property
message with that text since the intent before the part is sent again.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, TypeVar

import anyio
from begasist_core import SENT_RECORD_PATIENCE, ChannelKeys, utc_now

from begasist_channels_channex.api import ChannexApiError, ChannexClient, ChannexMessage
from begasist_channels_channex.errors import ChannexUnavailable, is_transient, refusal

__all__ = ["PART_TTL", "PartSender", "RetryPolicy"]

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


def part_key(message_id: str, index: int) -> str:
    return f"sent-part:{message_id}:{index}"


def intent_key(message_id: str, index: int) -> str:
    return f"send-intent:{message_id}:{index}"


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

    async def send(self, message_id: str, index: int, text: str) -> str:
        """Channex's id of part *index* (*text*), sending it unless it was sent before."""
        known = await self._keys.get(part_key(message_id, index))
        if known is not None:
            return known.decode()
        intent = await self._keys.get(intent_key(message_id, index))
        if intent is not None:
            found = await self._find_sent(text, datetime.fromisoformat(intent.decode()))
            if found is not None:
                await self._keep(message_id, index, found)
                return found
        await self._keys.set(
            intent_key(message_id, index),
            utc_now().isoformat(),
            ttl=PART_TTL,
            patience=SENT_RECORD_PATIENCE,
        )
        sent = await self._with_retries(lambda: self._client.send_message(self._booking_id, text))
        # Kept before the next part goes: a crash now must not send this one again.
        await self._keep(message_id, index, sent.id)
        return sent.id

    async def _keep(self, message_id: str, index: int, provider_id: str) -> None:
        await self._keys.set(
            part_key(message_id, index), provider_id, ttl=PART_TTL, patience=SENT_RECORD_PATIENCE
        )

    async def _find_sent(self, text: str, since: datetime) -> str | None:
        """The id of a property message with *text* in the booking since *since*, if any."""
        page = await self._with_retries(lambda: self._client.booking_messages(self._booking_id))
        for item in page:
            if item.sender == "property" and item.message == text and _since(item, since):
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
