"""A Begasist message as the Cloud API messages that carry it (send payloads, in order).

The text goes first, split at the 4096-character limit, then one message per
attachment; a template is a message of its own. The reply context rides on
the first message only, so the guest sees the answer attached to their
question once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from begasist_core import Attachment, AttachmentKind, Message, MessageTemplate

from begasist_channels_whatsapp.errors import UnsendableMessage

__all__ = ["CAPTION_LIMIT", "SENDABLE_KINDS", "SendPlan", "plan_message"]

SENDABLE_KINDS: Final = frozenset(
    {
        AttachmentKind.IMAGE,
        AttachmentKind.VIDEO,
        AttachmentKind.AUDIO,
        AttachmentKind.DOCUMENT,
        AttachmentKind.STICKER,
    }
)
"""The attachment kinds the Cloud API takes as media messages."""

_CAPTIONED: Final = frozenset({AttachmentKind.IMAGE, AttachmentKind.VIDEO, AttachmentKind.DOCUMENT})
CAPTION_LIMIT: Final = 1024
"""Meta's limit for a media caption, in characters."""


@dataclass(frozen=True, slots=True)
class SendPlan:
    """The Cloud API payloads of one message, in sending order."""

    payloads: tuple[dict[str, Any], ...]
    free_form: bool
    """Text or media: allowed only within the customer-service window (a template is not)."""


def plan_message(message: Message, split_text: Callable[[str], Sequence[str]]) -> SendPlan:
    """The payloads sending *message* to ``message.guest.address``; else UnsendableMessage.

    *split_text* cuts the text into parts within the channel's limit.
    """
    if message.template is not None:
        if message.attachments:
            raise UnsendableMessage(
                "a template message carries its media in the template's header, not as attachments"
            )
        bodies = [("template", _template(message.template))]
    else:
        texts = _text_parts(message, split_text)
        bodies = [("text", {"preview_url": False, "body": part}) for part in texts]
        bodies += [_media(number, item) for number, item in enumerate(message.attachments, 1)]
    if not bodies:
        raise UnsendableMessage("the message has no text, attachment or template to send")
    payloads = []
    for index, (kind, body) in enumerate(bodies):
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.guest.address,
            "type": kind,
            kind: body,
        }
        if index == 0 and message.reply_to:
            payload["context"] = {"message_id": message.reply_to}
        payloads.append(payload)
    return SendPlan(payloads=tuple(payloads), free_form=message.template is None)


def _text_parts(message: Message, split_text: Callable[[str], Sequence[str]]) -> list[str]:
    if not message.text.strip():
        return []
    return [part for part in split_text(message.text) if part.strip()]


def _template(template: MessageTemplate) -> dict[str, Any]:
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.components:
        body["components"] = [dict(component) for component in template.components]
    return body


def _media(number: int, attachment: Attachment) -> tuple[str, dict[str, Any]]:
    what = f"attachment {number} ({attachment.kind.value})"
    if attachment.kind not in SENDABLE_KINDS:
        sendable = ", ".join(sorted(kind.value for kind in SENDABLE_KINDS))
        raise UnsendableMessage(f"{what}: WhatsApp sends only {sendable} as attachments")
    body: dict[str, Any]
    if attachment.url and attachment.url.lower().startswith(("https://", "http://")):
        body = {"link": attachment.url}
    elif attachment.provider_ref:
        body = {"id": attachment.provider_ref}
    else:
        raise UnsendableMessage(
            f"{what}: needs an http(s) url Meta can fetch or a WhatsApp media id (provider_ref)"
        )
    if attachment.caption:
        if attachment.kind not in _CAPTIONED:
            raise UnsendableMessage(f"{what}: WhatsApp shows no caption on this kind")
        if len(attachment.caption) > CAPTION_LIMIT:
            raise UnsendableMessage(
                f"{what}: the caption exceeds WhatsApp's {CAPTION_LIMIT} characters"
            )
        body["caption"] = attachment.caption
    if attachment.filename and attachment.kind is AttachmentKind.DOCUMENT:
        # Only documents show a file name; for the other kinds it is dropped, not refused.
        body["filename"] = attachment.filename
    return attachment.kind.value, body
