"""Channex through the whole system: OTA guests' webhooks into the inbox, staff replies out.

Real pieces: the suite under uvicorn, Redis, ``channelbot`` processes fetching
their settings from the suite. Channex is the package's stand-in
(``begasist_channels_channex.testing.ChannexStandin``), a real local HTTP
server speaking Channex's documented wire format, NOT Channex: the real
service cannot be reached from CI. The stand-in writes the guests' messages,
produces the webhook bodies Channex sends and posts them with the webhook's
custom header, lists the property's threads for the catch-up, and keeps what
the bot posts.

A staff reply must reach the stand-in once although the bot is killed with
SIGKILL at the two worst moments of a send: after the stand-in kept the
message and the bot recorded its id, before the bot's XACK reached Redis (an
:class:`AckTrap` proxy holds that XACK back); and inside the POST, after the
stand-in kept the message, before its answer reached the bot (the stand-in
holds the answer back), so the bot never learnt the message's id. In both the
successor takes the entry over and must not post the reply again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from begasist_channels_channex import SECRET_HEADER
from begasist_channels_channex.testing import ChannexStandin, StandinBooking

from tests.suite.ack_trap import ack_trap
from tests.suite.conftest import RunningSuite, add_member
from tests.suite.test_whatsapp_end_to_end import channelbot, pending, through, until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

HOTEL = "plaza"
API = f"/api/v1/hotels/{HOTEL}"
API_KEY = "e2e-channex-api-key"
WEBHOOK_SECRET = "e2e-channex-webhook-secret"
PROPERTY_ID = "716305c4-561a-4561-a187-7f5b8aeb5920"

BOOKINGS = {
    "booking_com": StandinBooking(
        id="b4671a17-4440-4da4-9c72-f6afa2d61908",
        property_id=PROPERTY_ID,
        ota_name="Booking.com",
        ota_reservation_code="4001234567",
        arrival_date=date(2026, 12, 20),
        departure_date=date(2026, 12, 23),
        customer_name="Ana",
        customer_surname="García",
    ),
    "airbnb": StandinBooking(
        id="603e8e9e-cc67-4ca7-bd13-3c407c6c3bbd",
        property_id=PROPERTY_ID,
        ota_name="Airbnb",
        ota_reservation_code="HMABCDEF12",
        arrival_date=date(2027, 1, 4),
        departure_date=date(2027, 1, 9),
        customer_name="John",
        customer_surname="Smith",
    ),
    "expedia": StandinBooking(
        id="2f3c1a90-77b1-4be2-9b8a-0c5d0e6a1f44",
        property_id=PROPERTY_ID,
        ota_name="Expedia",
        ota_reservation_code="EX-72651934",
        arrival_date=date(2027, 2, 14),
        departure_date=date(2027, 2, 16),
        customer_name="Marie",
        customer_surname="Dupont",
    ),
}
"""One booking per OTA, keyed by the OTA's slug (the guest address's first part)."""


@pytest.fixture
def channex() -> Iterator[ChannexStandin]:
    with ChannexStandin(api_key=API_KEY) as standin:
        for booking in BOOKINGS.values():
            standin.add_booking(booking)
        yield standin


@pytest.fixture
async def admin(suite: RunningSuite) -> AsyncIterator[httpx.AsyncClient]:
    await add_member(suite.store, HOTEL, "admin@plaza.test", None, platform_admin=True)
    async with suite.client() as client:
        await suite.login(client, "admin@plaza.test")
        yield client


async def configure(
    admin: httpx.AsyncClient, channex: ChannexStandin, *, catch_up_seconds: int
) -> str:
    """The hotel's Channex channel configured through the API; a bot token for it."""
    settings = {
        "enabled": True,
        "mode": "manual",  # no assistant: the only reply is the staff's
        "api_key": API_KEY,
        "property_id": PROPERTY_ID,
        "api_base_url": channex.api_url,
        "webhook_secret": WEBHOOK_SECRET,
        "catch_up_interval_seconds": catch_up_seconds,
    }
    saved = await admin.put(f"{API}/channels/channex", json=settings)
    assert saved.status_code == 200, saved.text
    minted = await admin.post(f"{API}/bot-tokens", json={"name": "e2e"})
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


async def channex_running(admin: httpx.AsyncClient, log: Path) -> None:
    async def running() -> bool:
        status = (await admin.get(f"{API}/status")).json()
        states = {c["channel"]: c["state"] for c in status["channels"]}
        return bool(status["bot_online"]) and states.get("channex") == "running"

    await until(running, "the bot's channex channel to run", log)


async def deliver(channex: ChannexStandin, suite: RunningSuite, body: bytes) -> None:
    """Channex posts the webhook *body* to the hotel's URL with its custom header."""
    url = f"{suite.url}/webhooks/{HOTEL}/channex"
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    status = await anyio.to_thread.run_sync(
        lambda: channex.post_webhook(url, body, headers=headers)
    )
    assert status == 200


