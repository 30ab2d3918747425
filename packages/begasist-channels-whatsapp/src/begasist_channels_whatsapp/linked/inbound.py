"""A linked device's incoming message as a normalized ``message.received``, or why it is not one."""

from __future__ import annotations

from typing import Final

from begasist_core import (
    Attachment,
    AttachmentKind,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
)

from begasist_channels_whatsapp.content import SkippedItem, clip
from begasist_channels_whatsapp.linked.client import IncomingMessage
from begasist_channels_whatsapp.reader import CHANNEL
from begasist_channels_whatsapp.settings import WhatsAppSettings

__all__ = ["guest_address", "to_message_received"]

_MEDIA_KINDS: Final = {kind.value: kind for kind in AttachmentKind}

_NOT_CHATS: Final = ("@broadcast", "@newsletter")
"""Status updates (``status@broadcast``), broadcast lists and channels: not a guest talking."""


def guest_address(message: IncomingMessage) -> str:
    """The guest's address: the phone number, as the Cloud API's ``wa_id`` gives it.

    The same guest then keeps one identity whichever transport the hotel uses.
    A sender known only by a ``@lid`` privacy id keeps that id, which is no
    phone number but still answers.
    """
    if message.sender_phone:
        return message.sender_phone
    user, _, server = message.sender.partition("@")
    return user.split(":", 1)[0] if server == "s.whatsapp.net" else message.sender


def to_message_received(
    message: IncomingMessage, *, hotel: str, settings: WhatsAppSettings
) -> MessageReceived:
    """The normalized event; :class:`SkippedItem` (the reason) for what is not a guest's message."""
    if message.from_me:
        raise SkippedItem(f"{message.message_id} was written by the hotel's own account")
    if message.chat.endswith(_NOT_CHATS):
        raise SkippedItem(f"{message.message_id} is in {message.chat}, not a chat")
    if message.is_group and settings.ignore_groups:
        raise SkippedItem(f"{message.message_id} is in group {message.chat} (ignore_groups)")
    attachments: tuple[Attachment, ...] = ()
    if message.media_kind is not None:
        # Metadata only: the bytes stay on WhatsApp's servers (not downloaded yet).
        attachments = (
            Attachment(
                kind=_MEDIA_KINDS.get(message.media_kind, AttachmentKind.OTHER),
                mime_type=clip(message.mime_type, 255),
                filename=clip(message.filename, 255),
                caption=clip(message.text or None, 4096),
            ),
        )
    elif not message.text:
        raise SkippedItem(f"{message.message_id} carries neither text nor media Begasist keeps")
    address = guest_address(message)
    guest = GuestIdentity(
        channel=CHANNEL, address=address, display_name=clip(message.push_name or None, 200)
    )
    return MessageReceived(
        message=Message(
            hotel=hotel,
            channel=CHANNEL,
            # As the Cloud reader: the group for a group message, else the guest's number.
            conversation_key=message.chat if message.is_group else address,
            direction=Direction.INBOUND,
            guest=guest,
            text=message.text,
            attachments=attachments,
            provider_message_id=message.message_id,
            reply_to=message.quoted_id,
            created_at=message.timestamp,
            updated_at=message.timestamp,
        )
    )
