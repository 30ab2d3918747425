"""The message context: a versioned, optional part of an inbound message (the booking)."""

from __future__ import annotations

from datetime import date

import pytest
from begasist_core import (
    BookingContext,
    Direction,
    GuestIdentity,
    Message,
    MessageContext,
    MessageReceived,
    decode_event,
    encode_event,
    make_event,
)
from pydantic import ValidationError

BOOKING = BookingContext(
    source="airbnb",
    source_name="Airbnb",
    reservation_id="HMABCDEF12",
    booking_id="603e8e9e-cc67-4ca7-bd13-3c407c6c3bbd",
    property_id="716305c4-561a-4561-a187-7f5b8aeb5920",
    guest_name="John Smith",
    check_in=date(2026, 12, 20),
    check_out=date(2026, 12, 23),
)


def inbound(context: MessageContext | None) -> Message:
    return Message(
        hotel="plaza",
        channel="channex",
        conversation_key="airbnb:603e8e9e",
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel="channex", address="airbnb:603e8e9e"),
        text="Can we check in early?",
        provider_message_id="m-1",
        context=context,
    )


def test_a_message_has_no_context_unless_the_channel_gives_one() -> None:
    assert inbound(None).context is None
    assert "context" in inbound(None).model_dump()


def test_the_booking_context_travels_in_message_received_unchanged() -> None:
    event = make_event("plaza", MessageReceived(message=inbound(MessageContext(booking=BOOKING))))
    decoded = decode_event(encode_event(event))
    assert isinstance(decoded.data, MessageReceived)
    assert decoded.data.message.context == MessageContext(booking=BOOKING)
    assert decoded.data.message.context.v == 1


def test_a_message_without_the_context_field_still_reads() -> None:
    """Written before the field existed: compatible, readers first (docs/events.md)."""
    fields = inbound(None).model_dump(mode="json")
    del fields["context"]
    assert Message.model_validate(fields).context is None


def test_an_unknown_context_version_is_refused() -> None:
    with pytest.raises(ValidationError):
        MessageContext.model_validate({"v": 2, "booking": None})


def test_an_unknown_context_part_is_refused() -> None:
    with pytest.raises(ValidationError):
        MessageContext.model_validate({"v": 1, "loyalty": {"tier": "gold"}})


def test_check_out_before_check_in_is_refused() -> None:
    with pytest.raises(ValidationError, match="check_out is before check_in"):
        BookingContext(source="booking_com", check_in=date(2026, 5, 2), check_out=date(2026, 5, 1))


@pytest.mark.parametrize("source", ["", "Booking.com", "booking-com", "9ota"])
def test_the_source_is_a_slug(source: str) -> None:
    with pytest.raises(ValidationError):
        BookingContext(source=source)


def test_interactive_answers_are_a_context_part() -> None:
    from begasist_core import InteractiveAnswer, InteractiveContent

    context = MessageContext(
        interactive=InteractiveContent(
            kind="flow",
            title="Late check-out",
            answers=(InteractiveAnswer(question="Time", answer="14:00"),),
        )
    )
    event = make_event("plaza", MessageReceived(message=inbound(context)))
    decoded = decode_event(encode_event(event))
    assert decoded == event
    with pytest.raises(ValidationError):
        InteractiveContent(kind="Not A Slug")
