"""The periodic catch-up through Channex's messages API, against the Channex API stand-in.

The stand-in (``begasist_channels_channex.testing``) is a real local HTTP
server speaking Channex's documented wire format (its message threads and
their messages, paged); it is not Channex. Redis is the test's real one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from begasist_channels_channex import ChannexChannel, ChannexSettings, ChannexUnavailable
from begasist_channels_channex.catchup import CURSOR_KEY
from begasist_channels_channex.testing import ChannexStandin
from begasist_core import Event, MessageReceived
from begasist_core.testing import Bus, ChannelHarness

from tests.channels.channex.conftest import (
    AIRBNB_BOOKING_ID,
    BOOKING_ID,
    EXPEDIA_BOOKING_ID,
    settings_for,
)

pytestmark = pytest.mark.anyio

HOTEL = "plaza"


def harness_for(
    bus: Bus, channex: ChannexStandin, **changes: Any
) -> ChannelHarness[ChannexChannel]:
    settings = ChannexSettings.model_validate(settings_for(channex, **changes))
    return ChannelHarness(ChannexChannel, bus=bus, settings=settings, hotel=HOTEL)


def received(events: list[Event]) -> list[MessageReceived]:
    return [e.data for e in events if isinstance(e.data, MessageReceived)]


def channex_message_id(body: bytes) -> str:
    return str(json.loads(body)["payload"]["id"])


async def test_a_message_whose_webhook_never_came_is_emitted_by_the_catch_up(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    body = channex.guest_writes(AIRBNB_BOOKING_ID, "¿Hay cuna para el bebé?")
    # The webhook of *body* is never posted: Channex gave up on it.

    assert await harness.build().catch_up().run_once() == 1

    [message] = [r.message for r in received(await harness.events.read())]
    assert message.provider_message_id == channex_message_id(body)
    assert message.text == "¿Hay cuna para el bebé?"
    assert message.guest.address == f"airbnb:{AIRBNB_BOOKING_ID}"
    assert message.context is not None
    assert message.context.booking is not None
    assert message.context.booking.reservation_id == "HMABCDEF12"


async def test_only_guest_messages_are_caught_up_not_the_property_replies(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    channex.guest_writes(BOOKING_ID, "Llegamos tarde")
    channel = harness.build()
    await channel.send(harness.outbound("Sin problema", address=f"booking_com:{BOOKING_ID}"))

    assert await channel.catch_up().run_once() == 1

    [message] = [r.message for r in received(await harness.events.read())]
    assert message.text == "Llegamos tarde"


async def test_every_thread_and_page_is_read(begasist_bus: Bus, channex: ChannexStandin) -> None:
    harness = harness_for(begasist_bus, channex)
    written = {channex_message_id(channex.guest_writes(EXPEDIA_BOOKING_ID, "uno"))}
    for number in range(120):  # more than a page (100) of one thread
        written.add(channex_message_id(channex.guest_writes(BOOKING_ID, f"mensaje {number}")))

    assert await harness.build().catch_up().run_once() == 121

    emitted = [r.message.provider_message_id for r in received(await harness.events.read())]
    assert sorted(emitted) == sorted(written)
    assert ("GET", f"/api/v1/message_threads/thread-{BOOKING_ID}/messages") in channex.requests


async def test_a_message_that_came_by_webhook_is_not_caught_up_again(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    channel = harness.build()
    body = channex.guest_writes(BOOKING_ID, "¿Desayuno incluido?")
    for payload in await channel.parse(harness.webhook(body)):
        await channel.context.emit(payload)
    booking_reads = channex.requests.count(("GET", f"/api/v1/bookings/{BOOKING_ID}"))

    # A restarted channel too: what the webhook brought is remembered in Redis.
    assert await harness.build().catch_up().run_once() == 0

    [event] = await harness.events.read()
    assert received([event])[0].message.provider_message_id == channex_message_id(body)
    # Skipped before its booking is read: the catch-up costs nothing for it.
    assert channex.requests.count(("GET", f"/api/v1/bookings/{BOOKING_ID}")) == booking_reads


async def test_a_webhook_that_failed_to_parse_leaves_the_message_to_the_catch_up(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    body = json.loads(channex.guest_writes(BOOKING_ID, "¿Hay parking?"))
    channex.fail_booking_reads(1, status=503)
    with pytest.raises(ChannexUnavailable):
        await harness.build().parse(harness.webhook(json.dumps(body).encode()))

    assert await harness.build().catch_up().run_once() == 1


async def test_a_late_webhook_after_the_catch_up_is_the_same_event(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    channel = harness.build()
    body = channex.guest_writes(BOOKING_ID, "¿Desayuno incluido?")
    await channel.catch_up().run_once()
    for payload in await channel.parse(harness.webhook(body)):
        await channel.context.emit(payload)

    by_catch_up, by_webhook = await harness.events.read()
    # The suite stores a message under (hotel, channel, provider message id), and the
    # event's idempotency key is made of the same: the second one changes nothing.
    assert by_webhook.key == by_catch_up.key
    first, second = received([by_catch_up, by_webhook])
    assert first.message.provider_message_id == second.message.provider_message_id
    assert first.message.conversation_key == second.message.conversation_key


async def test_a_message_caught_up_is_not_emitted_again_by_the_next_pass(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    catch_up = harness.build().catch_up()
    channex.guest_writes(BOOKING_ID, "Hola")

    assert await catch_up.run_once() == 1
    assert await catch_up.run_once() == 0
    assert len(await harness.events.read()) == 1


async def test_the_cursor_survives_a_restart(begasist_bus: Bus, channex: ChannexStandin) -> None:
    harness = harness_for(begasist_bus, channex)
    channex.guest_writes(BOOKING_ID, "antes")
    before = harness.build().catch_up()
    await before.run_once()
    cursor = await before.cursor()
    assert cursor is not None
    channex.guest_writes(AIRBNB_BOOKING_ID, "después")

    # A new instance on the same Redis: a restarted channel, or a standby bot taking over.
    after = harness.build().catch_up()
    assert await after.cursor() == cursor
    assert await after.run_once() == 1

    texts = [r.message.text for r in received(await harness.events.read())]
    assert texts == ["antes", "después"]


async def test_the_first_pass_looks_back_only_its_window(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex, catch_up_lookback_hours=2)
    now = datetime.now(UTC)
    channex.guest_writes(BOOKING_ID, "hace tres horas", at=now - timedelta(hours=3))
    channex.guest_writes(BOOKING_ID, "hace una hora", at=now - timedelta(hours=1))

    assert await harness.build().catch_up().run_once() == 1

    [message] = [r.message for r in received(await harness.events.read())]
    assert message.text == "hace una hora"


async def test_the_cursor_never_looks_back_further_than_needed(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    catch_up = harness.build().catch_up()
    await catch_up.run_once()
    # Written long after the first window, before the cursor: already covered by it.
    channex.guest_writes(BOOKING_ID, "viejo", at=datetime.now(UTC) - timedelta(hours=1))

    assert await catch_up.run_once() == 0


@pytest.mark.parametrize("status", [401, 429, 500, 503])
async def test_an_error_is_logged_once_and_the_next_period_resumes_from_the_cursor(
    begasist_bus: Bus,
    channex: ChannexStandin,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    harness = harness_for(begasist_bus, channex)
    catch_up = harness.build().catch_up()
    channex.guest_writes(BOOKING_ID, "primero")
    await catch_up.run_once()
    cursor = await catch_up.cursor()
    missed = channex.guest_writes(EXPEDIA_BOOKING_ID, "segundo")
    channex.fail_reads(2, status=status)

    with caplog.at_level(logging.INFO, logger="begasist.channel.channex"):
        assert await catch_up.run_once() == 0
        assert await catch_up.run_once() == 0
        assert await catch_up.cursor() == cursor
        assert await catch_up.run_once() == 1

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert str(status) in warnings[0].getMessage()
    emitted = [r.message.provider_message_id for r in received(await harness.events.read())]
    assert emitted[-1] == channex_message_id(missed)


async def test_a_refused_api_key_keeps_the_cursor(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex, api_key="not-the-key")
    catch_up = harness.build().catch_up()
    channex.guest_writes(BOOKING_ID, "Hola")

    assert await catch_up.run_once() == 0
    assert await catch_up.cursor() is None
    assert await begasist_bus.redis.exists(harness.build().context.keys.full_name(CURSOR_KEY)) == 0


async def test_run_catches_up_every_period(begasist_bus: Bus, channex: ChannexStandin) -> None:
    harness = harness_for(begasist_bus, channex, catch_up_interval_seconds=1)
    channex.guest_writes(BOOKING_ID, "Hola")

    outcome = await harness.run_then_cancel(warmup=1.5, limit=5)

    assert outcome.error is None
    assert not outcome.returned_early
    with anyio.fail_after(5):
        [event] = await harness.events.wait_for(1)
    assert received([event])[0].message.text == "Hola"


async def test_a_zero_interval_switches_the_catch_up_off(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex, catch_up_interval_seconds=0)
    channex.guest_writes(BOOKING_ID, "Hola")

    outcome = await harness.run_then_cancel(warmup=0.5, limit=5)

    assert outcome.error is None
    assert not [r for r in channex.requests if r[1].startswith("/api/v1/message_threads")]
    assert await harness.events.read() == []


async def test_a_failed_read_among_those_in_flight_ends_the_pass_like_a_lone_one(
    begasist_bus: Bus, channex: ChannexStandin, caplog: pytest.LogCaptureFixture
) -> None:
    # The threads' messages are read a few at once: one refusal ends the pass as itself.
    harness = harness_for(begasist_bus, channex)
    catch_up = harness.build().catch_up()
    for booking_id in (BOOKING_ID, AIRBNB_BOOKING_ID, EXPEDIA_BOOKING_ID):
        channex.guest_writes(booking_id, "¿Aparcamiento?")
    channex.fail_message_reads(1, status=503)

    with caplog.at_level(logging.WARNING, logger="begasist.channel.channex"):
        assert await catch_up.run_once() == 0
    assert await catch_up.cursor() is None
    assert "503" in caplog.records[-1].getMessage()
    assert await catch_up.run_once() == 3


async def test_bookings_read_ahead_that_failed_are_read_again_when_handed_on(
    begasist_bus: Bus, channex: ChannexStandin
) -> None:
    harness = harness_for(begasist_bus, channex)
    catch_up = harness.build().catch_up()
    for booking_id in (BOOKING_ID, AIRBNB_BOOKING_ID, EXPEDIA_BOOKING_ID):
        channex.guest_writes(booking_id, "¿Aparcamiento?")
    channex.fail_booking_reads(2, status=503)

    assert await catch_up.run_once() == 3

    messages = [r.message for r in received(await harness.events.read())]
    assert all(m.context is not None and m.context.booking is not None for m in messages)
