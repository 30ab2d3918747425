"""The conversation page shows the booking a channel put on the guest's messages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from begasist_core import BookingContext, MessageContext, utc_now
from begasist_suite.store.records import ConversationRecord

from tests.suite.api.seed import SeededHotel, inbound_message, seed_hotel
from tests.suite.conftest import RunningSuite
from tests.suite.web.conftest import post_form, sign_in

pytestmark = pytest.mark.anyio

BOOKING = BookingContext(
    source="airbnb",
    source_name="Airbnb",
    reservation_id="HMABCDEF12",
    booking_id="603e8e9e-cc67-4ca7-bd13-3c407c6c3bbd",
    guest_name="John Smith",
    check_in=date(2026, 12, 20),
    check_out=date(2026, 12, 23),
)


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


async def guest_wrote(
    suite: RunningSuite, provider_id: str, context: MessageContext | None, minutes_ago: int
) -> ConversationRecord:
    at = utc_now() - timedelta(minutes=minutes_ago)
    message = inbound_message("plaza", provider_id, address="airbnb:603e8e9e").model_copy(
        update={"context": context, "created_at": at, "updated_at": at}
    )
    return (await suite.store.record_inbound(message)).conversation


async def test_the_guest_pane_shows_the_newest_booking_in_the_pages_language(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    older = BOOKING.model_copy(update={"reservation_id": "OLD-1"})
    await guest_wrote(suite, "m-1", MessageContext(booking=older), minutes_ago=30)
    await guest_wrote(suite, "m-2", MessageContext(booking=BOOKING), minutes_ago=20)
    conversation = await guest_wrote(suite, "m-3", None, minutes_ago=10)
    here = f"/hotels/plaza/conversations/{conversation.id}"
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        english = await client.get(here)
        await post_form(client, here, "/language", lang="es", next="/")
        spanish = await client.get(here)
    assert english.status_code == 200
    assert 'aria-labelledby="booking-title"' in english.text
    for shown in ("Booked on", "Airbnb", "HMABCDEF12", "John Smith", "Dec 20, 2026"):
        assert shown in english.text
    assert "Dec 23, 2026" in english.text
    assert "<dt>Nights</dt>\n      <dd>3</dd>" in english.text
    assert "OLD-1" not in english.text
    for shown in ("Reservado en", "Localizador", "20 dic 2026", "Noches"):
        assert shown in spanish.text


async def test_a_conversation_without_a_booking_shows_none(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    conversation = await guest_wrote(suite, "m-1", None, minutes_ago=1)
    async with suite.client() as client:
        await sign_in(client, "agent@plaza.test")
        page = await client.get(f"/hotels/plaza/conversations/{conversation.id}")
    assert page.status_code == 200
    assert "booking-title" not in page.text
