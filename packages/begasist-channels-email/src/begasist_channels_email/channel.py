"""The email channel: the hotel's mailbox by IMAP in, replies by SMTP out, threaded."""

from __future__ import annotations

from typing import ClassVar

from begasist_core import (
    AttachmentKind,
    Capabilities,
    Channel,
    ChannelContext,
    ChannelSettings,
    Message,
    SendReceipt,
)

from begasist_channels_email.inbound import ImapInbound
from begasist_channels_email.outbound import EmailSender
from begasist_channels_email.receiving import CHANNEL, Receiver
from begasist_channels_email.settings import EmailSettings
from begasist_channels_email.threads import ThreadIndex

__all__ = ["EmailChannel"]


class EmailChannel(Channel[EmailSettings]):
    """A hotel's email address.

    ``run`` keeps an IMAP connection to the inbox (IDLE, or polling without
    it), hands each new message to a :class:`Receiver` (parse, thread, store
    attachments, emit) and moves its cursor only once the event is out.
    ``send`` composes a threaded reply (our Message-ID, In-Reply-To,
    References, "Re:" subject, text and HTML) and submits it by SMTP, once
    per message id. One :class:`ThreadIndex` serves both directions, so a
    guest's answer to our reply lands in the same conversation.
    """

    name: ClassVar[str] = CHANNEL
    Settings: ClassVar[type[ChannelSettings]] = EmailSettings
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_text_length=None,
        media_kinds=frozenset(
            {
                AttachmentKind.IMAGE,
                AttachmentKind.DOCUMENT,
                AttachmentKind.AUDIO,
                AttachmentKind.VIDEO,
            }
        ),
        threading=True,
    )

    def __init__(self, context: ChannelContext[EmailSettings]) -> None:
        super().__init__(context)
        self.threads = ThreadIndex(context.keys)
        self.receiver = Receiver(context, self.threads)
        self.sender = EmailSender(context, self.threads)

    async def run(self) -> None:
        """Receive from the inbox until cancelled (see :class:`ImapInbound`)."""
        inbound = ImapInbound(
            self.context,
            self.receiver.deliver,
            first_start_backfill=self.settings.import_existing_mail,
        )
        await inbound.run()

    async def send(self, message: Message) -> SendReceipt:
        """Send *message* by SMTP as a reply in its thread, once per message id."""
        return await self.sender.send(message)
