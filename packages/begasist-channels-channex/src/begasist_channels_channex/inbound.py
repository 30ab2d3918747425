"""A guest's Channex message, with its booking, as Begasist's ``message.received``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from begasist_core import (
    Attachment,
    BookingContext,
    Direction,
    GuestIdentity,
    Message,
    MessageContext,
    MessageReceived,
    utc_now,
)

from begasist_channels_channex.api import ChannexBooking
from begasist_channels_channex.ota import Ota, ota_from_channex
from begasist_channels_channex.webhook import ChannexMessagePayload

__all__ = ["booking_address", "booking_context", "received", "split_address"]

_SEPARATOR: Final = ":"


def booking_address(ota: Ota, booking_id: str) -> str:
    """The guest's address on this channel: the OTA, then Channex's booking id.

    An OTA guest is reachable only through the booking's thread, so a booking is
    a guest identity and a conversation (``booking_com:<booking id>``).
    """
    return f"{ota.value}{_SEPARATOR}{booking_id}"


def split_address(address: str) -> tuple[Ota, str] | None:
    """The OTA and booking id of :func:`booking_address`'s *address*, or None."""
    ota_name, separator, booking_id = address.partition(_SEPARATOR)
    if not separator or not booking_id:
        return None
    try:
        return Ota(ota_name), booking_id
    except ValueError:
        return None


def booking_ota(booking: ChannexBooking | None) -> Ota:
    found = ota_from_channex(booking.ota_name) if booking is not None else None
    return found or Ota.OTHER


def booking_context(booking: ChannexBooking, ota: Ota) -> BookingContext:
    return BookingContext(
        source=ota.value,
        source_name=(booking.ota_name or ota.display_name)[:200],
        reservation_id=booking.ota_reservation_code or None,
        booking_id=booking.id,
        property_id=booking.property_id or None,
        guest_name=booking.guest_name,
        check_in=booking.arrival_date,
        check_out=booking.departure_date,
    )


def received(
    item: ChannexMessagePayload,
    booking: ChannexBooking | None,
    *,
    hotel: str,
    channel: str,
    at: datetime | None,
    attachments: tuple[Attachment, ...] = (),
) -> MessageReceived:
    """The event for *item*; *booking* None when Channex could not say whose it is.

    *attachments* are *item*'s, as :mod:`.media` fetched them (stored, or noted).
    """
    ota = booking_ota(booking)
    address = booking_address(ota, item.booking_id)
    guest = GuestIdentity(
        channel=channel,
        address=address,
        display_name=booking.guest_name if booking is not None else None,
    )
    context = MessageContext(booking=booking_context(booking, ota)) if booking is not None else None
    when = at.astimezone(UTC) if at is not None and at.tzinfo is not None else utc_now()
    message = Message(
        hotel=hotel,
        channel=channel,
        conversation_key=address,
        direction=Direction.INBOUND,
        guest=guest,
        text=item.message or "",
        attachments=attachments,
        context=context,
        # Channex's message id, the one its messages API lists too: a replayed webhook
        # (or a later catch-up through the API) stores the message once.
        provider_message_id=item.id,
        created_at=when,
        updated_at=when,
    )
    return MessageReceived(message=message)
