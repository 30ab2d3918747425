"""A channel on a real bus, as the runtime would build it, with what it did read back."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar, cast

import anyio
from redis.asyncio import Redis

from begasist_core.bus.publisher import ENTRY_FIELD, Publisher
from begasist_core.channelbot.settings_source import SettingsSource
from begasist_core.events.codec import decode_event
from begasist_core.events.envelope import Event
from begasist_core.events.payloads import ChannelState, WebhookReceived
from begasist_core.events.streams import StreamNames
from begasist_core.media import MediaStore
from begasist_core.models.ids import new_id
from begasist_core.models.messages import Direction, GuestIdentity, Message
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.channel import Channel
from begasist_core.plugins.context import ChannelContext

__all__ = [
    "DEFAULT_HOTEL",
    "Bus",
    "ChannelHarness",
    "EventCapture",
    "RunOutcome",
    "Transmission",
    "TransmissionReader",
]

DEFAULT_HOTEL: Final = "conformance"

ChannelT = TypeVar("ChannelT", bound=Channel[Any])

_Entries = list[tuple[bytes, dict[bytes, bytes]]]


@dataclass(frozen=True, slots=True)
class Bus:
    """The test's share of a real Redis: a client, a private prefix and a publisher."""

    url: str
    redis: Redis
    names: StreamNames
    publisher: Publisher


class EventCapture:
    """Reads back, decoded, what was published to a stream (default: the events stream)."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def read(self, stream: str | None = None) -> list[Event]:
        """Every event in *stream* so far, oldest first."""
        entries = await self._bus.redis.xrange(stream or self._bus.names.events)
        return [decode_event(fields[ENTRY_FIELD]) for _, fields in cast(_Entries, entries)]

    async def wait_for(self, count: int, stream: str | None = None) -> list[Event]:
        """The events of *stream* once there are at least *count* (bound it with fail_after)."""
        name = stream or self._bus.names.events
        events = await self.read(name)
        last_id = "0-0"
        while len(events) < count:
            # Blocks in Redis until something new arrives, rather than polling.
            answer = await self._bus.redis.xread({name: last_id}, count=count, block=100)
            for _, entries in cast(list[tuple[bytes, _Entries]], answer or []):
                last_id = entries[-1][0].decode() if entries else last_id
            events = await self.read(name)
        return events


@dataclass(frozen=True, slots=True)
class Transmission:
    """One provider message a channel sent: the conformance kit's view of its outbound."""

    address: str
    text: str
    provider_message_id: str | None = None


TransmissionReader = Callable[
    [Sequence[Channel[Any]]], Sequence[Transmission] | Awaitable[Sequence[Transmission]]
]
"""Reads what the channel's provider stand-in received, given every channel instance built.

A stand-in shared by the test (a fake server) ignores the argument; a per-instance
one (an outbox attribute) reads each instance.
"""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How ``run()`` behaved when it was started, left alone, then cancelled."""

    stop_seconds: float | None = None
    """From when the cancellation was due to when ``run()`` was done; None: not done yet.

    Counted from when it was due, not from when it was delivered, so that a
    ``run()`` blocking its event loop (which delays the delivery) is slow too.
    """
    returned_early: bool = False
    """It returned before it was cancelled."""
    error: BaseException | None = None
    """What it raised, if it did not return cleanly."""


@dataclass(slots=True)
class _RunRecord:
    """Written by the channel's thread; read only once ``done`` is set."""

    done: threading.Event = field(default_factory=threading.Event)
    returned_at: float | None = None
    returned_early: bool = False
    error: BaseException | None = None


