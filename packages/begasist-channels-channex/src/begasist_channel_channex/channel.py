"""The channel: guests write in by signed webhook, replies go out by ``send``."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

from begasist_core import (
    Capabilities,
    Channel,
    ChannelContext,
    ChannelSettings,
    InboundPayload,
    Message,
    PermanentSendError,
    SendReceipt,
    TextOverflow,
    WebhookReceived,
    WebhookRequest,
    WebhookResponse,
    new_id,
)

from begasist_channel_channex.settings import (
    ChannexSettings,
)
from begasist_channel_channex.webhook import (
    SIGNATURE_HEADER,
    check_signature,
    parse_body,
)

__all__ = [
    "ChannexChannel",
    "ChannexTransmission",
]

OUTBOX_SIZE: Final = 1000
"""Transmissions an instance remembers until ``transmit`` calls a real provider."""


@dataclass(frozen=True, slots=True)
class ChannexTransmission:
    """One message handed to the provider (for now, to ``outbox``)."""

    provider_message_id: str
    address: str
    text: str


class ChannexChannel(Channel[ChannexSettings]):
    """The channel of one hotel: the channelbot builds an instance per hotel."""

    name: ClassVar[str] = "channex"
    Settings: ClassVar[type[ChannelSettings]] = ChannexSettings
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_text_length=1000,
        text_overflow=TextOverflow.SPLIT,
        webhook_ingress=True,
    )

    def __init__(self, context: ChannelContext[ChannexSettings]) -> None:
        super().__init__(context)
        self.outbox: deque[ChannexTransmission] = deque(maxlen=OUTBOX_SIZE)
        """What ``transmit`` handed over, oldest first: the provider's stand-in."""

    async def send(self, message: Message) -> SendReceipt:
        """Send *message* once per id, in parts of at most ``max_text_length``."""
        earlier = await self.context.sent.get(message.id)
        if earlier is not None:
            return earlier
        if not message.text.strip():
            raise PermanentSendError("this channel sends text only, and this has none")
        provider_ids = [
            await self.transmit(message.guest.address, part)
            for part in self.split_text(message.text)
        ]
        receipt = SendReceipt(message_id=message.id, provider_message_ids=tuple(provider_ids))
        # Recorded after transmitting: a crash in between sends again on redelivery, which
        # is the at-least-once side of the trade (a lost reply would be worse).
        await self.context.sent.record(receipt)
        return receipt

    async def transmit(self, address: str, text: str) -> str:
        """Hand one message to the provider and return the id the provider gave it.

        Replace this with your provider's API call. Raise ``PermanentSendError``
        for an answer that retrying cannot change (an unknown recipient); any
        other exception is retried.
        """
        transmission = ChannexTransmission(
            provider_message_id=f"channex-{new_id()}",
            address=address,
            text=text,
        )
        self.context.logger.info("→ %s: %s", address, text)
        self.outbox.append(transmission)
        return transmission.provider_message_id

    @classmethod
    def verify(cls, request: WebhookRequest, settings: ChannelSettings) -> WebhookResponse:
        """Accept a delivery whose signature header signs its body (no I/O: the suite runs it)."""
        if not isinstance(settings, ChannexSettings):
            raise TypeError(f"expected {cls.Settings.__name__}, not {type(settings).__name__}")
        check_signature(
            settings.webhook_secret.get_secret_value(),
            request.body,
            request.headers.get(SIGNATURE_HEADER),
        )
        return WebhookResponse()

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        """The guest messages of a delivery the suite verified (runs in the channelbot)."""
        return parse_body(webhook.body, hotel=self.context.hotel, channel=self.name)
