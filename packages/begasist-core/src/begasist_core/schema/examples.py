"""One realistic example event per event type, fixed so the generated documents never change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Final

from pydantic import BaseModel

from begasist_core.events.codec import EVENT_TYPES, decode_event, encode_event, make_event
from begasist_core.events.envelope import Event
from begasist_core.events.payloads import (
    ChannelCommand,
    ChannelState,
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
from begasist_core.models.changes import MessageEdit
from begasist_core.models.messages import DeliveryStatus, Direction, GuestIdentity, Message

__all__ = ["EXAMPLE_HOTEL", "example_events"]

EXAMPLE_HOTEL: Final = "plaza"

_AT: Final = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
_ID_PREFIX: Final = "01JHMMRQE0"  # a ULID's time part for _AT; the rest is a counter


def _ulid(serial: int) -> str:
    return f"{_ID_PREFIX}{serial:016d}"


def _guest_message(direction: Direction) -> Message:
    guest = GuestIdentity(channel="whatsapp", address="+34600000000", display_name="Ana Garcia")
    if direction is Direction.INBOUND:
        return Message(
            id=_ulid(101),
            hotel=EXAMPLE_HOTEL,
            channel="whatsapp",
            conversation_key="+34600000000",
            direction=direction,
            guest=guest,
            text="Hi! Is breakfast included in my booking?",
            provider_message_id="wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQUYx",
            created_at=_AT,
            updated_at=_AT,
        )
    return Message(
        id=_ulid(102),
        hotel=EXAMPLE_HOTEL,
        channel="whatsapp",
        conversation_key="+34600000000",
        direction=direction,
        guest=guest,
        text="Good morning Ana, yes: breakfast is served from 7:00 to 10:30.",
        reply_to="wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQUYx",
        created_at=_AT,
        updated_at=_AT,
    )


def _payloads() -> dict[str, BaseModel]:
    return {
        "message.received": MessageReceived(message=_guest_message(Direction.INBOUND)),
        "message.status": MessageStatusChanged(
            channel="whatsapp",
            provider_message_id="wamid.HBgLMzQ2MDAwMDAwMDAVAgARGBI5QkIy",
            message_id=_ulid(102),
            status=DeliveryStatus.READ,
            at=_AT,
        ),
        "message.changed": MessageChanged(
            channel="whatsapp",
            provider_message_id="wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQUYx",
            change=MessageEdit(text="Hi! Is breakfast included in my booking for two?"),
            by=GuestIdentity(channel="whatsapp", address="+34600000000"),
            change_id="wamid.HBgLMzQ2MDAwMDAwMDAVAgASGBQzQUYz",
            at=_AT,
        ),
        "message.echoed": MessageEchoed(
            message=_guest_message(Direction.OUTBOUND).model_copy(
                update={
                    "id": _ulid(103),
                    "text": "See you tomorrow, Ana!",
                    "reply_to": None,
                    "provider_message_id": "wamid.HBgLMzQ2MDAwMDAwMDAVAgARGBI5QkIz",
                    "status": DeliveryStatus.SENT,
                }
            )
        ),
        "guest.preference": GuestPreferenceChanged(
            channel="whatsapp",
            guest=GuestIdentity(channel="whatsapp", address="+34600000000"),
            topic="marketing",
            opted_out=True,
            detail="User requested to stop marketing messages",
            at=_AT,
        ),
        "template.status": TemplateStatusChanged(
            channel="whatsapp",
            name="spring_offer",
            language="es",
            status="rejected",
            reason="INVALID_FORMAT",
            at=_AT,
        ),
        "channel.state": ChannelStateChanged(
            channel="whatsapp", state=ChannelState.RUNNING, config_version=3
        ),
        "config.changed": ConfigChanged(version=3),
        "channel.command": ChannelCommand(channel="whatsapp", command="restart"),
        "message.send": MessageSend(message=_guest_message(Direction.OUTBOUND)),
        "webhook.received": WebhookReceived(
            channel="whatsapp",
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": "sha256=" + "5d" * 32,
            },
            body=b'{"object":"whatsapp_business_account","entry":[]}',
            received_at=_AT,
        ),
    }


def example_events() -> dict[str, Event]:
    """An example of every event type, by type, each decoded from its own JSON.

    Ids and times are fixed (the documents that embed them are checked in and
    must not change between runs); everything else goes through
    :func:`make_event` and the codec, so an example is always a valid event.
    """
    payloads = _payloads()
    if payloads.keys() != EVENT_TYPES.keys():
        missing = sorted(EVENT_TYPES.keys() - payloads.keys())
        raise LookupError(f"no example for event types {missing}: add one to {__name__}")
    examples: dict[str, Event] = {}
    for serial, (event_type, payload) in enumerate(payloads.items(), start=1):
        event_id = _ulid(serial)
        document = json.loads(encode_event(make_event(EXAMPLE_HOTEL, payload, key=event_id)))
        document.update(id=event_id, ts=_AT.isoformat().replace("+00:00", "Z"))
        examples[event_type] = decode_event(json.dumps(document))
    return examples
