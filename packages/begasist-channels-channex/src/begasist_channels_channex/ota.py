"""The OTAs whose messages Channex relays, and their names in Channex's answers."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["Ota", "ota_from_channex"]


class Ota(StrEnum):
    """An OTA, as the slug Begasist stores (the booking context's ``source``)."""

    BOOKING_COM = "booking_com"
    AIRBNB = "airbnb"
    EXPEDIA = "expedia"
    OTHER = "other"
    """An OTA Begasist has no switch for, or a booking Channex could not show."""

    @property
    def display_name(self) -> str:
        return _DISPLAY[self]


_DISPLAY: Final = {
    Ota.BOOKING_COM: "Booking.com",
    Ota.AIRBNB: "Airbnb",
    Ota.EXPEDIA: "Expedia",
    Ota.OTHER: "another OTA",
}

# Channex names an OTA "BookingCom" in a message thread's provider and "Booking.com" in a
# booking's ota_name (docs.channex.io: Messages Collection, Bookings Collection); both
# spellings, and the slugs, are read case-insensitively.
_ALIASES: Final = {
    "bookingcom": Ota.BOOKING_COM,
    "booking.com": Ota.BOOKING_COM,
    "booking_com": Ota.BOOKING_COM,
    "airbnb": Ota.AIRBNB,
    "expedia": Ota.EXPEDIA,
}


def ota_from_channex(name: str | None) -> Ota | None:
    """The OTA Channex names *name*, or None for one Begasist does not take."""
    if not name:
        return None
    return _ALIASES.get(name.strip().lower())