async def conversations(admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The hotel's Channex conversations by their key (``<ota>:<booking id>``)."""
    items = (await admin.get(f"{API}/conversations")).json()["items"]
    return {c["key"]: c for c in items if c["channel"] == "channex"}


async def messages(admin: httpx.AsyncClient, conversation: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        await admin.get(f"{API}/conversations/{conversation['id']}/messages")
    ).json()["items"]
    return found


async def settled(suite: RunningSuite) -> bool:
    """Every webhook the suite took was parsed and acked by the bot, and every event the
    bot published was stored and acked by the suite: nothing is still on its way."""
    for stream, group in (
        (suite.names.ingress(HOTEL), "channelbot"),
        (suite.names.events, "suite"),
    ):
        info = await suite.redis.xinfo_stream(stream)
        groups = {g["name"].decode(): g for g in await suite.redis.xinfo_groups(stream)}
        if group not in groups:
            return False
        mine = groups[group]
        if mine["pending"] or mine["last-delivered-id"] != info["last-generated-id"]:
            return False
    return True


def booking_key(ota: str) -> str:
    return f"{ota}:{BOOKINGS[ota].id}"


async def guest_conversation(
    suite: RunningSuite, admin: httpx.AsyncClient, channex: ChannexStandin, log: Path, ota: str
) -> dict[str, Any]:
    """A guest of *ota* wrote by webhook; their conversation once the message is stored."""
    await deliver(channex, suite, channex.guest_writes(BOOKINGS[ota].id, "¿Hay cuna?"))

    async def stored() -> dict[str, Any] | None:
        found = (await conversations(admin)).get(booking_key(ota))
        return found if found and await messages(admin, found) else None

    found: dict[str, Any] = await until(stored, "the guest's message", log)
    return found


def posts(channex: ChannexStandin) -> list[tuple[str, str]]:
    return [request for request in channex.requests if request[0] == "POST"]


async def test_three_otas_webhooks_are_stored_once_each_with_their_booking(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    channex: ChannexStandin,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    # No catch-up: every message here must come by its webhook.
    token = await configure(admin, channex, catch_up_seconds=0)
    texts = {
        "booking_com": "¿A qué hora es el check-in?",
        "airbnb": "Can we bring a dog?",
        "expedia": "Arrivons-nous trop tard pour le dîner ?",
    }
    with channelbot(suite, token, begasist_redis_url, log):
        await channex_running(admin, log)
        bodies = {ota: channex.guest_writes(BOOKINGS[ota].id, text) for ota, text in texts.items()}
        for body in bodies.values():
            await deliver(channex, suite, body)
        # Channex retries a webhook it thinks failed: the same body again.
        await deliver(channex, suite, bodies["booking_com"])

        async def all_three() -> dict[str, dict[str, Any]] | None:
            found = await conversations(admin)
            if len(found) < 3 or not all([await messages(admin, c) for c in found.values()]):
                return None
            return found if await settled(suite) else None

        found = await until(all_three, "the three OTAs' messages", log)

    assert set(found) == {booking_key(ota) for ota in BOOKINGS}
    for ota, booking in BOOKINGS.items():
        [message] = await messages(admin, found[booking_key(ota)])
        assert message["text"] == texts[ota]
        assert message["direction"] == "inbound"
        assert message["guest"]["address"] == booking_key(ota)
        assert (
            message["guest"]["display_name"]
            == f"{booking.customer_name} {booking.customer_surname}"
        )
        assert message["context"]["booking"] == {
            **message["context"]["booking"],
            "source": ota,
            "source_name": booking.ota_name,
            "reservation_id": booking.ota_reservation_code,
            "booking_id": booking.id,
            "property_id": PROPERTY_ID,
            "guest_name": f"{booking.customer_name} {booking.customer_surname}",
            "check_in": booking.arrival_date.isoformat(),
            "check_out": booking.departure_date.isoformat(),
        }

    # The staff app's conversation page shows the booking beside the thread.
    airbnb = found[booking_key("airbnb")]
    page = await admin.get(f"/hotels/{HOTEL}/conversations/{airbnb['id']}")
    assert page.status_code == 200
    assert 'aria-labelledby="booking-title"' in page.text
    for shown in ("Airbnb", "HMABCDEF12", "John Smith", "Jan 4, 2027", "Jan 9, 2027"):
        assert shown in page.text
    assert "<dt>Nights</dt>\n      <dd>5</dd>" in page.text


async def test_a_reply_reaches_channex_once_although_the_bot_dies_before_its_ack(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    channex: ChannexStandin,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    token = await configure(admin, channex, catch_up_seconds=0)
    upstream = urlsplit(begasist_redis_url)
    marker = suite.names.outbound(HOTEL).encode()
    async with ack_trap(upstream.hostname or "127.0.0.1", upstream.port or 6379, marker) as trap:
        with channelbot(suite, token, through(begasist_redis_url, trap.port), log) as first:
            await channex_running(admin, log)
            conversation = await guest_conversation(suite, admin, channex, log, "booking_com")
            reply = await admin.post(
                f"{API}/conversations/{conversation['id']}/messages",
                json={"text": "Sí, sin coste. La dejamos montada."},
            )
            assert reply.status_code == 202, reply.text
            with anyio.fail_after(30):
                await trap.trapped.wait()
            first.kill()
            first.wait()
        assert [m.message for m in channex.sent] == ["Sí, sin coste. La dejamos montada."]
        assert await pending(suite, suite.names) == 1  # the send was never acked

    # The successor takes the hotel over and the entry with it: no second post.
    with channelbot(suite, token, begasist_redis_url, log):
        delivered = await reply_settled(suite, admin, conversation, reply.json()["id"], log)
    [sent] = channex.sent
    assert sent.booking_id == BOOKINGS["booking_com"].id
    assert posts(channex) == [("POST", f"/api/v1/bookings/{sent.booking_id}/messages")]
    assert (delivered["status"], delivered["failed"]) == ("sent", False)
    assert delivered["provider_message_id"] == sent.id


async def test_a_reply_reaches_channex_once_although_the_bot_dies_inside_its_post(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    channex: ChannexStandin,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    token = await configure(admin, channex, catch_up_seconds=0)
    with channelbot(suite, token, begasist_redis_url, log) as first:
        await channex_running(admin, log)
        conversation = await guest_conversation(suite, admin, channex, log, "airbnb")
        # Channex keeps the reply, and the bot dies before it reads Channex's answer.
        channex.hold_post_answers()
        reply = await admin.post(
            f"{API}/conversations/{conversation['id']}/messages",
            json={"text": "Dogs are welcome, there is a bowl in the room."},
        )
        assert reply.status_code == 202, reply.text

        async def held() -> bool:
            return channex.held_answers == 1

        await until(held, "the reply's post", log)
        first.kill()
        first.wait()
    channex.release_post_answers()
    assert [m.message for m in channex.sent] == ["Dogs are welcome, there is a bowl in the room."]
    assert await pending(suite, suite.names) == 1

    # The successor finds the intent without an id, reads the booking's messages back,
    # and takes Channex's id from there instead of posting again.
    with channelbot(suite, token, begasist_redis_url, log):
        delivered = await reply_settled(suite, admin, conversation, reply.json()["id"], log)
    [sent] = channex.sent
    booking_messages = f"/api/v1/bookings/{BOOKINGS['airbnb'].id}/messages"
    assert posts(channex) == [("POST", booking_messages)]
    assert ("GET", booking_messages) in channex.requests
    assert (delivered["status"], delivered["failed"]) == ("sent", False)
    assert delivered["provider_message_id"] == sent.id


async def reply_settled(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    conversation: dict[str, Any],
    reply_id: str,
    log: Path,
) -> dict[str, Any]:
    """The reply once the successor acked its entry and the suite shows it sent."""

    async def acked() -> bool:
        return await pending(suite, suite.names) == 0

    await until(acked, "the successor to finish the entry", log)

    async def sent() -> dict[str, Any] | None:
        message = next(m for m in await messages(admin, conversation) if m["id"] == reply_id)
        return message if message["status"] != "queued" or message["failed"] else None

    found: dict[str, Any] = await until(sent, "the reply to show as sent", log)
    return found


async def test_a_message_whose_webhook_never_came_is_caught_up_and_stored_once(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    channex: ChannexStandin,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    token = await configure(admin, channex, catch_up_seconds=1)
    expedia = BOOKINGS["expedia"]
    threads = ("GET", "/api/v1/message_threads")
    with channelbot(suite, token, begasist_redis_url, log):
        await channex_running(admin, log)
        # The guest writes; Channex's webhook never reaches the suite.
        body = channex.guest_writes(expedia.id, "Pouvez-vous réserver un taxi ?")

        async def caught_up() -> dict[str, Any] | None:
            return (await conversations(admin)).get(booking_key("expedia"))

        conversation = await until(caught_up, "the catch-up to store the message", log)
        passes = channex.requests.count(threads)

        async def two_more_passes() -> bool:
            return channex.requests.count(threads) >= passes + 2

        # Later passes read the message again (their window overlaps the cursor) ...
        await until(two_more_passes, "two more catch-up passes", log)
        # ... and Channex's retry of the webhook, at last, brings it once more.
        await deliver(channex, suite, body)

        async def nothing_on_its_way() -> bool:
            return await settled(suite)

        await until(nothing_on_its_way, "the late webhook to be handled", log)
    [message] = await messages(admin, conversation)
    assert message["text"] == "Pouvez-vous réserver un taxi ?"
    assert message["guest"]["address"] == booking_key("expedia")
    assert message["context"]["booking"]["reservation_id"] == expedia.ota_reservation_code
    assert message["context"]["booking"]["source"] == "expedia"
    assert len(await conversations(admin)) == 1
