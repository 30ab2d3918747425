"""The Channex tests' fixtures: a stand-in of the Channex API (a real local HTTP server).

It is a stand-in, not Channex (``begasist_channels_channex.testing``): it speaks
the documented wire format of the booking and messages endpoints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from begasist_channels_channex.testing import ChannexStandin, StandinBooking

API_KEY = "channex-api-key-for-tests"
WEBHOOK_SECRET = "webhook-secret-for-tests-0123456789"
PROPERTY_ID = "716305c4-561a-4561-a187-7f5b8aeb5920"
BOOKING_ID = "b4671a17-4440-4da4-9c72-f6afa2d61908"
AIRBNB_BOOKING_ID = "603e8e9e-cc67-4ca7-bd13-3c407c6c3bbd"
EXPEDIA_BOOKING_ID = "e10de9d1-3e2c-431c-b88c-ffca9ed5db5d"


@pytest.fixture(scope="session")
def _channex_server() -> Iterator[ChannexStandin]:
    with ChannexStandin(api_key=API_KEY) as standin:
        yield standin


@pytest.fixture
def channex(_channex_server: ChannexStandin) -> ChannexStandin:
    """The stand-in, reset, with three bookings of the property: Booking.com, Airbnb, Expedia."""
    _channex_server.reset()
    _channex_server.add_booking(StandinBooking(id=BOOKING_ID, property_id=PROPERTY_ID))
    _channex_server.add_booking(
        StandinBooking(
            id=AIRBNB_BOOKING_ID,
            property_id=PROPERTY_ID,
            ota_name="Airbnb",
            ota_reservation_code="HMABCDEF12",
            customer_name="John",
            customer_surname="Smith",
        )
    )
    _channex_server.add_booking(
        StandinBooking(
            id=EXPEDIA_BOOKING_ID,
            property_id=PROPERTY_ID,
            ota_name="Expedia",
            ota_reservation_code="E-998877",
        )
    )
    return _channex_server


def settings_for(channex: ChannexStandin, **changes: Any) -> dict[str, Any]:
    """A hotel's raw settings, pointed at the stand-in."""
    return {
        "api_key": API_KEY,
        "property_id": PROPERTY_ID,
        "environment": "staging",
        "api_base_url": channex.api_url,
        "webhook_secret": WEBHOOK_SECRET,
        **changes,
    }
