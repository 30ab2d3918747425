"""The normalized cross-channel message, its guest identity, attachments and status."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, NonNegativeInt

from begasist_core.models.changes import (
    MessageChanges,
    MessageDeletion,
    MessageEdit,
    MessageReaction,
    apply_change,
)
from begasist_core.models.context import MessageContext
from begasist_core.models.ids import new_id
from begasist_core.models.names import ChannelName, HotelSlug

__all__ = [
    "Attachment",
    "AttachmentKind",
    "DeliveryStatus",
    "Direction",
    "GuestIdentity",
    "Message",
    "MessageTemplate",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (every timestamp in Begasist is)."""
    return datetime.now(UTC)


class Direction(StrEnum):
    INBOUND = "inbound"
    """From a guest to the hotel."""
    OUTBOUND = "outbound"
    """From the hotel (staff or assistant) to a guest."""


class DeliveryStatus(StrEnum):
    """Where a message is: an outbound one on its way to the guest, an inbound one
    with the hotel's staff.

    Outbound, the order is ``queued < sent < delivered < read`` and a message
    only moves forward: a late ``delivered`` receipt after ``read`` changes
    nothing. Failure is not a step of this order but a flag on the message
    (:attr:`Message.failed`), because a provider may report a failure after a
    message was sent. Inbound, the suite stores a guest's message as
    ``received`` and moves it to ``read`` once a staff member has read it;
    ``received`` comes first in the order, so no receipt moves a message back
    to it.
    """

    RECEIVED = "received"
    """Inbound: stored, not yet read by the hotel's staff."""
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]

    def advanced_to(self, other: DeliveryStatus) -> DeliveryStatus:
        """The later of ``self`` and ``other``: status never moves backwards."""
        return other if other.rank > self.rank else self


_STATUS_RANK = {status: rank for rank, status in enumerate(DeliveryStatus)}


class GuestIdentity(BaseModel):
    """Who a guest is on one channel: a phone number, an email address, a chat id.

    The pair ``(channel, address)`` identifies a guest on that channel; the
    suite links identities of one person across channels.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: ChannelName
    address: Annotated[str, Field(min_length=1, max_length=320)]
    display_name: Annotated[str | None, Field(max_length=200)] = None


class AttachmentKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"


class Attachment(BaseModel):
    """Metadata of a file or rich element attached to a message, never its bytes.

    The bytes stay with the provider (``provider_ref``) or in the suite's media
    store (``url``); events carry only this description.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AttachmentKind
    mime_type: Annotated[str | None, Field(max_length=255)] = None
    filename: Annotated[str | None, Field(max_length=255)] = None
    size_bytes: NonNegativeInt | None = None
    sha256: Annotated[str | None, Field(pattern=r"^[0-9a-f]{64}$")] = None
    provider_ref: Annotated[str | None, Field(max_length=1024)] = None
    url: Annotated[str | None, Field(max_length=2048)] = None
    caption: Annotated[str | None, Field(max_length=4096)] = None


class MessageTemplate(BaseModel):
    """A provider-approved template to send instead of free text.

    Channels whose ``capabilities.templates`` is true accept it; outside the
    reply window it is the only thing they send. ``components`` are the
    provider's own parameter objects (for WhatsApp, the Cloud API's
    ``template.components``), passed through as JSON.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")]
    language: Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[a-zA-Z_]+$")]
    """The template's language code as the provider knows it (``es``, ``en_US``)."""
    components: tuple[dict[str, JsonValue], ...] = ()


class Message(BaseModel):
    """One message of a conversation, the same shape on every channel.

    Identity: ``id`` is Begasist's own ULID. For inbound messages the triple
    ``(hotel, channel, provider_message_id)`` is unique, which is what makes a
    replayed webhook or a redelivered event change nothing.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    hotel: HotelSlug
    channel: ChannelName
    conversation_key: Annotated[str, Field(min_length=1, max_length=512)]
    """The channel's own thread key: a WhatsApp number, an email thread root id."""
    direction: Direction
    guest: GuestIdentity
    text: Annotated[str, Field(max_length=65536)] = ""
    attachments: tuple[Attachment, ...] = ()
    template: MessageTemplate | None = None
    """Outbound only: send this template (``text`` is then a preview for the inbox)."""
    automated: Annotated[str | None, Field(max_length=200)] = None
    """Inbound only: why the assistant must not answer this message (it came from a
    machine: an auto-reply, a bounce, a mailing list; it could not be read; or it
    holds nothing to answer, such as an empty mail or one of only quoted history),
    or None for a person's readable message. Staff still see it."""
    context: MessageContext | None = None
    """Inbound: what the channel knows beyond the text (the booking the message is
    about), or None; see :class:`~begasist_core.models.context.MessageContext`."""
    provider_message_id: Annotated[str | None, Field(max_length=512)] = None
    reply_to: Annotated[str | None, Field(max_length=512)] = None
    """The provider message id of the message this one answers (or quotes), if any."""
    changes: MessageChanges | None = None
    """Edits, deletion and reactions since it was sent, as the suite's store keeps them
    (channels report them with ``message.changed``); None when there were none."""
    created_at: AwareDatetime = Field(default_factory=utc_now)
    updated_at: AwareDatetime = Field(default_factory=utc_now)
    status: DeliveryStatus = DeliveryStatus.QUEUED
    sent_by: Annotated[str | None, Field(max_length=64)] = None
    """Outbound only: who sent it, as the suite records it: a staff member's user id
    (their reply, or the assistant's draft they approved), ``"assistant"`` for the
    assistant's own reply; None for a guest's message or when nobody was recorded."""
    failed: bool = False
    failure_reason: Annotated[str | None, Field(max_length=2000)] = None

    def with_change(
        self,
        change: MessageEdit | MessageDeletion | MessageReaction,
        *,
        at: datetime,
        by: str | None = None,
    ) -> Self:
        """A copy with *change* (made at *at*, by *by* for a reaction) applied forward-only.

        Applying a change again, or one older than what it already shows, gives
        back ``self`` (see :func:`~begasist_core.models.changes.apply_change`).
        """
        if at.tzinfo is None:
            raise ValueError("change times must be timezone-aware")
        text, changes = apply_change(self.text, self.created_at, self.changes, change, at=at, by=by)
        if text == self.text and changes is self.changes:
            return self
        return self.model_copy(
            update={"text": text, "changes": changes, "updated_at": max(self.updated_at, at)}
        )

    def with_status(
        self,
        status: DeliveryStatus,
        *,
        at: datetime | None = None,
        failed: bool = False,
        failure_reason: str | None = None,
    ) -> Self:
        """A copy moved forward to *status* (never backwards); a failure sticks."""
        when = at or utc_now()
        if when.tzinfo is None:
            raise ValueError("status times must be timezone-aware")
        return self.model_copy(
            update={
                "status": self.status.advanced_to(status),
                "updated_at": max(self.updated_at, when),
                "failed": self.failed or failed,
                "failure_reason": (failure_reason or self.failure_reason)
                if failed
                else self.failure_reason,
            }
        )
