"""The WhatsApp channel: Cloud API webhooks in, messages out by the Cloud API or a linked device."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

from begasist_core import (
    Capabilities,
    Channel,
    ChannelCommand,
    ChannelContext,
    ChannelError,
    ChannelSettings,
    ChannelState,
    InboundPayload,
    Message,
    MessageEchoed,
    MessageReceived,
    SendReceipt,
    SharedWebhook,
    WebhookReceived,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
)
from pydantic import BaseModel

from begasist_channels_whatsapp import shared_webhook
from begasist_channels_whatsapp.cloud import PART_TTL, CloudTransport
from begasist_channels_whatsapp.media import MediaDownloader, download_all
from begasist_channels_whatsapp.reader import CHANNEL, read_webhook
from begasist_channels_whatsapp.reconcile import record_reported_part
from begasist_channels_whatsapp.sending import SENDABLE_KINDS
from begasist_channels_whatsapp.settings import WhatsAppSettings
from begasist_channels_whatsapp.signature import (
    SIGNATURE_HEADER,
    answer_handshake,
    check_signature,
)
from begasist_channels_whatsapp.transport import Transport
from begasist_channels_whatsapp.window import CustomerServiceWindow

__all__ = ["WhatsAppChannel"]


class WhatsAppChannel(Channel[WhatsAppSettings]):
    """A hotel's WhatsApp Business number on Meta's Cloud API.

    Receives by webhook: the suite calls :meth:`verify` (handshake and
    signature), the bot :meth:`parse`, which also records each guest's
    customer-service window. ``run``, ``send`` and ``command`` go to the
    transport chosen by ``settings.transport``: :class:`CloudTransport`
    (Meta's Cloud API) or the linked-device transport.
    """

    name: ClassVar[str] = CHANNEL
    Settings: ClassVar[type[ChannelSettings]] = WhatsAppSettings
    AppSettings: ClassVar[type[BaseModel] | None] = shared_webhook.WhatsAppAppSettings
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_text_length=4096,
        media_kinds=SENDABLE_KINDS,
        templates=True,
        delivery_receipts=True,
        reply_window=timedelta(hours=24),
        threading=True,
        webhook_ingress=True,
        shared_webhook=True,
        # With ``transport = "linked"`` the number pairs by a QR code shown in the admin.
        qr_pairing=True,
    )

    def __init__(self, context: ChannelContext[WhatsAppSettings]) -> None:
        super().__init__(context)
        self.window = CustomerServiceWindow(context.keys)
        self.transport: Transport = self._make_transport(context)

    @classmethod
    def _make_transport(cls, context: ChannelContext[WhatsAppSettings]) -> Transport:
        if context.settings.transport == "linked":
            # Imported only when chosen: it brings a WhatsApp Web client along.
            try:
                from begasist_channels_whatsapp.linked import LinkedTransport
            except ImportError as error:
                raise ChannelError(f"the linked transport cannot be loaded: {error}") from error
            return LinkedTransport(context)
        return CloudTransport(context, split_text=cls.split_text)

    async def run(self) -> None:
        """Run the transport until cancelled (the Cloud API's holds its HTTP client)."""
        await self.transport.run()

    async def send(self, message: Message) -> SendReceipt:
        """Send through the transport: once per message id, paced, retried when worth it."""
        return await self.transport.send(message)

    async def command(self, command: ChannelCommand) -> None:
        """Pass an operator's command to the transport (``logout`` for a linked device)."""
        await self.transport.command(command)

    @classmethod
    def route_key(cls, settings: ChannelSettings) -> str | None:
        """The hotel's ``phone_number_id``: its key on the app's shared callback URL."""
        return shared_webhook.route_key(settings)

    @classmethod
    def verify_shared(cls, request: WebhookRequest, app_settings: BaseModel) -> SharedWebhook:
        """Verify a delivery to the app's shared URL and split it per phone number."""
        return shared_webhook.verify_shared(request, app_settings)

    @classmethod
    def verify(cls, request: WebhookRequest, settings: ChannelSettings) -> WebhookResponse:
        """Answer Meta's GET handshake, or accept a POST signed with the app secret."""
        if not isinstance(settings, WhatsAppSettings):
            raise TypeError(
                f"whatsapp verifies with WhatsAppSettings, not {type(settings).__name__}"
            )
        if settings.verify_token is None or settings.app_secret is None:
            raise WebhookRejected("this WhatsApp channel has no Cloud API webhook configured")
        method = request.method.upper()
        if method == "GET":
            return answer_handshake(request, settings.verify_token.get_secret_value())
        if method != "POST":
            raise WebhookRejected(f"WhatsApp webhooks are GET or POST, not {request.method!r}")
        check_signature(
            settings.app_secret.get_secret_value(),
            request.body,
            request.headers.get(SIGNATURE_HEADER),
        )
        return WebhookResponse()

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        """The guest messages and delivery statuses of a verified delivery.

        Items Begasist does not keep are skipped with a logged reason; only a
        body that is not a WhatsApp webhook at all raises (ParseError). Media
        is downloaded into the media store before the message is returned.
        A wamid seen before (Meta retries, or repeats a message in another
        body) gives the same event with the same key: the suite stores it once.
        A status naming one of Begasist's sent parts (its
        ``biz_opaque_callback_data``) records that part's wamid first.
        """
        contents = read_webhook(
            webhook.body,
            hotel=self.context.hotel,
            settings=self.settings,
            received_at=webhook.received_at,
        )
        for reason in contents.skipped:
            self.context.logger.info("whatsapp webhook: skipped %s", reason)
        for note in contents.notes:
            self.context.logger.info("whatsapp webhook: %s", note)
        for notice in contents.notices:
            # The account's restrictions and quality show on the channel's state, where
            # operators look; the channel goes on serving.
            self.context.logger.warning("whatsapp account: %s", notice.detail)
            await self.context.report_state(ChannelState.RUNNING, notice.detail)
        for part in contents.reported_parts:
            # Before the status goes on: a send waiting on an uncertain part learns it was sent.
            await record_reported_part(self.context.keys, part, PART_TTL)
        events = contents.events
        if isinstance(self.transport, CloudTransport) and any(
            isinstance(event, MessageReceived | MessageEchoed) and event.message.attachments
            for event in events
        ):
            # Right after receipt: Meta's download URLs live minutes. A refused or
            # failed download keeps the message, with the media id to fetch later.
            async with self.transport.http() as client:
                downloader = MediaDownloader(
                    client, self.settings, self.context.media, self.context.hotel
                )
                events = await download_all(events, downloader, self.context.logger)
        for event in events:
            if isinstance(event, MessageReceived):
                # Every guest message (re)opens the 24 hours in which free text may be sent.
                guest = event.message.guest.address
                await self.window.record(guest, event.message.created_at)
        return events
