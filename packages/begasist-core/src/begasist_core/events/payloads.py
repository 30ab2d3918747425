"""The ``data`` of each event type: one pydantic model per type."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from begasist_core.models.changes import MessageChange, MessageReaction
from begasist_core.models.messages import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    utc_now,
)
from begasist_core.models.names import ChannelName

__all__ = [
    "ChannelCommand",
    "ChannelState",
    "ChannelStateChanged",
    "ConfigChanged",
    "GuestPreferenceChanged",
    "MessageChanged",
    "MessageEchoed",
    "MessageReceived",
    "MessageSend",
    "MessageStatusChanged",
    "TemplateStatusChanged",
    "WebhookReceived",
]


def _bytes_from_base64(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise ValueError(f"not base64: {error}") from None


RawBytes = Annotated[
    bytes,
    BeforeValidator(_bytes_from_base64),
    PlainSerializer(
        lambda raw: base64.b64encode(raw).decode("ascii"), return_type=str, when_used="json"
    ),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Exact bytes: given as ``bytes`` in Python, carried as a base64 string in JSON."""


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MessageReceived(_Payload):
    """A guest's message, normalized by the channel (bot -> suite)."""

    message: Message

    @model_validator(mode="after")
    def _inbound_with_provider_id(self) -> Self:
        if self.message.direction is not Direction.INBOUND:
            raise ValueError("message.received carries an inbound message")
        if not self.message.provider_message_id:
            raise ValueError("an inbound message needs its provider_message_id")
        return self


class MessageChanged(_Payload):
    """A message the channel reported before was edited, deleted or reacted to (bot -> suite).

    The message is named by its provider id (``provider_message_id``), inbound
    or outbound alike: a guest edits their own message and reacts to the hotel's.
    The suite applies changes forward-only by ``at`` (the provider's time) and
    idempotently, so a replay or a late, older change alters nothing.
    """

    channel: ChannelName
    provider_message_id: Annotated[str, Field(min_length=1, max_length=512)]
    """The provider id of the message changed (not of the change)."""
    change: MessageChange
    by: GuestIdentity | None = None
    """Who made the change: a guest; None for the hotel (an echo of its own edit).
    A reaction needs it, the others may leave it out."""
    change_id: Annotated[str | None, Field(max_length=512)] = None
    """The provider's id of the change itself, when it has one (for idempotency)."""
    at: AwareDatetime

    @model_validator(mode="after")
    def _reaction_by_someone(self) -> Self:
        if isinstance(self.change, MessageReaction) and self.by is None:
            raise ValueError("a reaction needs who reacted (by)")
        return self


class MessageEchoed(_Payload):
    """A message the hotel sent from elsewhere on the channel (bot -> suite): the
    provider's own app on the same number, a mail client on the same mailbox.

    The message is ``outbound``, with its ``provider_message_id`` and ``guest``
    (the recipient); the suite stores it in the guest's conversation as sent,
    once per provider id, and never sends it again.
    """

    message: Message

    @model_validator(mode="after")
    def _outbound_with_provider_id(self) -> Self:
        if self.message.direction is not Direction.OUTBOUND:
            raise ValueError("message.echoed carries an outbound message")
        if not self.message.provider_message_id:
            raise ValueError("an echoed message needs its provider_message_id")
        return self


class MessageStatusChanged(_Payload):
    """A delivery receipt for an outbound message (bot -> suite)."""

    channel: ChannelName
    provider_message_id: Annotated[str, Field(min_length=1, max_length=512)]
    message_id: Annotated[str | None, Field(max_length=64)] = None
    """Begasist's id of the message, when the channel knows it."""
    status: DeliveryStatus
    failed: bool = False
    error: Annotated[str | None, Field(max_length=2000)] = None
    at: AwareDatetime = Field(default_factory=utc_now)


_Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class GuestPreferenceChanged(_Payload):
    """A guest opted out of a kind of message on a channel, or back in (bot -> suite).

    ``topic`` names the kind (``marketing``: promotions, the provider's marketing
    templates). The suite keeps the latest by ``at`` on the guest and sends them
    nothing of an opted-out kind.
    """

    channel: ChannelName
    guest: GuestIdentity
    topic: _Slug
    opted_out: bool
    detail: Annotated[str | None, Field(max_length=500)] = None
    """The provider's words, for staff."""
    at: AwareDatetime


class TemplateStatusChanged(_Payload):
    """The provider's word on one of the hotel's message templates changed (bot -> suite):
    its review status, its category, its quality.

    Fields the update does not speak about are None. Statuses and categories are
    the provider's, as lower-case slugs (``approved``, ``rejected``, ``paused``,
    ``disabled``; ``marketing``, ``utility``, ``authentication``). The suite keeps
    the latest by ``at`` per (channel, name, language) and offers staff only
    templates it may send.
    """

    channel: ChannelName
    name: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")]
    language: Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[a-zA-Z_]+$")]
    status: _Slug | None = None
    category: _Slug | None = None
    quality: _Slug | None = None
    reason: Annotated[str | None, Field(max_length=1000)] = None
    at: AwareDatetime


class ChannelState(StrEnum):
    """What a channel's supervisor reports about it."""

    STARTING = "starting"
    RUNNING = "running"
    PAIRING = "pairing"
    """Waiting for a person to pair the device (a QR code is shown)."""
    BACKOFF = "backoff"
    """Crashed; waiting to restart."""
    STOPPED = "stopped"
    DISABLED = "disabled"
    MISCONFIGURED = "misconfigured"
    """Its settings do not validate; it is not started until they change."""


class ChannelStateChanged(_Payload):
    """A channel's state changed in a bot (bot -> suite)."""

    channel: ChannelName
    state: ChannelState
    detail: Annotated[str | None, Field(max_length=2000)] = None
    restarts: NonNegativeInt = 0
    retry_in_seconds: NonNegativeFloat | None = None
    config_version: NonNegativeInt | None = None


class ConfigChanged(_Payload):
    """The hotel's channel settings changed; the bot fetches them (suite -> bot)."""

    version: NonNegativeInt


class ChannelCommand(_Payload):
    """An operator's command to one channel of a bot (suite -> bot)."""

    channel: ChannelName
    command: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    """``restart`` is handled by the runtime; other commands go to the channel."""
    arguments: dict[str, str] = Field(default_factory=dict)


class MessageSend(_Payload):
    """An outbound message to send once (suite -> bot)."""

    message: Message

    @model_validator(mode="after")
    def _outbound(self) -> Self:
        if self.message.direction is not Direction.OUTBOUND:
            raise ValueError("message.send carries an outbound message")
        return self


class WebhookReceived(_Payload):
    """A provider's webhook request, already verified by the suite (suite -> bot).

    The body travels as the exact bytes received (base64 in JSON), so the bot
    parses what the provider signed.
    """

    channel: ChannelName
    method: Annotated[str, Field(pattern=r"^[A-Z]{3,7}$")] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: RawBytes = b""
    received_at: AwareDatetime = Field(default_factory=utc_now)
