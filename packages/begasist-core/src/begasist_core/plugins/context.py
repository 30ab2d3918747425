"""What the runtime hands a channel: its hotel, settings, event sink, keys and ledger."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Generic, TypeVar

import anyio
from redis.asyncio import Redis

from begasist_core.bus.connection import REDIS_UNAVAILABLE, outage_backoff
from begasist_core.bus.publisher import Publisher
from begasist_core.events.codec import make_event
from begasist_core.events.payloads import (
    ChannelState,
    GuestPreferenceChanged,
    MessageChanged,
    MessageEchoed,
    MessageReceived,
    MessageStatusChanged,
    TemplateStatusChanged,
)
from begasist_core.events.streams import StreamNames
from begasist_core.media import MediaStore, MissingMediaStore
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.channel import InboundPayload, SendReceipt
from begasist_core.plugins.guest_socket import GuestOutbox

__all__ = [
    "SENT_RECORD_PATIENCE",
    "ChannelContext",
    "ChannelKeys",
    "SentLedger",
    "StateReporter",
    "inbound_event_key",
]

SettingsT = TypeVar("SettingsT", bound=ChannelSettings)

StateReporter = Callable[[ChannelState, str | None], Awaitable[None]]

SENT_LEDGER_TTL = timedelta(days=7)
"""How long a send is remembered: redeliveries come within minutes, not weeks."""

SENT_RECORD_PATIENCE = timedelta(seconds=15)
"""How long a record of what a provider accepted rides out a Redis outage (the ledger,
and a channel's own per-part records: ``keys.set(..., patience=SENT_RECORD_PATIENCE)``)."""


def inbound_event_key(hotel: str, payload: InboundPayload) -> str:
    """The idempotency key of an inbound event: one per provider message (and status,
    and change: by its provider id, else by its kind, author and time)."""
    if isinstance(payload, MessageReceived):
        message = payload.message
        return f"message.received:{hotel}:{message.channel}:{message.provider_message_id}"
    if isinstance(payload, MessageEchoed):
        message = payload.message
        return f"message.echoed:{hotel}:{message.channel}:{message.provider_message_id}"
    if isinstance(payload, GuestPreferenceChanged):
        return (
            f"guest.preference:{hotel}:{payload.channel}:{payload.guest.address}"
            f":{payload.topic}:{payload.at.isoformat()}"
        )
    if isinstance(payload, TemplateStatusChanged):
        return (
            f"template.status:{hotel}:{payload.channel}:{payload.name}:{payload.language}"
            f":{payload.at.isoformat()}:{payload.status}:{payload.category}:{payload.quality}"
        )
    if isinstance(payload, MessageChanged):
        which = payload.change_id or ":".join(
            (payload.by.address if payload.by else "", payload.at.isoformat())
        )
        return (
            f"message.changed:{hotel}:{payload.channel}:{payload.provider_message_id}"
            f":{payload.change.kind}:{which}"
        )
    flag = ":failed" if payload.failed else ""
    return (
        f"message.status:{hotel}:{payload.channel}:{payload.provider_message_id}"
        f":{payload.status.value}{flag}"
    )


_SET_IF_GREATER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '')
if current and current >= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
"""


class ChannelKeys:
    """Plain Redis keys private to one channel of one hotel (QR codes, cursors).

    Never store a secret here: nothing secret travels in Redis.
    """

    def __init__(self, redis: Redis, names: StreamNames, hotel: str, channel: str) -> None:
        self._redis = redis
        self._prefix = names.hotel_key(hotel, "channel", channel)

    def full_name(self, name: str) -> str:
        return f"{self._prefix}:{name}"

    async def get(self, name: str) -> bytes | None:
        value = await self._redis.get(self.full_name(name))
        return (
            value if value is None else bytes(value, "utf-8") if isinstance(value, str) else value
        )

    async def set(
        self,
        name: str,
        value: bytes | str,
        *,
        ttl: timedelta | None = None,
        patience: timedelta | None = None,
    ) -> None:
        """Store *value* under *name*.

        With *patience*, for a fact that must not be lost (a provider accepted
        a message: forgetting it sends the message again), a Redis outage is
        ridden out: the write is retried at most a second apart, shielded from
        cancellation (a drain or a lost lease must not cut it), until
        *patience* has passed; then the error propagates. A late write of such
        a fact is harmless. Without *patience* the first error propagates.
        """
        if patience is None:
            await self._redis.set(self.full_name(name), value, px=ttl)
            return
        backoff = outage_backoff()
        with anyio.CancelScope(shield=True):
            deadline = anyio.current_time() + patience.total_seconds()
            while True:
                try:
                    await self._redis.set(self.full_name(name), value, px=ttl)
                    return
                except REDIS_UNAVAILABLE:
                    if anyio.current_time() >= deadline:
                        raise
                    await anyio.sleep(backoff.next_delay())

    async def set_if_absent(
        self, name: str, value: bytes | str, *, ttl: timedelta | None = None
    ) -> bool:
        """Store *value* unless *name* holds a value already; True if stored.

        Atomic (``SET NX``), so of concurrent writers the first wins: for a fact
        learnt from two sources (a provider's id for a sent message, from its
        answer and from its status webhook) that must not be replaced.
        """
        return bool(await self._redis.set(self.full_name(name), value, px=ttl, nx=True))

    async def delete(self, name: str) -> None:
        await self._redis.delete(self.full_name(name))

    async def set_if_greater(
        self, name: str, value: float, *, ttl: timedelta | None = None
    ) -> bool:
        """Store the number *value* unless the key holds one at least as great; True if stored.

        Atomic (one script on the server), so concurrent writers of one key
        (two webhooks of one guest parsed side by side) keep the greatest:
        for cursors and "last seen" times that must never move back.
        """
        ttl_ms = "" if ttl is None else str(max(1, int(ttl.total_seconds() * 1000)))
        stored = await self._redis.eval(
            _SET_IF_GREATER, 1, self.full_name(name), repr(float(value)), ttl_ms
        )
        return bool(stored)


class SentLedger:
    """Remembers what was sent per message id, so ``send`` can be idempotent."""

    def __init__(self, keys: ChannelKeys) -> None:
        self._keys = keys

    async def get(self, message_id: str) -> SendReceipt | None:
        raw = await self._keys.get(f"sent:{message_id}")
        return None if raw is None else SendReceipt.model_validate_json(raw)

    async def record(self, receipt: SendReceipt) -> None:
        """Remember that the provider accepted *receipt*'s message; call it right after.

        Forgetting an acceptance is what sends a message twice (the entry is
        delivered again and the ledger says nothing was sent), so the write
        rides out a Redis outage for up to :data:`SENT_RECORD_PATIENCE` (see
        :meth:`ChannelKeys.set`).
        """
        await self._keys.set(
            f"sent:{receipt.message_id}",
            receipt.model_dump_json(),
            ttl=SENT_LEDGER_TTL,
            patience=SENT_RECORD_PATIENCE,
        )


class ChannelContext(Generic[SettingsT]):
    """Everything a channel instance may touch outside itself.

    ``emit`` publishes an inbound event to the events stream with its
    idempotency key; ``report_state`` tells the supervisor (for example that
    the channel waits for QR pairing); ``keys`` and ``sent`` are Redis-backed;
    ``media`` stores downloaded files (see :mod:`begasist_core.media`);
    ``guests`` pushes frames to a guest-socket channel's guests.
    """

    def __init__(
        self,
        *,
        hotel: str,
        channel: str,
        settings: SettingsT,
        redis: Redis,
        publisher: Publisher,
        names: StreamNames,
        report_state: StateReporter | None = None,
        logger: logging.Logger | None = None,
        media: MediaStore | None = None,
    ) -> None:
        self.hotel = hotel
        self.channel = channel
        self.settings = settings
        self.names = names
        self.keys = ChannelKeys(redis, names, hotel, channel)
        self.sent = SentLedger(self.keys)
        self.guests = GuestOutbox(redis, names, hotel, channel)
        self.logger = logger or logging.getLogger(f"begasist.channel.{channel}.{hotel}")
        # Without a store a channel still runs; only storing fails, and says why.
        self.media: MediaStore = media if media is not None else MissingMediaStore()
        self._publisher = publisher
        self._report_state = report_state

    async def emit(self, payload: InboundPayload) -> None:
        """Publish a guest's message, a delivery status, a change or an echo to the suite."""
        if not isinstance(
            payload,
            MessageReceived
            | MessageStatusChanged
            | MessageChanged
            | MessageEchoed
            | GuestPreferenceChanged
            | TemplateStatusChanged,
        ):
            raise TypeError(f"cannot emit {type(payload).__name__}")
        event = make_event(self.hotel, payload, key=inbound_event_key(self.hotel, payload))
        await self._publisher.publish(self.names.events, event)

    async def report_state(self, state: ChannelState, detail: str | None = None) -> None:
        """Report a state the supervisor cannot see, such as ``pairing``."""
        if self._report_state is not None:
            await self._report_state(state, detail)
