"""The shared models: names, delivery status order, messages, conversations, settings."""

from __future__ import annotations

import itertools
import re
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from begasist_core.models import (
    Attachment,
    AttachmentKind,
    ChannelSettings,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    GuestIdentity,
    InvalidName,
    Message,
    ReplyMode,
    new_id,
    utc_now,
    validate_channel_name,
    validate_hotel_slug,
)
from begasist_core.models.validation import describe_validation_error
from pydantic import BaseModel, ValidationError
from ulid import ULID

CROCKFORD_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
STATUS_ORDER = [
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.READ,
]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def guest(**overrides: Any) -> GuestIdentity:
    values: dict[str, Any] = {"channel": "whatsapp", "address": "+34600000001"}
    return GuestIdentity(**{**values, **overrides})


def message(**overrides: Any) -> Message:
    values: dict[str, Any] = {
        "hotel": "plaza",
        "channel": "whatsapp",
        "conversation_key": "+34600000001",
        "direction": Direction.OUTBOUND,
        "guest": guest(),
        "text": "Breakfast is served from 7 to 11.",
        "created_at": T0,
        "updated_at": T0,
    }
    return Message(**{**values, **overrides})


def conversation(**overrides: Any) -> Conversation:
    values: dict[str, Any] = {
        "hotel": "plaza",
        "channel": "whatsapp",
        "key": "+34600000001",
        "guest": guest(),
    }
    return Conversation(**{**values, **overrides})


# -- names ---------------------------------------------------------------------------------

VALID_HOTEL_SLUGS = ["plaza", "a", "7", "hotel-sol", "h1-2-3", "9lives", "a" * 40]
INVALID_HOTEL_SLUGS = [
    pytest.param("", id="empty"),
    pytest.param("Plaza", id="uppercase"),
    pytest.param("plaza:sol", id="colon"),
    pytest.param("plaza/sol", id="slash"),
    pytest.param("-plaza", id="leading-dash"),
    pytest.param("plaza-", id="trailing-dash"),
    pytest.param("-", id="only-dash"),
    pytest.param("a" * 41, id="too-long"),
    pytest.param("plaza_sol", id="underscore"),
    pytest.param("hotel sol", id="space"),
    pytest.param("plaza\n", id="trailing-newline"),
    pytest.param("hôtel", id="non-ascii"),
]
VALID_CHANNEL_NAMES = ["whatsapp", "email", "web_chat", "a", "x9", "a" + "b" * 31]
INVALID_CHANNEL_NAMES = [
    pytest.param("", id="empty"),
    pytest.param("WhatsApp", id="uppercase"),
    pytest.param("web:chat", id="colon"),
    pytest.param("web/chat", id="slash"),
    pytest.param("-email", id="leading-dash"),
    pytest.param("email-", id="trailing-dash"),
    pytest.param("web-chat", id="inner-dash"),
    pytest.param("9lives", id="leading-digit"),
    pytest.param("_chat", id="leading-underscore"),
    pytest.param("a" * 33, id="too-long"),
    pytest.param("email\n", id="trailing-newline"),
]


@pytest.mark.parametrize("slug", VALID_HOTEL_SLUGS)
def test_valid_hotel_slug_is_returned_unchanged(slug: str) -> None:
    assert validate_hotel_slug(slug) == slug


@pytest.mark.parametrize("slug", INVALID_HOTEL_SLUGS)
def test_invalid_hotel_slug_is_refused_with_a_helpful_message(slug: str) -> None:
    with pytest.raises(InvalidName) as raised:
        validate_hotel_slug(slug)
    text = str(raised.value)
    assert repr(slug) in text
    assert "a-z, 0-9 and '-'" in text
    assert "1-40" in text


@pytest.mark.parametrize("slug", INVALID_HOTEL_SLUGS)
def test_models_refuse_an_invalid_hotel_slug(slug: str) -> None:
    with pytest.raises(ValidationError):
        message(hotel=slug)


@pytest.mark.parametrize("name", VALID_CHANNEL_NAMES)
def test_valid_channel_name_is_returned_unchanged(name: str) -> None:
    assert validate_channel_name(name) == name


@pytest.mark.parametrize("name", INVALID_CHANNEL_NAMES)
def test_invalid_channel_name_is_refused_with_a_helpful_message(name: str) -> None:
    with pytest.raises(InvalidName) as raised:
        validate_channel_name(name)
    assert repr(name) in str(raised.value)
    assert "a-z, 0-9 and '_'" in str(raised.value)


@pytest.mark.parametrize("name", INVALID_CHANNEL_NAMES)
def test_models_refuse_an_invalid_channel_name(name: str) -> None:
    with pytest.raises(ValidationError):
        guest(channel=name)


def test_invalid_name_is_a_value_error() -> None:
    assert issubclass(InvalidName, ValueError)


