"""Turning events into stream entries and back, with a typed error for bad entries."""

from __future__ import annotations

import json
from typing import Any, Final

from pydantic import BaseModel, TypeAdapter, ValidationError

from begasist_core.events.envelope import (
    ENVELOPE_VERSION,
    REQUIRED_ON_READ,
    ChannelCommandEvent,
    ChannelStateEvent,
    ConfigChangedEvent,
    Event,
    GuestPreferenceEvent,
    MessageChangedEvent,
    MessageEchoedEvent,
    MessageReceivedEvent,
    MessageSendEvent,
    MessageStatusEvent,
    TemplateStatusEvent,
    WebhookReceivedEvent,
)
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
from begasist_core.models.ids import new_id
from begasist_core.models.messages import utc_now

__all__ = [
    "EVENT_TYPES",
    "EventDecodeError",
    "InvalidEvent",
    "MalformedEvent",
    "UnknownEventType",
    "UnsupportedEventVersion",
    "decode_event",
    "encode_event",
    "make_event",
]

EVENT_TYPES: Final[dict[str, type[BaseModel]]] = {
    "message.received": MessageReceivedEvent,
    "message.status": MessageStatusEvent,
    "message.changed": MessageChangedEvent,
    "message.echoed": MessageEchoedEvent,
    "guest.preference": GuestPreferenceEvent,
    "template.status": TemplateStatusEvent,
    "channel.state": ChannelStateEvent,
    "config.changed": ConfigChangedEvent,
    "channel.command": ChannelCommandEvent,
    "message.send": MessageSendEvent,
    "webhook.received": WebhookReceivedEvent,
}
"""Every event type this version knows, by its ``type`` string."""

_EVENT_FOR_PAYLOAD: Final[dict[type[BaseModel], type[BaseModel]]] = {
    MessageReceived: MessageReceivedEvent,
    MessageStatusChanged: MessageStatusEvent,
    MessageChanged: MessageChangedEvent,
    MessageEchoed: MessageEchoedEvent,
    GuestPreferenceChanged: GuestPreferenceEvent,
    TemplateStatusChanged: TemplateStatusEvent,
    ChannelStateChanged: ChannelStateEvent,
    ConfigChanged: ConfigChangedEvent,
    ChannelCommand: ChannelCommandEvent,
    MessageSend: MessageSendEvent,
    WebhookReceived: WebhookReceivedEvent,
}

_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


class EventDecodeError(ValueError):
    """A stream entry is not an event this code can handle.

    ``reason`` is a short machine-readable word (``malformed``, ``unknown_type``,
    ``unsupported_version``, ``invalid``) that the dead-letter stream records
    beside the human-readable message.
    """

    reason: str = "invalid"


class MalformedEvent(EventDecodeError):
    """The entry is not a JSON object."""

    reason = "malformed"


class UnknownEventType(EventDecodeError):
    """The entry's ``type`` is not one this version knows."""

    reason = "unknown_type"


class UnsupportedEventVersion(EventDecodeError):
    """The envelope's ``v`` is newer (or other) than this code reads."""

    reason = "unsupported_version"


class InvalidEvent(EventDecodeError):
    """The envelope or its ``data`` fails validation."""

    reason = "invalid"


def make_event(hotel: str, data: BaseModel, *, key: str | None = None) -> Event:
    """Wrap *data* in the envelope of its event type for *hotel*.

    ``make_event("plaza", ConfigChanged(version=3))`` gives a
    :class:`ConfigChangedEvent`. *key* is the idempotency key (default: the
    event id).
    """
    try:
        event_class = _EVENT_FOR_PAYLOAD[type(data)]
    except KeyError:
        raise TypeError(f"{type(data).__name__} is not an event payload") from None
    event_id = new_id()
    event: Event = event_class.model_validate(  # type: ignore[assignment]
        {
            "v": ENVELOPE_VERSION,
            "id": event_id,
            "hotel": hotel,
            "ts": utc_now(),
            "key": key or event_id,
            "data": data,
        }
    )
    return event


def encode_event(event: Event) -> bytes:
    """The JSON bytes stored in the entry's ``e`` field."""
    return event.__pydantic_serializer__.to_json(event)


def decode_event(raw: bytes | str) -> Event:
    """Validate one entry's JSON into its event model.

    Raises one of the :class:`EventDecodeError` subclasses, never anything else,
    so a consumer can dead-letter the entry with its reason and go on.
    """
    try:
        return _event_adapter.validate_json(raw)
    except ValidationError as error:
        raise _classify(raw, error) from None


def _classify(raw: bytes | str, error: ValidationError) -> EventDecodeError:
    # The fast path failed; find out why, for a reason a person can act on.
    try:
        document: Any = json.loads(raw)
    except (ValueError, RecursionError) as not_json:  # deep nesting overflows json's stack
        return MalformedEvent(f"entry is not JSON: {type(not_json).__name__}: {not_json}")
    if not isinstance(document, dict):
        return MalformedEvent(f"entry is JSON {type(document).__name__}, not an object")
    # A later version may have other fields, so the version is judged first.
    if "v" in document and document["v"] != ENVELOPE_VERSION:
        return UnsupportedEventVersion(
            f"envelope version {document['v']!r} is not supported "
            f"(this reader reads v{ENVELOPE_VERSION})"
        )
    event_type = document.get("type")
    if "type" in document and event_type not in EVENT_TYPES:
        return UnknownEventType(f"unknown event type {event_type!r}")
    missing = [name for name in REQUIRED_ON_READ if name not in document]
    if missing:
        return InvalidEvent(f"envelope lacks {', '.join(missing)}")
    summary = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors(include_url=False)[:5]
    )
    return InvalidEvent(f"invalid {event_type} event: {summary}")
