"""The parts of a Cloud API webhook body that Begasist reads, as lenient pydantic models.

Unknown keys are ignored everywhere: Meta adds fields, and an old parser must go
on working. Messages and statuses stay raw dicts in :class:`MessagesValue` so that
one unreadable item is skipped on its own instead of failing its whole delivery.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "Contact",
    "ContactCard",
    "EchoesValue",
    "Edit",
    "Envelope",
    "ErrorDetail",
    "InboundMessage",
    "Location",
    "Media",
    "MessagesValue",
    "Order",
    "StatusUpdate",
]

ProviderId = Annotated[str, Field(min_length=1, max_length=512)]
Address = Annotated[str, Field(min_length=1, max_length=320)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Change(_Model):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Model):
    id: str = ""
    changes: list[Change] = Field(default_factory=list)


class Envelope(_Model):
    """A whole delivery: entries of changes, each change one ``field`` of the account."""

    object: Literal["whatsapp_business_account"]
    entry: list[Entry]


class Metadata(_Model):
    phone_number_id: str
    display_phone_number: str | None = None


class Profile(_Model):
    name: str | None = None


class Contact(_Model):
    """Who wrote: the sender's WhatsApp id and profile name."""

    wa_id: str
    profile: Profile = Profile()


class ErrorData(_Model):
    details: str | None = None


class ErrorDetail(_Model):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None

    def describe(self) -> str:
        """``<code> <title>: <details>``, leaving out what Meta did not send."""
        head = " ".join(str(part) for part in (self.code, self.title or self.message) if part)
        details = self.error_data.details if self.error_data else None
        return f"{head}: {details}" if head and details else head or details or "unknown error"


class EchoesValue(_Model):
    """The ``value`` of an ``smb_message_echoes`` change: messages the business sent
    from the WhatsApp Business app (or a linked device) on the same number."""

    metadata: Metadata | None = None
    message_echoes: list[dict[str, Any]] = Field(default_factory=list)


class MessagesValue(_Model):
    """The ``value`` of a ``messages`` change."""

    metadata: Metadata | None = None
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    statuses: list[dict[str, Any]] = Field(default_factory=list)
    errors: list[ErrorDetail] = Field(default_factory=list)


class Context(_Model):
    id: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False


class Text(_Model):
    body: str


class Media(_Model):
    """An image, video, audio (``voice`` for a voice note), document or sticker."""

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool = False


class Location(_Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class CardName(_Model):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class Phone(_Model):
    phone: str | None = None
    wa_id: str | None = None


class ContactCard(_Model):
    name: CardName = CardName()
    phones: list[Phone] = Field(default_factory=list)


class Reaction(_Model):
    message_id: str
    emoji: str | None = None


class Edit(_Model):
    """A guest's edit: the wamid of the message edited and the message as it is now."""

    original_message_id: ProviderId
    message: dict[str, Any] = Field(default_factory=dict)


class Revoke(_Model):
    original_message_id: ProviderId


class Button(_Model):
    text: str
    payload: str | None = None


class ProductItem(_Model):
    product_retailer_id: str
    quantity: float
    item_price: float | None = None
    currency: str | None = None


class Order(_Model):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] = Field(default_factory=list)


class Unsupported(_Model):
    type: str | None = None


class InboundMessage(_Model):
    """One guest message (or, in ``message_echoes``, one the business sent: then ``to``
    is the guest); only the object named by ``type`` is expected to be present."""

    id: ProviderId
    sender: Address = Field(alias="from")
    to: Address | None = None
    timestamp: AwareDatetime
    type: str
    group_id: Address | None = None
    context: Context | None = None
    errors: list[ErrorDetail] = Field(default_factory=list)
    text: Text | None = None
    image: Media | None = None
    video: Media | None = None
    audio: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[ContactCard] | None = None
    reaction: Reaction | None = None
    interactive: dict[str, Any] | None = None
    """Kept raw: Meta adds interactive kinds, each read by ``interactive.py``."""
    edit: Edit | None = None
    revoke: Revoke | None = None
    button: Button | None = None
    order: Order | None = None
    unsupported: Unsupported | None = None


class StatusUpdate(_Model):
    """A delivery receipt for a message the hotel sent."""

    id: ProviderId
    status: str
    timestamp: AwareDatetime
    recipient_id: str | None = None
    recipient_type: str | None = None
    errors: list[ErrorDetail] = Field(default_factory=list)
    biz_opaque_callback_data: Annotated[str | None, Field(max_length=512)] = None
    """What the hotel's send carried in the same field, echoed by Meta."""