# -- delivery status -----------------------------------------------------------------------


def test_delivery_status_order_is_received_then_queued_sent_delivered_read() -> None:
    # received is an inbound message's first status: nothing moves a message back to it.
    assert list(DeliveryStatus) == [DeliveryStatus.RECEIVED, *STATUS_ORDER]
    assert [status.rank for status in DeliveryStatus] == [0, 1, 2, 3, 4]
    assert DeliveryStatus.RECEIVED.advanced_to(DeliveryStatus.READ) is DeliveryStatus.READ
    assert DeliveryStatus.QUEUED.advanced_to(DeliveryStatus.RECEIVED) is DeliveryStatus.QUEUED


def test_failed_is_a_flag_not_a_status() -> None:
    assert "failed" not in {status.value for status in DeliveryStatus}


@pytest.mark.parametrize(
    ("current", "reported"),
    list(itertools.product(STATUS_ORDER, repeat=2)),
    ids=lambda status: status.value,
)
def test_advanced_to_never_moves_backwards(
    current: DeliveryStatus, reported: DeliveryStatus
) -> None:
    expected = max(current, reported, key=STATUS_ORDER.index)
    assert current.advanced_to(reported) is expected


# -- Message.with_status -------------------------------------------------------------------


def test_with_status_moves_forward_and_leaves_the_original_alone() -> None:
    queued = message()
    sent = queued.with_status(DeliveryStatus.SENT, at=T0 + timedelta(seconds=1))
    read = sent.with_status(DeliveryStatus.READ, at=T0 + timedelta(seconds=2))
    assert (queued.status, sent.status, read.status) == (
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
        DeliveryStatus.READ,
    )
    assert read.id == queued.id


def test_a_late_receipt_does_not_move_status_backwards() -> None:
    read = message(status=DeliveryStatus.READ)
    late = read.with_status(DeliveryStatus.DELIVERED, at=T0 + timedelta(seconds=5))
    assert late.status is DeliveryStatus.READ


def test_a_failure_sticks_through_later_receipts() -> None:
    failed = message().with_status(DeliveryStatus.SENT, failed=True, failure_reason="bounced")
    later = failed.with_status(DeliveryStatus.DELIVERED)
    assert later.failed
    assert later.failure_reason == "bounced"
    assert later.status is DeliveryStatus.DELIVERED


def test_updated_at_never_decreases() -> None:
    original = message(updated_at=T0)
    earlier = original.with_status(DeliveryStatus.SENT, at=T0 - timedelta(hours=1))
    assert earlier.updated_at == T0
    later = earlier.with_status(DeliveryStatus.DELIVERED, at=T0 + timedelta(minutes=1))
    assert later.updated_at == T0 + timedelta(minutes=1)


def test_updated_at_defaults_to_now() -> None:
    before = utc_now()
    updated = message(updated_at=T0).with_status(DeliveryStatus.SENT)
    assert before <= updated.updated_at <= utc_now()


# -- ids and timestamps --------------------------------------------------------------------


def test_new_id_is_a_ulid_of_the_current_time() -> None:
    before = utc_now()
    identifier = new_id()
    assert CROCKFORD_ULID.fullmatch(identifier)
    assert len(identifier) == 26
    # A ULID carries milliseconds: allow the truncation below the current time.
    assert before - timedelta(milliseconds=1) <= ULID.from_str(identifier).datetime <= utc_now()


def test_ids_sort_by_creation_time() -> None:
    identifiers = []
    for _ in range(5):
        identifiers.append(new_id())
        time.sleep(0.002)  # ULIDs order by millisecond; within one they are random
    assert sorted(identifiers) == identifiers
    assert len(set(identifiers)) == len(identifiers)


def test_ids_made_in_one_millisecond_sort_in_the_order_they_were_made() -> None:
    # Thousands of ids share milliseconds: they still sort as made, all distinct.
    identifiers = [new_id() for _ in range(5000)]
    assert sorted(identifiers) == identifiers
    assert len(set(identifiers)) == len(identifiers)
    assert all(ULID.from_str(identifier) for identifier in identifiers)


def test_ids_made_from_many_threads_are_distinct() -> None:
    made: list[str] = []

    def make() -> None:
        made.extend(new_id() for _ in range(2000))

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == len(made) == 8000


def test_models_get_distinct_ulid_ids_by_default() -> None:
    first, second = message(), message()
    assert first.id != second.id
    assert CROCKFORD_ULID.fullmatch(first.id)
    assert CROCKFORD_ULID.fullmatch(conversation().id)


