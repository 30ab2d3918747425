"""The demo channel: simulated guests in, the log out, signed JSON webhooks."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Final

import anyio
from begasist_core import (
    Capabilities,
    Channel,
    ChannelContext,
    ChannelSettings,
    Direction,
    GuestIdentity,
    InboundPayload,
    Message,
    MessageReceived,
    PermanentSendError,
    SendReceipt,
    TextOverflow,
    WebhookReceived,
    WebhookRequest,
    WebhookResponse,
    new_id,
)

from begasist_channel_demo.settings import DemoSettings
from begasist_channel_demo.webhook import SIGNATURE_HEADER, check_signature, parse_body

__all__ = ["DemoChannel", "DemoTransmission"]

SIMULATED_QUESTIONS: Final = (
    "Hello! Is breakfast included in my booking?",
    "What time is check-out?",
    "Could I have a late check-in, around 11 pm?",
    "Is there parking at the hotel?",
)

OUTBOX_SIZE: Final = 1000
"""Transmissions an instance remembers: enough to inspect, bounded for a long demo."""


@dataclass(frozen=True, slots=True)
class DemoTransmission:
    """One provider message the demo "sent": it goes to the log and to ``outbox``."""

    message_id: str
    provider_message_id: str
    address: str
    text: str


class DemoChannel(Channel[DemoSettings]):
    """A channel with no provider: for demos, and the model for outside authors.

    Guests are simulated (``simulated_guest_interval_seconds``) or arrive as
    signed webhooks; replies are "transmitted" to the log at INFO and kept in
    :attr:`outbox`, which stands in for the provider.
    """

    name: ClassVar[str] = "demo"
    Settings: ClassVar[type[ChannelSettings]] = DemoSettings
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_text_length=160,
        text_overflow=TextOverflow.SPLIT,
        delivery_receipts=True,
        webhook_ingress=True,
    )

    def __init__(self, context: ChannelContext[DemoSettings]) -> None:
        super().__init__(context)
        self.outbox: deque[DemoTransmission] = deque(maxlen=OUTBOX_SIZE)
        """What this instance transmitted, oldest first."""

    async def run(self) -> None:
        """Emit a simulated guest message every interval; with no interval, just wait."""
        interval = self.settings.simulated_guest_interval_seconds
        if interval <= 0:
            await anyio.sleep_forever()
        guests = itertools.cycle(self.settings.guests)
        questions = itertools.cycle(SIMULATED_QUESTIONS)
        while True:
            await anyio.sleep(interval)
            guest, text = next(guests), next(questions)
            message = Message(
                hotel=self.context.hotel,
                channel=self.name,
                conversation_key=guest.address,
                direction=Direction.INBOUND,
                guest=GuestIdentity(
                    channel=self.name, address=guest.address, display_name=guest.name
                ),
                text=text,
                provider_message_id=f"sim-{new_id()}",
            )
            self.context.logger.info("← %s: %s", guest.address, text)
            await self.context.emit(MessageReceived(message=message))

    async def send(self, message: Message) -> SendReceipt:
        """Transmit *message* once per id, split into parts of at most 160 characters."""
        earlier = await self.context.sent.get(message.id)
        if earlier is not None:
            return earlier
        if not message.text.strip():
            raise PermanentSendError("the demo channel sends text only, and this has none")
        provider_ids: list[str] = []
        for part in self.split_text(message.text):
            transmission = DemoTransmission(
                message_id=message.id,
                provider_message_id=f"demo-{new_id()}",
                address=message.guest.address,
                text=part,
            )
            self.context.logger.info("→ %s: %s", transmission.address, transmission.text)
            self.outbox.append(transmission)
            provider_ids.append(transmission.provider_message_id)
        receipt = SendReceipt(message_id=message.id, provider_message_ids=tuple(provider_ids))
        # Recorded after transmitting: a crash in between sends again on redelivery, which
        # is the at-least-once side of the trade (a lost reply would be worse).
        await self.context.sent.record(receipt)
        return receipt

    @classmethod
    def verify(cls, request: WebhookRequest, settings: ChannelSettings) -> WebhookResponse:
        """Accept a POST whose X-Demo-Signature is the HMAC-SHA256 of its body."""
        if not isinstance(settings, DemoSettings):
            raise TypeError(f"the demo channel verifies with DemoSettings, not {settings!r}")
        check_signature(
            settings.webhook_secret.get_secret_value(),
            request.body,
            request.headers.get(SIGNATURE_HEADER),
        )
        return WebhookResponse()

    async def parse(self, webhook: WebhookReceived) -> Sequence[InboundPayload]:
        """The guest messages and delivery statuses of a verified delivery."""
        return parse_body(webhook.body, hotel=self.context.hotel, channel=self.name)
