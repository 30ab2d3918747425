"""What each WhatsApp message kind becomes in a normalized message: text and attachments."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from begasist_core import Attachment, AttachmentKind, InteractiveContent

from begasist_channels_whatsapp.interactive import interactive_content
from begasist_channels_whatsapp.payload import ErrorDetail, InboundMessage, Media

__all__ = ["UNSUPPORTED_PLACEHOLDER", "Content", "SkippedItem", "content_of"]

UNSUPPORTED_PLACEHOLDER: Final = "[unsupported WhatsApp message]"
"""The text kept for a message WhatsApp could not deliver to the Cloud API."""

_MEDIA_KINDS: Final = {
    "image": AttachmentKind.IMAGE,
    "video": AttachmentKind.VIDEO,
    "audio": AttachmentKind.AUDIO,
    "document": AttachmentKind.DOCUMENT,
    "sticker": AttachmentKind.STICKER,
}


class SkippedItem(Exception):
    """An item of a webhook that becomes no event; the message is the logged reason."""


@dataclass(frozen=True)
class Content:
    """A message's text and attachments, as Begasist keeps them."""

    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    interactive: InteractiveContent | None = None
    """A form's, choice's or request's answers, structured (the text says them too)."""
    notes: tuple[str, ...] = ()
    """Why a message was kept as a placeholder (Meta's error descriptions)."""


def clip(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[: limit - 1] + "…"


def _hex_sha256(value: str | None) -> str | None:
    """Meta sends the SHA-256 of media in base64; Begasist keeps it in hex, when it is one."""
    try:
        digest = base64.b64decode(value or "", validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None


def _media(message: InboundMessage) -> Content:
    kind = _MEDIA_KINDS[message.type]
    media: Media | None = getattr(message, message.type)
    if media is None:
        raise SkippedItem(f"a {message.type} message without its {message.type} object")
    attachment = Attachment(
        kind=kind,
        mime_type=clip(media.mime_type, 255),
        filename=clip(media.filename, 255),
        sha256=_hex_sha256(media.sha256),
        provider_ref=clip(media.id, 1024),
        caption=clip(media.caption, 4096),
    )
    return Content(text=media.caption or "", attachments=(attachment,))


def _text(message: InboundMessage) -> Content:
    if message.text is None:
        raise SkippedItem("a text message without its text object")
    return Content(text=message.text.body)


def _location(message: InboundMessage) -> Content:
    place = message.location
    if place is None:
        raise SkippedItem("a location message without its location object")
    label = ", ".join(part for part in (place.name, place.address) if part)
    where = f"{place.latitude}, {place.longitude}"
    attachment = Attachment(
        kind=AttachmentKind.LOCATION,
        url=clip(place.url, 2048) or f"geo:{place.latitude},{place.longitude}",
        caption=clip(label, 4096) or None,
    )
    return Content(
        text=f"Location: {label} ({where})" if label else f"Location: {where}",
        attachments=(attachment,),
    )


def _contacts(message: InboundMessage) -> Content:
    if not message.contacts:
        raise SkippedItem("a contacts message without contacts")
    cards: list[str] = []
    for card in message.contacts:
        name = card.name.formatted_name or " ".join(
            part for part in (card.name.first_name, card.name.last_name) if part
        )
        phones = ", ".join(phone.phone or phone.wa_id or "" for phone in card.phones)
        cards.append(f"{name} ({phones})" if phones else name or "(no name)")
    attachments = tuple(
        Attachment(kind=AttachmentKind.CONTACT, caption=clip(card, 4096)) for card in cards
    )
    return Content(text="Contacts: " + "; ".join(cards), attachments=attachments)


def _interactive(message: InboundMessage) -> Content:
    if message.interactive is None:
        raise SkippedItem("an interactive message without its interactive object")
    read = interactive_content(message.interactive)
    if read is None:
        raise SkippedItem("an interactive message without a readable reply")
    text, structure = read
    return Content(text=clip(text, 65536) or "", interactive=structure)


def _button(message: InboundMessage) -> Content:
    if message.button is None:
        raise SkippedItem("a button message without its button object")
    return Content(text=message.button.text)


def _order(message: InboundMessage) -> Content:
    order = message.order
    if order is None:
        raise SkippedItem("an order message without its order object")
    items = [
        f"{item.quantity:g} x {item.product_retailer_id}"
        + (f" at {item.item_price:g} {item.currency or ''}".rstrip() if item.item_price else "")
        for item in order.product_items
    ]
    lines = [f"Order ({len(items)} items): " + "; ".join(items)]
    if order.text:
        lines.append(order.text)
    return Content(text="\n".join(lines))


def _unsupported(message: InboundMessage, errors: Sequence[ErrorDetail] = ()) -> Content:
    kind = message.unsupported.type if message.unsupported else None
    reasons = [error.describe() for error in (*message.errors, *errors)]
    text = f"{UNSUPPORTED_PLACEHOLDER[:-1]}: {kind}]" if kind else UNSUPPORTED_PLACEHOLDER
    return Content(text=text, notes=tuple(reasons))


_BY_TYPE: Final[dict[str, Callable[[InboundMessage], Content]]] = {
    **dict.fromkeys(_MEDIA_KINDS, _media),
    "text": _text,
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "order": _order,
    "unsupported": _unsupported,
}


def content_of(message: InboundMessage, change_errors: Sequence[ErrorDetail] = ()) -> Content:
    """The normalized content of *message*; SkippedItem for a kind Begasist does not keep.

    A message WhatsApp itself reports as unreadable (errors on the message or its
    change, and no content) is kept with a placeholder, so staff see that the guest
    wrote.
    """
    convert = _BY_TYPE.get(message.type)
    if convert is None:
        raise SkippedItem(f"a message of unknown type {message.type!r}")
    try:
        return convert(message)
    except SkippedItem:
        if message.errors or change_errors:
            return _unsupported(message, change_errors)
        raise
