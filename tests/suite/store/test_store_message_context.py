"""The store keeps a message's context (the booking) with it, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from begasist_core import (
    BookingContext,
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageContext,
)
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio

ADDRESS = "booking_com:b4671a17-4440-4da4-9c72-f6afa2d61908"
BOOKING = BookingContext(
    source="booking_com",
    source_name="Booking.com",
    reservation_id="4001234567",
    booking_id="b4671a17-4440-4da4-9c72-f6afa2d61908",
    property_id="716305c4-561a-4561-a187-7f5b8aeb5920",
    guest_name="Ana García",
    check_in=date(2026, 12, 20),
    check_out=date(2026, 12, 23),
)


def inbound(provider_id: str, context: MessageContext | None) -> Message:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    return Message(
        hotel="plaza",
        channel="channex",
        conversation_key=ADDRESS,
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel="channex", address=ADDRESS, display_name="Ana García"),
        text="¿Podemos llegar antes?",
        provider_message_id=provider_id,
        context=context,
        created_at=at,
        updated_at=at,
    )


async def test_the_booking_context_is_stored_with_the_message(
    database: DocumentDatabase,
) -> None:
    store = Store(database)
    message = inbound("m-1", MessageContext(booking=BOOKING))
    recorded = await store.record_inbound(message)
    stored = await store.get_message("plaza", message.id)
    assert stored == message.model_copy(update={"status": DeliveryStatus.RECEIVED})
    assert stored is not None
    assert stored.context is not None
    assert stored.context.booking == BOOKING
    page = await store.list_messages("plaza", recorded.conversation.id)
    assert [item.context for item in page.items] == [MessageContext(booking=BOOKING)]


async def test_a_message_without_context_reads_back_without_one(
    database: DocumentDatabase,
) -> None:
    store = Store(database)
    message = inbound("m-2", None)
    await store.record_inbound(message)
    stored = await store.get_message("plaza", message.id)
    assert stored is not None
    assert stored.context is None
