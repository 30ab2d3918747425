"""The Channex catch-up through the suite's consumer: a missed webhook stored, a caught-up one once.

The Channex API is its stand-in (``begasist_channels_channex.testing``), a real
local HTTP server speaking Channex's documented wire format, not Channex. The
channel runs in this test's process on the suite's Redis; the suite is real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from begasist_channels_channex import ChannexChannel, ChannexSettings
from begasist_channels_channex.testing import ChannexStandin, StandinBooking
from begasist_core import Message, Publisher
from begasist_core.testing import Bus, ChannelHarness

from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import HOTEL, consumed

pytestmark = pytest.mark.anyio

API_KEY = "channex-api-key-for-suite-tests"
PROPERTY_ID = "716305c4-561a-4561-a187-7f5b8aeb5920"
BOOKING_ID = "b4671a17-4440-4da4-9c72-f6afa2d61908"


@pytest.fixture
def channex() -> Iterator[ChannexStandin]:
    with ChannexStandin(api_key=API_KEY) as standin:
        standin.add_booking(StandinBooking(id=BOOKING_ID, property_id=PROPERTY_ID))
        yield standin


def harness_for(suite: RunningSuite, channex: ChannexStandin) -> ChannelHarness[ChannexChannel]:
    """The channel of the plaza hotel, publishing to the suite's events stream."""
    settings = ChannexSettings.model_validate(
        {
            "api_key": API_KEY,
            "property_id": PROPERTY_ID,
            "api_base_url": channex.api_url,
            "webhook_secret": "webhook-secret-for-suite-tests",
        }
    )
    bus = Bus(url="", redis=suite.redis, names=suite.names, publisher=Publisher(suite.redis))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel=HOTEL)


async def stored_channex_messages(suite: RunningSuite) -> list[Message]:
    messages: list[Message] = []
    for conversation in (await suite.store.list_conversations(HOTEL)).items:
        if conversation.channel == ChannexChannel.name:
            messages += (await suite.store.list_messages(HOTEL, conversation.id)).items
    return [m for m in messages if m.provider_message_id is not None]


async def test_a_missed_webhook_is_stored_from_the_catch_up(
    plaza: RunningSuite, channex: ChannexStandin
) -> None:
    harness = harness_for(plaza, channex)
    body = channex.guest_writes(BOOKING_ID, "¿A qué hora es el check-in?")

    assert await harness.build().catch_up().run_once() == 1
    await consumed(plaza)

    [message] = await stored_channex_messages(plaza)
    assert message.provider_message_id == json.loads(body)["payload"]["id"]
    assert message.conversation_key == f"booking_com:{BOOKING_ID}"
    assert message.context is not None
    assert message.context.booking is not None
    assert message.context.booking.booking_id == BOOKING_ID


async def test_a_message_that_came_by_catch_up_and_by_webhook_is_stored_once(
    plaza: RunningSuite, channex: ChannexStandin
) -> None:
    harness = harness_for(plaza, channex)
    channel = harness.build()
    body = channex.guest_writes(BOOKING_ID, "¿Hay parking?")
    assert await channel.catch_up().run_once() == 1
    await consumed(plaza)

    # The webhook came late, after the catch-up: the channel emits it again, the suite
    # stores it once. (The other way round, the catch-up skips what a webhook brought.)
    for payload in await channel.parse(harness.webhook(body)):
        await channel.context.emit(payload)
    await consumed(plaza)
    assert await channel.catch_up().run_once() == 0

    assert [m.text for m in await stored_channex_messages(plaza)] == ["¿Hay parking?"]
