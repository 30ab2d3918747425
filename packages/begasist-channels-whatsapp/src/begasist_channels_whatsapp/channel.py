"""The WhatsApp channel: Cloud API webhooks in (sending lands later, issue #4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import ClassVar

from begasist_core import (
    AttachmentKind,
    Capabilities,
    Channel,
    ChannelSettings,
    InboundPayload,
    Message,
    PermanentSendError,
    SendReceipt,
    WebhookReceived,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
)

from begasist_channels_whatsapp.reader import CHANNEL, read_webhook
from begasist_channels_whatsapp.settings import WhatsAppSettings
from begasist_channels_whatsapp.signature import (
    SIGNATURE_HEADER,
    answer_handshake,
    check_signature,
)

__all__ = ["WhatsAppChannel"]


class WhatsAppChannel(Channel[WhatsAppSettings]):
    """A hotel's WhatsApp Business number on Meta's Cloud API.

    Receives by webhook: the suite calls :meth:`verify` (handshake and
    signature), the bot :meth:`parse`. Sending is not built yet: :meth:`send`
    fails permanently, so a reply is reported failed instead of retried.
    """

    name: ClassVar[str] = CHANNEL
    Settings: ClassVar[type[ChannelSettings]] = WhatsAppSettings
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_text_length=4096,
        media_kinds=frozenset(
            {
                AttachmentKind.IMAGE,
                AttachmentKind.VIDEO,
                AttachmentKind.AUDIO,
                AttachmentKind.DOCUMENT,
                AttachmentKind.STICKER,
                AttachmentKind.LOCATION,
                AttachmentKind.CONTACT,
            }
        ),
        templates=True,
        delivery_receipts=True,
        reply_window=timedelta(hours=24),
        threading=True,
        webhook_ingress=True,
    )

    async def send(self, message: Message) -> SendReceipt:
        """Not built yet (issue #4): every send fails permanently and says so."""
        raise PermanentSendError("the whatsapp channel cannot send yet (issue #4)")

    @classmethod
    def verify(cls, request: WebhookRequest, settings: ChannelSettings) -> WebhookResponse:
        """Answer Meta's GET handshake, or accept a POST signed with the app secret."""
        if not isinstance(settings, WhatsAppSettings):
            raise TypeError(
                f"whatsapp verifies with WhatsAppSettings, not {type(settings).__name__}"
            )
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
        body that is not a WhatsApp webhook at all raises (ParseError).
        """
        contents = read_webhook(webhook.body, hotel=self.context.hotel, settings=self.settings)
        for reason in contents.skipped:
            self.context.logger.info("whatsapp webhook: skipped %s", reason)
        for note in contents.notes:
            self.context.logger.info("whatsapp webhook: %s", note)
        return contents.events