def test_default_timestamps_are_timezone_aware() -> None:
    assert utc_now().utcoffset() == timedelta(0)
    fresh = Message(
        hotel="plaza",
        channel="whatsapp",
        conversation_key="k",
        direction=Direction.INBOUND,
        guest=guest(),
    )
    assert fresh.created_at.utcoffset() == timedelta(0)
    assert fresh.updated_at.utcoffset() == timedelta(0)
    assert conversation().created_at.utcoffset() == timedelta(0)


NAIVE = datetime(2025, 3, 1, 12, 0)


@pytest.mark.parametrize("field", ["created_at", "updated_at"])
def test_message_refuses_a_naive_datetime(field: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        message(**{field: NAIVE})


@pytest.mark.parametrize("field", ["created_at", "last_message_at"])
def test_conversation_refuses_a_naive_datetime(field: str) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        conversation(**{field: NAIVE})


def test_with_status_refuses_a_naive_time() -> None:
    with pytest.raises((TypeError, ValueError)):
        message().with_status(DeliveryStatus.SENT, at=NAIVE)


# -- settings and unknown fields -----------------------------------------------------------


def test_channel_settings_default_to_enabled_and_supervised() -> None:
    settings = ChannelSettings()
    assert settings.enabled is True
    assert settings.mode is ReplyMode.SUPERVISED


def test_channel_settings_forbid_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="enabeld"):
        ChannelSettings.model_validate({"enabeld": False})


def test_a_channel_settings_subclass_inherits_the_strictness() -> None:
    class WhatsAppSettings(ChannelSettings):
        phone_number_id: str

    with pytest.raises(ValidationError, match="phone_numer_id"):
        WhatsAppSettings.model_validate({"phone_number_id": "1", "phone_numer_id": "1"})


@pytest.mark.parametrize(
    ("model", "valid"),
    [
        pytest.param(Message, lambda: message().model_dump(), id="Message"),
        pytest.param(GuestIdentity, lambda: guest().model_dump(), id="GuestIdentity"),
        pytest.param(Conversation, lambda: conversation().model_dump(), id="Conversation"),
        pytest.param(ChannelSettings, lambda: {}, id="ChannelSettings"),
    ],
)
def test_models_refuse_unknown_fields(model: type[BaseModel], valid: Any) -> None:
    document = valid()
    model.model_validate(document)
    with pytest.raises(ValidationError) as raised:
        model.model_validate({**document, "surprise": 1})
    assert [error["type"] for error in raised.value.errors()] == ["extra_forbidden"]


# -- JSON round trips ----------------------------------------------------------------------


def test_message_json_round_trip_is_lossless() -> None:
    original = message(
        guest=guest(display_name="Ana López"),
        text="¿Hay desayuno? 🍳",
        attachments=(
            Attachment(
                kind=AttachmentKind.IMAGE,
                mime_type="image/jpeg",
                filename="room.jpg",
                size_bytes=123_456,
                sha256="ab" * 32,
                provider_ref="wamid.media.1",
                caption="our room",
            ),
            Attachment(kind=AttachmentKind.LOCATION, url="https://maps.example/1"),
        ),
        provider_message_id="wamid.HBgL",
        reply_to="wamid.HBgK",
        created_at=datetime(2025, 3, 1, 13, 0, 0, 123_456, tzinfo=timezone(timedelta(hours=1))),
        updated_at=T0 + timedelta(microseconds=7),
        status=DeliveryStatus.DELIVERED,
        failed=True,
        failure_reason="the guest blocked the number",
    )
    encoded = original.model_dump_json()
    decoded = Message.model_validate_json(encoded)
    assert decoded == original
    assert decoded.created_at.utcoffset() == timedelta(hours=1)
    assert decoded.model_dump_json() == encoded


def test_conversation_json_round_trip_is_lossless() -> None:
    original = conversation(
        guest=guest(display_name="Ben"),
        status=ConversationStatus.RESOLVED,
        assignee="maria@plaza.example",
        mode_override=ReplyMode.MANUAL,
        created_at=T0,
        last_message_at=T0 + timedelta(days=1, microseconds=1),
    )
    encoded = original.model_dump_json()
    decoded = Conversation.model_validate_json(encoded)
    assert decoded == original
    assert decoded.model_dump_json() == encoded


# -- validation errors ---------------------------------------------------------------------


def test_describe_validation_error_names_fields_but_never_values() -> None:
    class EmailSettings(ChannelSettings):
        password: str
        port: int

    with pytest.raises(ValidationError) as raised:
        EmailSettings.model_validate({"port": "imap-password-0042", "pasword": "x"})
    description = describe_validation_error(raised.value)
    assert "password: Field required" in description
    assert "port: " in description
    assert "pasword: Extra inputs are not permitted" in description
    assert "imap-password-0042" not in description


def test_new_id_round_trips_through_an_independent_ulid_implementation() -> None:
    for _ in range(1000):
        identifier = new_id()
        assert str(ULID.from_str(identifier)) == identifier