class ChannelHarness(Generic[ChannelT]):
    """Builds instances of one channel class for one hotel, with contexts on a real bus.

    What the instances publish is read back with :attr:`events`, what they
    transmit with :meth:`transmitted`, and the states they report are kept in
    :attr:`states`.
    """

    def __init__(
        self,
        channel_class: type[ChannelT],
        *,
        bus: Bus,
        settings: ChannelSettings,
        hotel: str = DEFAULT_HOTEL,
        read_transmissions: TransmissionReader | None = None,
        media: MediaStore | None = None,
    ) -> None:
        self.channel_class = channel_class
        self.media = media
        self.bus = bus
        self.settings = settings
        self.hotel = hotel
        self.events = EventCapture(bus)
        self.channels: list[ChannelT] = []
        self.states: list[tuple[ChannelState, str | None]] = []
        self._read_transmissions = read_transmissions

    @classmethod
    async def from_source(
        cls,
        channel_class: type[ChannelT],
        *,
        bus: Bus,
        source: SettingsSource,
        hotel: str = DEFAULT_HOTEL,
        read_transmissions: TransmissionReader | None = None,
    ) -> ChannelHarness[ChannelT]:
        """A harness whose settings come from *source*, validated as the runtime does."""
        raw = (await source.fetch(hotel)).channels.get(channel_class.name, {})
        settings = channel_class.Settings.model_validate(raw)
        return cls(
            channel_class,
            bus=bus,
            settings=settings,
            hotel=hotel,
            read_transmissions=read_transmissions,
        )

    def build(self) -> ChannelT:
        """A new instance, as after a (re)start of the channel, sharing the bus."""
        channel = self._build(self.bus.redis, self.bus.publisher)
        self.channels.append(channel)
        return channel

    async def transmitted(self) -> list[Transmission]:
        """What every instance built so far transmitted, per the transmission reader."""
        if self._read_transmissions is None:
            raise RuntimeError("this harness has no read_transmissions")
        read = self._read_transmissions(list(self.channels))
        return list(await read if inspect.isawaitable(read) else read)

    def outbound(self, text: str, *, message_id: str | None = None, address: str) -> Message:
        """An outbound message of this channel and hotel, as ``message.send`` carries it."""
        name = self.channel_class.name
        return Message(
            id=message_id or new_id(),
            hotel=self.hotel,
            channel=name,
            conversation_key=address,
            direction=Direction.OUTBOUND,
            guest=GuestIdentity(channel=name, address=address),
            text=text,
        )

    def webhook(self, body: bytes, *, headers: Mapping[str, str] | None = None) -> WebhookReceived:
        """A verified webhook for this channel, as the ingress stream delivers it."""
        return WebhookReceived(
            channel=self.channel_class.name, headers=dict(headers or {}), body=body
        )

    async def run_then_cancel(self, *, warmup: float, limit: float) -> RunOutcome:
        """Run a fresh instance for *warmup* seconds, cancel it, wait up to *limit* for it.

        The instance runs on its own event loop in a daemon thread, so a
        ``run()`` that ignores cancellation or blocks its loop fails the caller
        after *limit* instead of hanging the test session.
        """
        record = _RunRecord()
        thread = threading.Thread(
            target=self._run_in_thread,
            args=(record, warmup),
            name=f"begasist-run-{self.channel_class.name}",
            daemon=True,
        )
        cancellation_due = time.monotonic() + warmup
        thread.start()
        # Bounded: the worker thread returns after the timeout whatever the channel does.
        await anyio.to_thread.run_sync(record.done.wait, warmup + limit + 0.5)
        if not record.done.is_set():
            return RunOutcome()
        stop_seconds = None if record.returned_at is None else record.returned_at - cancellation_due
        return RunOutcome(
            stop_seconds=None if stop_seconds is None else max(stop_seconds, 0.0),
            returned_early=record.returned_early,
            error=record.error,
        )

    def _run_in_thread(self, record: _RunRecord, warmup: float) -> None:
        try:
            anyio.run(self._run_and_cancel, record, warmup, backend="asyncio")
        except BaseException as error:  # reported to the test, which runs on another thread
            record.error = error
        finally:
            record.done.set()

    async def _run_and_cancel(self, record: _RunRecord, warmup: float) -> None:
        # A client of this loop's own: redis-py connections belong to one event loop.
        redis = Redis.from_url(self.bus.url)
        try:
            channel = self._build(redis, Publisher(redis))
            async with anyio.create_task_group() as group:

                async def run() -> None:
                    await channel.run()
                    record.returned_early = not group.cancel_scope.cancel_called

                group.start_soon(run)
                await anyio.sleep(warmup)
                group.cancel_scope.cancel()
            record.returned_at = time.monotonic()
        finally:
            with anyio.CancelScope(shield=True):
                await redis.aclose()

    def _build(self, redis: Redis, publisher: Publisher) -> ChannelT:
        context: ChannelContext[Any] = ChannelContext(
            hotel=self.hotel,
            channel=self.channel_class.name,
            settings=self.settings,
            redis=redis,
            publisher=publisher,
            names=self.bus.names,
            report_state=self._record_state,
            media=self.media,
            logger=logging.getLogger(f"begasist.channel.{self.channel_class.name}.{self.hotel}"),
        )
        return self.channel_class(context)

    async def _record_state(self, state: ChannelState, detail: str | None) -> None:
        self.states.append((state, detail))
