"""The event envelope: one JSON object per stream entry, one model per event type."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from begasist_core.events.payloads import (
    ChannelCommand,
    ChannelStateChanged,
    ConfigChanged,
    GuestPreferenceChanged,
    MessageChanged,
    MessageEchoed,
    MessageReceived,
    MessageSend,
    MessageStatusChanged,
    TemplateStatusChanged,
    WebhookReceived,
)
from begasist_core.models.names import HotelSlug

__all__ = [
    "ENVELOPE_VERSION",
    "ChannelCommandEvent",
    "ChannelStateEvent",
    "ConfigChangedEvent",
    "Event",
    "EventEnvelope",
    "GuestPreferenceEvent",
    "MessageChangedEvent",
    "MessageEchoedEvent",
    "MessageReceivedEvent",
    "MessageSendEvent",
    "MessageStatusEvent",
    "TemplateStatusEvent",
    "WebhookReceivedEvent",
]

ENVELOPE_VERSION: Final = 1
"""The envelope version this code writes and reads; a reader refuses a later one."""

REQUIRED_ON_READ: Final = ("v", "id", "type", "hotel", "ts", "key", "data")
"""Fields every stored envelope has. None has a default: a reader that made up
an ``id`` or ``key`` would give a redelivered entry a new identity."""


class EventEnvelope(BaseModel):
    """Fields every event has: ``{"v", "id", "type", "hotel", "ts", "key", "data"}``.

    ``key`` is the idempotency key: two events with the same key describe the
    same effect, and a consumer applies it once. Build events with
    :func:`~begasist_core.events.make_event`, which fills ``v``, ``id``, ``ts``
    and ``key`` (default: the id); a stored entry must carry them all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1]
    id: str = Field(min_length=1, max_length=64)
    type: str
    hotel: HotelSlug
    ts: AwareDatetime
    key: str = Field(min_length=1, max_length=512)


class MessageReceivedEvent(EventEnvelope):
    type: Literal["message.received"] = "message.received"
    data: MessageReceived


class MessageStatusEvent(EventEnvelope):
    type: Literal["message.status"] = "message.status"
    data: MessageStatusChanged


class MessageChangedEvent(EventEnvelope):
    type: Literal["message.changed"] = "message.changed"
    data: MessageChanged


class MessageEchoedEvent(EventEnvelope):
    type: Literal["message.echoed"] = "message.echoed"
    data: MessageEchoed


class GuestPreferenceEvent(EventEnvelope):
    type: Literal["guest.preference"] = "guest.preference"
    data: GuestPreferenceChanged


class TemplateStatusEvent(EventEnvelope):
    type: Literal["template.status"] = "template.status"
    data: TemplateStatusChanged


class ChannelStateEvent(EventEnvelope):
    type: Literal["channel.state"] = "channel.state"
    data: ChannelStateChanged


class ConfigChangedEvent(EventEnvelope):
    type: Literal["config.changed"] = "config.changed"
    data: ConfigChanged


class ChannelCommandEvent(EventEnvelope):
    type: Literal["channel.command"] = "channel.command"
    data: ChannelCommand


class MessageSendEvent(EventEnvelope):
    type: Literal["message.send"] = "message.send"
    data: MessageSend


class WebhookReceivedEvent(EventEnvelope):
    type: Literal["webhook.received"] = "webhook.received"
    data: WebhookReceived


Event = Annotated[
    MessageReceivedEvent
    | MessageStatusEvent
    | MessageChangedEvent
    | MessageEchoedEvent
    | GuestPreferenceEvent
    | TemplateStatusEvent
    | ChannelStateEvent
    | ConfigChangedEvent
    | ChannelCommandEvent
    | MessageSendEvent
    | WebhookReceivedEvent,
    Field(discriminator="type"),
]
"""Any event, told apart by its ``type``."""
