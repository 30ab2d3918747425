"""Replies into the booking's Channex thread, against the Channex API stand-in.

The stand-in (``begasist_channels_channex.testing``) is a real local HTTP
server speaking Channex's documented wire format; it is not Channex.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from begasist_channels_channex import (
    ChannexChannel,
    ChannexClient,
    ChannexRefused,
    ChannexSettings,
    ChannexUnavailable,
)
from begasist_channels_channex.sending import RetryPolicy, intent_key
from begasist_channels_channex.testing import ChannexStandin, StandinBooking
from begasist_core import PermanentSendError, utc_now
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import (
    AIRBNB_BOOKING_ID,
    API_KEY,
    BOOKING_ID,
    PROPERTY_ID,
    settings_for,
)

pytestmark = pytest.mark.anyio

HOTEL = "plaza"
GUEST = f"booking_com:{BOOKING_ID}"


async def no_wait(seconds: float) -> None:
    return None


def harness_for(
    bus: Bus, channex: ChannexStandin, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel=HOTEL)


def build(harness: ChannelHarness[ChannexChannel]) -> ChannexChannel:
    channel = harness.build()
    channel.retry = RetryPolicy(sleep=no_wait)
    return channel


async def test_a_reply_goes_into_the_booking_thread(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    message = harness.outbound("Yes, from 12:00.", address=GUEST)
    receipt = await build(harness).send(message)
    [sent] = channex.sent
    assert (sent.booking_id, sent.message, sent.sender) == (
        BOOKING_ID,
        "Yes, from 12:00.",
        "property",
    )
    assert receipt.provider_message_ids == (sent.id,)


async def test_a_resend_does_not_post_twice_even_from_a_new_instance(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    message = harness.outbound("See you soon", address=GUEST)
    first = await build(harness).send(message)
    again = await build(harness).send(message)
    assert again == first
    assert len(channex.sent) == 1


async def test_a_send_that_died_inside_its_post_is_not_posted_again(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    """The intent was kept and Channex took the message, but its id never was."""
    harness = harness_for(begasist_bus, channex)
    message = harness.outbound("Your room is ready", address=GUEST)
    channel = build(harness)
    before = utc_now() - timedelta(seconds=1)
    await channel.context.keys.set(intent_key(message.id, 0), before.isoformat())
    async with httpx.AsyncClient() as http:
        client = ChannexClient(http, root=channex.api_url, api_key=API_KEY)
        taken = await client.send_message(BOOKING_ID, "Your room is ready")
    receipt = await channel.send(message)
    assert receipt.provider_message_ids == (taken.id,)
    assert len(channex.sent) == 1


async def test_an_intent_without_the_message_in_the_thread_is_sent(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    message = harness.outbound("Breakfast is from 7", address=GUEST)
    channel = build(harness)
    await channel.context.keys.set(intent_key(message.id, 0), utc_now().isoformat())
    await channel.send(message)
    assert [m.message for m in channex.sent] == ["Breakfast is from 7"]


async def test_a_long_reply_goes_in_parts_each_once(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    text = "word " * 1000
    receipt = await build(harness).send(harness.outbound(text, address=GUEST))
    assert len(receipt.provider_message_ids) == len(channex.sent) > 1
    assert all(len(m.message) <= 2000 for m in channex.sent)


async def test_server_errors_are_retried(begasist_bus: Bus, channex: ChannexStandin) -> None:
    channex.fail_next(2, status=500)
    harness = harness_for(begasist_bus, channex)
    await build(harness).send(harness.outbound("Hola", address=GUEST))
    assert len(channex.sent) == 1
    posts = [r for r in channex.requests if r[0] == "POST"]
    assert len(posts) == 3


async def test_throttling_that_lasts_is_handed_back_to_the_runtime(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    channex.fail_next(4, status=429)
    harness = harness_for(begasist_bus, channex, send_attempts=4)
    with pytest.raises(ChannexUnavailable, match="429"):
        await build(harness).send(harness.outbound("Hola", address=GUEST))
    assert channex.sent == []


async def test_a_long_retry_after_is_not_waited_for(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    channex.fail_next(1, status=429, retry_after=3600)
    harness = harness_for(begasist_bus, channex)
    with pytest.raises(ChannexUnavailable, match="wait 3600 s"):
        await build(harness).send(harness.outbound("Hola", address=GUEST))


@pytest.mark.parametrize(
    ("booking", "reason"),
    [
        (StandinBooking(id="no-app", property_id=PROPERTY_ID, messages_app=False), "Messages app"),
        (
            StandinBooking(id="no-chat", property_id=PROPERTY_ID, messages_supported=False),
            "not_supported",
        ),
    ],
    ids=["forbidden", "not-supported"],
)
async def test_channex_refusals_fail_the_message_with_a_clear_reason(
    begasist_bus: Bus, channex: ChannexStandin, booking: StandinBooking, reason: str
) -> None:
    channex.add_booking(booking)
    harness = harness_for(begasist_bus, channex)
    with pytest.raises(ChannexRefused, match=reason):
        await build(harness).send(harness.outbound("Hola", address=f"booking_com:{booking.id}"))


async def test_an_unknown_booking_fails_the_message(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    with pytest.raises(ChannexRefused, match="no such booking"):
        await build(harness).send(harness.outbound("Hola", address="booking_com:gone"))


async def test_a_wrong_api_key_fails_the_message(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex, api_key="not-the-key")
    with pytest.raises(ChannexRefused, match="API key"):
        await build(harness).send(harness.outbound("Hola", address=GUEST))


async def test_a_switched_off_ota_is_not_answered(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex, airbnb=False)
    message = harness.outbound("Hi", address=f"airbnb:{AIRBNB_BOOKING_ID}")
    with pytest.raises(PermanentSendError, match="Airbnb messages are switched off"):
        await build(harness).send(message)
    assert channex.sent == []


async def test_an_address_that_names_no_booking_is_refused(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    with pytest.raises(PermanentSendError, match="not a Channex booking address"):
        await build(harness).send(harness.outbound("Hi", address="+34600000001"))
