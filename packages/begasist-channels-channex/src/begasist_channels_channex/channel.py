"""The channel: guests' OTA messages arrive by Channex webhook, replies go to the booking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from functools import cached_property, partial
from ssl import SSLContext
from typing import ClassVar

import anyio
import httpx
from begasist_core import (
    Attachment,
    Capabilities,
    Channel,
    ChannelContext,
    ChannelSettings,
    InboundPayload,
    MediaNotFound,
    MediaStoreMissing,
    Message,
    PermanentSendError,
    SendReceipt,
    TextOverflow,
    WebhookReceived,
    WebhookRequest,
    WebhookResponse,
    media_key_of,
)

from begasist_channels_channex.api import ChannexApiError, ChannexBooking, ChannexClient
from begasist_channels_channex.bookings import BookingCache
from begasist_channels_channex.catchup import CatchUp, ListedMessage, PassMemo, at_once, mark_seen
from begasist_channels_channex.errors import ChannexUnavailable, is_transient
from begasist_channels_channex.inbound import booking_ota, received, split_address
from begasist_channels_channex.media import RETRY_DELAYS, AttachmentFetcher
from begasist_channels_channex.ota import Ota
from begasist_channels_channex.rules import (
    MAX_TEXT_LENGTH,
    RULES,
    SENDABLE_KINDS,
    AttachmentRefused,
    check_attachment,
)
from begasist_channels_channex.sending import OutboundFile, PartSender, RetryPolicy
from begasist_channels_channex.settings import ChannexSettings
from begasist_channels_channex.threads import remember_thread
from begasist_channels_channex.webhook import (
    MESSAGE_EVENT,
    SECRET_HEADER,
    ChannexMessagePayload,
    check_secret,
    read_delivery,
)

__all__ = ["MAX_TEXT_LENGTH", "ChannexChannel"]


class ChannexChannel(Channel[ChannexSettings]):
    """The Channex channel of one hotel (one Channex property); see the package README."""

    name: ClassVar[str] = "channex"
    Settings: ClassVar[type[ChannelSettings]] = ChannexSettings
    # The channel's limits are the OTAs' tightest, and the kinds at least one OTA takes;
    # each booking's OTA then decides (rules.RULES), before anything is sent.
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_text_length=min(rules.max_text_length for rules in RULES.values()),
        text_overflow=TextOverflow.SPLIT,
        media_kinds=SENDABLE_KINDS,
        threading=True,
        webhook_ingress=True,
    )

    def __init__(self, context: ChannelContext[ChannexSettings]) -> None:
        super().__init__(context)
        self.retry = RetryPolicy()
        """The waits between attempts (tests shorten them)."""
        self.download_retry_delays: tuple[float, ...] = RETRY_DELAYS
        """The pauses between tries of an attachment's download (tests shorten them)."""
        self.bookings = BookingCache()
        """Bookings read lately, so that a burst of one booking's messages reads it once."""
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def verify(cls, request: WebhookRequest, settings: ChannelSettings) -> WebhookResponse:
        """Accept a delivery carrying the hotel's webhook secret (no I/O: the suite runs it)."""
        if not isinstance(settings, ChannexSettings):
            raise TypeError(f"expected {cls.Settings.__name__}, not {type(settings).__name__}")
        check_secret(settings.webhook_secret.get_secret_value(), request.headers.get(SECRET_HEADER))
        return WebhookResponse()

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        """The guest message of a ``message`` delivery, with its booking read from Channex.

        Other events, and messages of another property or of an OTA the hotel
        switched off, give nothing. The message's id is then remembered in the
        channel's keys, so the catch-up does not hand it on again.
        """
        delivery = read_delivery(webhook.body)
        item = delivery.message()
        if item is None:
            if delivery.event == MESSAGE_EVENT:
                self.context.logger.warning(
                    "channex: a message event without its payload: turn send_data on in the "
                    "hotel's Channex webhook"
                )
            return []
        property_id = self.settings.property_id
        if delivery.property_id is not None and delivery.property_id != property_id:
            self.context.logger.warning(
                "channex: a message of property %s reached the channel of property %s; ignored",
                delivery.property_id,
                property_id,
            )
            return []
        events = await self._received(item, delivery.timestamp)
        # Only once the message is read whole: a parse that failed is redelivered, and
        # until it succeeds the catch-up may still cover the message.
        await mark_seen(self.context.keys, item.id)
        return events

    async def run(self) -> None:
        """Catch up every ``catch_up_interval_seconds`` (see :mod:`.catchup`) until cancelled.

        While it runs, every call to Channex (catch-up, parse, send) goes over one
        HTTP client of the channel's, closed when ``run`` ends: its connections are
        reused from call to call.
        """
        async with self._new_http() as http:
            self._http = http
            try:
                await self._catch_up_periodically()
            finally:
                self._http = None

    async def _catch_up_periodically(self) -> None:
        interval = self.settings.catch_up_interval_seconds
        if interval == 0:
            await anyio.sleep_forever()
        catch_up = self.catch_up()
        while True:
            await catch_up.run_once()
            await anyio.sleep(interval)

    def catch_up(self) -> CatchUp:
        """The catch-up of this hotel's property, its cursor in the channel's keys."""
        return CatchUp(
            keys=self.context.keys,
            logger=self.context.logger,
            client=self.client,
            emit=self._emit_listed,
            prepare=self._read_bookings_ahead,
            property_id=self.settings.property_id,
            lookback=timedelta(hours=self.settings.catch_up_lookback_hours),
        )

    async def _read_bookings_ahead(self, listed: Sequence[ListedMessage], memo: PassMemo) -> None:
        """The bookings of *listed* not read in this pass yet, a few at once, into *memo*."""
        wanted = sorted({item.payload.booking_id for item in listed} - memo.bookings.keys())

        async def read(booking_id: str) -> None:
            # Channex silent: the emit reads it again and ends the pass at that message.
            with suppress(ChannexUnavailable):
                await self._booking(booking_id, memo)

        await at_once([partial(read, booking_id) for booking_id in wanted])

    async def _emit_listed(self, listed: ListedMessage, memo: PassMemo) -> None:
        # Exactly what its webhook would have given: same id, booking, OTA switches.
        for payload in await self._received(listed.payload, listed.at, memo):
            await self.context.emit(payload)

    async def _received(
        self, item: ChannexMessagePayload, at: datetime | None, memo: PassMemo | None = None
    ) -> list[InboundPayload]:
        booking = await self._booking(item.booking_id, memo)
        ota = booking_ota(booking)
        if not self.settings.takes(ota):
            self.context.logger.info("channex: %s messages are switched off; ignored", ota.value)
            return []
        if memo is None or item.booking_id not in memo.threads_kept:
            await remember_thread(self.context.keys, item.booking_id, item.message_thread_id)
            if memo is not None:
                memo.threads_kept.add(item.booking_id)
        attachments = await self._attachments(item)
        return [
            received(
                item,
                booking,
                hotel=self.context.hotel,
                channel=self.name,
                at=at,
                attachments=attachments,
            )
        ]

    async def _attachments(self, item: ChannexMessagePayload) -> tuple[Attachment, ...]:
        """*item*'s attachments in the media store (see :mod:`.media`); never raises for one."""
        if not item.attachments:
            return ()
        async with self.client() as client:
            fetcher = AttachmentFetcher(
                client,
                self.context.media,
                self.context.hotel,
                self.context.logger,
                retry_delays=self.download_retry_delays,
            )
            return await fetcher.fetch_all(item.attachments, item.id)

    async def _booking(self, booking_id: str, memo: PassMemo | None) -> ChannexBooking | None:
        """The booking of a message: the catch-up pass's reading, else a recent one, else read."""
        if memo is not None and booking_id in memo.bookings:
            return memo.bookings[booking_id]
        booking = await self.bookings.get(booking_id, self._read_booking)
        if memo is not None:
            # The cache's readings expire within a long pass; the pass's do not.
            memo.bookings[booking_id] = booking
        return booking

    async def _read_booking(self, booking_id: str) -> ChannexBooking | None:
        """The booking from Channex; None when Channex refuses to show it (the message is kept)."""
        try:
            async with self.client() as client:
                return await client.booking(booking_id)
        except ChannexApiError as error:
            if is_transient(error):
                raise ChannexUnavailable(
                    f"reading booking {booking_id}: {error.describe()}"
                ) from error
            self.context.logger.warning(
                "channex: booking %s could not be read (%s); the message is kept without it",
                booking_id,
                error.describe(),
            )
            return None

    async def send(self, message: Message) -> SendReceipt:
        """Post *message* to its booking's thread, once per id, in parts within the limit."""
        earlier = await self.context.sent.get(message.id)
        if earlier is not None:
            return earlier
        target = split_address(message.guest.address)
        if target is None:
            raise PermanentSendError(
                f"{message.guest.address!r} is not a Channex booking address (ota:booking id)"
            )
        ota, booking_id = target
        if not self.settings.takes(ota):
            raise PermanentSendError(f"{ota.display_name} messages are switched off for this hotel")
        if message.template is not None:
            raise PermanentSendError("Channex sends no templates: write the reply as text")
        # Every refusal of ours comes before the first request to Channex.
        files = [await self._outbound_file(attachment, ota) for attachment in message.attachments]
        parts = [part for part in self.split_text(message.text) if part.strip()]
        if not parts and not files:
            raise PermanentSendError("the message has no text or file to send")
        provider_ids = []
        async with self.client() as client:
            sender = PartSender(
                client,
                self.context.keys,
                self.retry,
                attempts=self.settings.send_attempts,
                booking_id=booking_id,
            )
            await sender.ensure_open(self.context.logger)
            for index, part in enumerate(parts):
                provider_ids.append(await sender.send(message.id, index, part))
            for offset, file in enumerate(files):
                provider_ids.append(await sender.send_file(message.id, len(parts) + offset, file))
        receipt = SendReceipt(message_id=message.id, provider_message_ids=tuple(provider_ids))
        await self.context.sent.record(receipt)
        return receipt

    async def _outbound_file(self, attachment: Attachment, ota: Ota) -> OutboundFile:
        """*attachment*'s stored bytes, if the booking's OTA takes them (else refused)."""
        label = repr(attachment.filename or attachment.kind.value)
        key = media_key_of(attachment.url)
        if key is None:
            raise AttachmentRefused(f"the file {label} has no stored copy to send")
        try:
            stored = await self.context.media.stat(self.context.hotel, key)
            check_attachment(ota, attachment, stored)
            data = await self.context.media.read(self.context.hotel, key)
        except (MediaNotFound, MediaStoreMissing) as missing:
            raise AttachmentRefused(f"the file {label} cannot be read: {missing}") from None
        name = attachment.filename or stored.filename or f"{attachment.kind.value}-{key[:12]}"
        return OutboundFile(data=data, mime_type=stored.mime_type, filename=name)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[ChannexClient]:
        """A Channex API client for this hotel's key and environment.

        Over the channel's HTTP client while ``run`` runs; otherwise (a parse or a
        send before ``run`` started or after it ended, tests) over one of its own,
        closed on exit.
        """
        if self._http is not None:
            yield self._client_over(self._http)
            return
        async with self._new_http() as http:
            yield self._client_over(http)

    def _client_over(self, http: httpx.AsyncClient) -> ChannexClient:
        return ChannexClient(
            http, root=self.settings.api_root, api_key=self.settings.api_key.get_secret_value()
        )

    def _new_http(self) -> httpx.AsyncClient:
        # The timeout applies to each request, shared client or not.
        timeout = timedelta(seconds=self.settings.request_timeout_seconds).total_seconds()
        return httpx.AsyncClient(timeout=timeout, verify=self._tls)

    @cached_property
    def _tls(self) -> SSLContext:
        # httpx loads the CA bundle anew for every client (130 ms on a busy core); the
        # clients made outside ``run`` share this one (docs/benchmarks.md, Channex catch-up).
        return httpx.create_ssl_context()
