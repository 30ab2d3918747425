"""The event envelope: one JSON object per stream entry, one model per event type."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from begasist_core.events.payloads import (
    ChannelCommand,
    ChannelStateChanged,
    ConfigChanged,
    MessageReceived,
    MessageSend,
    MessageStatusChanged,
    WebhookReceived,
)
from begasist_core.models.ids import new_id
from begasist_core.models.messages import utc_now
from begasist_core.models.names import HotelSlug

__all__ = [
    "ENVELOPE_VERSION",
    "ChannelCommandEvent",
    "ChannelStateEvent",
    "ConfigChangedEvent",
    "Event",
    "EventEnvelope",
    "MessageReceivedEvent",
    "MessageSendEvent",
    "MessageStatusEvent",
    "WebhookReceivedEvent",
]

ENVELOPE_VERSION: Final = 1
"""The envelope version this code writes and reads; a reader refuses a later one."""

REQUIRED_ON_READ: Final = ("v", "id", "type", "hotel", "ts", "key", "data")
"""Fields a stored envelope must have: writers fill defaults, readers never do."""

DECODING: Final[dict[str, bool]] = {"decoding": True}
"""Validation context of :func:`~begasist_core.events.decode_event` (identity-checked)."""


class EventEnvelope(BaseModel):
    """Fields every event has: ``{"v", "id", "type", "hotel", "ts", "key", "data"}``.

    ``key`` is the idempotency key: two events with the same key describe the
    same effect, and a consumer applies it once. It defaults to ``id``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = ENVELOPE_VERSION
    id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    type: str
    hotel: HotelSlug
    ts: AwareDatetime = Field(default_factory=utc_now)
    key: Annotated[str, Field(default="", max_length=512)]

    @model_validator(mode="before")
    @classmethod
    def _key_defaults_to_id(cls, values: Any, info: ValidationInfo) -> Any:
        if not isinstance(values, dict):
            return values
        if info.context is DECODING:
            # A stored entry must carry its own identity: defaults made up on
            # read would give a redelivered entry a new id and idempotency key.
            missing = [name for name in REQUIRED_ON_READ if name not in values]
            if missing:
                raise ValueError(f"envelope lacks {', '.join(missing)}")
        elif not values.get("key"):
            values = dict(values)
            values.setdefault("id", new_id())
            values["key"] = values["id"]
        return values


class MessageReceivedEvent(EventEnvelope):
    type: Literal["message.received"] = "message.received"
    data: MessageReceived


class MessageStatusEvent(EventEnvelope):
    type: Literal["message.status"] = "message.status"
    data: MessageStatusChanged


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
    | ChannelStateEvent
    | ConfigChangedEvent
    | ChannelCommandEvent
    | MessageSendEvent
    | WebhookReceivedEvent,
    Field(discriminator="type"),
]
"""Any event, told apart by its ``type``."""
