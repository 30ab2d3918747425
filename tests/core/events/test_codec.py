"""The envelope codec: round trips, and a typed reason for every bad entry."""

from __future__ import annotations

import json

import pytest
from begasist_core import (
    ConfigChanged,
    Direction,
    GuestIdentity,
    Message,
    MessageReceived,
    WebhookReceived,
    decode_event,
    encode_event,
    make_event,
)
from begasist_core.events import (
    ConfigChangedEvent,
    InvalidEvent,
    MalformedEvent,
    UnknownEventType,
    UnsupportedEventVersion,
)


def inbound(provider_id: str = "wamid.1") -> Message:
    return Message(
        hotel="plaza",
        channel="whatsapp",
        conversation_key="+34600000000",
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel="whatsapp", address="+34600000000"),
        text="Is breakfast included?",
        provider_message_id=provider_id,
    )


def test_round_trip_keeps_every_field() -> None:
    event = make_event("plaza", MessageReceived(message=inbound()), key="k1")
    assert decode_event(encode_event(event)) == event


def test_key_defaults_to_the_event_id() -> None:
    event = make_event("plaza", ConfigChanged(version=2))
    assert isinstance(event, ConfigChangedEvent)
    assert event.key == event.id


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"\xff not json", MalformedEvent),
        (b"[1, 2]", MalformedEvent),
        (b'{"v": 2, "type": "config.changed"}', UnsupportedEventVersion),
        (b'{"v": 1, "type": "booking.created", "hotel": "plaza", "data": {}}', UnknownEventType),
        (b'{"v": 1, "type": "config.changed", "hotel": "Bad Slug", "data": {}}', InvalidEvent),
    ],
)
def test_bad_entries_raise_their_typed_error(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        decode_event(raw)
    assert caught.value.reason in {"malformed", "unknown_type", "unsupported_version", "invalid"}


def test_json_nested_too_deep_to_parse_is_malformed() -> None:
    # Python's json gives up with RecursionError; decode_event promises its own errors only.
    with pytest.raises(MalformedEvent, match=r"^entry is not JSON: RecursionError"):
        decode_event(b"[" * 100_000)


def test_received_event_must_carry_an_inbound_message() -> None:
    document = json.loads(encode_event(make_event("plaza", MessageReceived(message=inbound()))))
    document["data"]["message"]["direction"] = "outbound"
    with pytest.raises(InvalidEvent, match="inbound"):
        decode_event(json.dumps(document))


@pytest.mark.parametrize("field", ["v", "id", "ts", "key"])
def test_a_stored_envelope_without_its_identity_is_refused(field: str) -> None:
    document = json.loads(encode_event(make_event("plaza", ConfigChanged(version=1))))
    del document[field]
    with pytest.raises(InvalidEvent, match=f"envelope lacks {field}"):
        decode_event(json.dumps(document))


def test_webhook_body_is_exact_bytes_in_python_and_base64_in_json() -> None:
    raw = b"abcd"  # valid base64 too: must stay these four bytes
    event = make_event("plaza", WebhookReceived(channel="demo", body=raw))
    assert event.data.body == raw
    document = json.loads(encode_event(event))
    assert document["data"]["body"] == "YWJjZA=="
    assert decode_event(encode_event(event)).data.body == raw


def test_shared_models_refuse_unknown_fields() -> None:
    document = json.loads(encode_event(make_event("plaza", MessageReceived(message=inbound()))))
    document["data"]["message"]["txet"] = "typo"
    with pytest.raises(InvalidEvent, match="txet"):
        decode_event(json.dumps(document))
