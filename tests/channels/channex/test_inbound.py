"""Verify and parse of Channex's message webhook, against the Channex API stand-in.

The stand-in (``begasist_channels_channex.testing``) is a real local HTTP
server speaking Channex's documented wire format; it is not Channex. ``parse``
reads each message's booking from it, as from Channex.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from begasist_channels_channex import SECRET_HEADER, ChannexChannel, ChannexSettings
from begasist_channels_channex.testing import ChannexStandin
from begasist_core import (
    BookingContext,
    MessageReceived,
    ParseError,
    WebhookRequest,
    WebhookSignatureError,
)
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import (
    AIRBNB_BOOKING_ID,
    BOOKING_ID,
    EXPEDIA_BOOKING_ID,
    PROPERTY_ID,
    WEBHOOK_SECRET,
    settings_for,
)

pytestmark = pytest.mark.anyio

HOTEL = "plaza"


def harness_for(
    bus: Bus, channex: ChannexStandin, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel=HOTEL)


async def parsed(harness: ChannelHarness[ChannexChannel], body: bytes) -> list[MessageReceived]:
    payloads = await harness.build().parse(harness.webhook(body))
    assert all(isinstance(p, MessageReceived) for p in payloads)
    return [p for p in payloads if isinstance(p, MessageReceived)]


# -- verify -------------------------------------------------------------------


def verify(headers: dict[str, str], settings: ChannexSettings) -> None:
    ChannexChannel.verify(WebhookRequest(method="POST", headers=headers, body=b"{}"), settings)


def test_verify_accepts_the_secret_header_channex_was_told_to_send(
    channex: ChannexStandin,
) -> None:
    verify({"X-Begasist-Webhook-Secret": WEBHOOK_SECRET}, ChannexSettings(**settings_for(channex)))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {SECRET_HEADER: ""},
        {SECRET_HEADER: WEBHOOK_SECRET + "x"},
        {SECRET_HEADER: WEBHOOK_SECRET.upper()},
        {SECRET_HEADER: " " + WEBHOOK_SECRET},
        {"authorization": WEBHOOK_SECRET},
    ],
    ids=["missing", "empty", "longer", "other-case", "padded", "other-header"],
)
def test_verify_refuses_anything_but_the_exact_secret(
    channex: ChannexStandin, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookSignatureError):
        verify(headers, ChannexSettings(**settings_for(channex)))


# -- parse --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("booking_id", "ota", "name", "reservation", "guest"),
    [
        (BOOKING_ID, "booking_com", "Booking.com", "4001234567", "Ana García"),
        (AIRBNB_BOOKING_ID, "airbnb", "Airbnb", "HMABCDEF12", "John Smith"),
        (EXPEDIA_BOOKING_ID, "expedia", "Expedia", "E-998877", "Ana García"),
    ],
)
async def test_a_guest_message_carries_its_ota_and_booking(
    begasist_bus: Bus,
    channex: ChannexStandin,
    booking_id: str,
    ota: str,
    name: str,
    reservation: str,
    guest: str,
) -> None:
    body = channex.guest_writes(booking_id, "Can we check in early?")
    [event] = await parsed(harness_for(begasist_bus, channex), body)
    message = event.message
    assert (message.hotel, message.channel) == (HOTEL, "channex")
    assert message.guest.address == f"{ota}:{booking_id}"
    assert message.conversation_key == message.guest.address
    assert message.guest.display_name == guest
    assert message.text == "Can we check in early?"
    assert message.provider_message_id == json.loads(body)["payload"]["id"]
    assert message.context is not None
    assert message.context.booking == BookingContext(
        source=ota,
        source_name=name,
        reservation_id=reservation,
        booking_id=booking_id,
        property_id=PROPERTY_ID,
        guest_name=guest,
        check_in=date(2026, 12, 20),
        check_out=date(2026, 12, 23),
    )


async def test_the_message_time_is_channex_timestamp(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    body = json.loads(channex.guest_writes(BOOKING_ID, "Hola"))
    body["timestamp"] = "2021-12-24T00:00:00.0000Z"
    [event] = await parsed(harness_for(begasist_bus, channex), json.dumps(body).encode())
    assert event.message.created_at.isoformat() == "2021-12-24T00:00:00+00:00"


async def test_other_events_give_nothing(begasist_bus: Bus, channex: ChannexStandin) -> None:
    body = {
        "event": "booking",
        "payload": {"booking_id": BOOKING_ID, "property_id": PROPERTY_ID, "revision_id": "r"},
        "property_id": PROPERTY_ID,
        "user_id": None,
        "timestamp": "2021-12-24T00:00:00.0000Z",
    }
    assert await parsed(harness_for(begasist_bus, channex), json.dumps(body).encode()) == []


async def test_a_message_of_another_property_is_ignored(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    body = json.loads(channex.guest_writes(BOOKING_ID, "Hola"))
    body["property_id"] = "another-property"
    assert await parsed(harness_for(begasist_bus, channex), json.dumps(body).encode()) == []


async def test_a_switched_off_ota_gives_nothing(begasist_bus: Bus, channex: ChannexStandin) -> None:
    harness = harness_for(begasist_bus, channex, airbnb=False)
    assert await parsed(harness, channex.guest_writes(AIRBNB_BOOKING_ID, "Hi")) == []
    assert len(await parsed(harness, channex.guest_writes(BOOKING_ID, "Hola"))) == 1


async def test_a_booking_channex_will_not_show_keeps_the_message_without_context(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    body = json.loads(channex.guest_writes(BOOKING_ID, "Hola"))
    body["payload"]["booking_id"] = "unknown-booking"
    [event] = await parsed(harness_for(begasist_bus, channex), json.dumps(body).encode())
    assert event.message.guest.address == "other:unknown-booking"
    assert event.message.context is None


async def test_a_message_event_without_its_ids_is_a_parse_error(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    body = b'{"event": "message", "payload": {"message": "hi"}, "property_id": null}'
    with pytest.raises(ParseError):
        await (
            harness_for(begasist_bus, channex)
            .build()
            .parse(harness_for(begasist_bus, channex).webhook(body))
        )


async def test_a_message_event_without_data_gives_nothing_and_says_why(
    begasist_bus: Bus, channex: ChannexStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """A webhook whose ``send_data`` is off sends only the event and the property."""
    body = json.dumps({"event": "message", "property_id": PROPERTY_ID, "user_id": None})
    assert await parsed(harness_for(begasist_bus, channex), body.encode()) == []
    assert "turn send_data on" in caplog.text
