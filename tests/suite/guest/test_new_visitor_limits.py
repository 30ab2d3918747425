"""New visitors are limited per client (an IPv6 one by its /64, /56 and /48) once the channel
admitted them, and a hotel's new conversations per window without closing it to newcomers
(4429, "too many new visitors").

The attacker review (issue 12, M2) found that a few IPv6 /64s locked every new
visitor out of a hotel, and that hellos no channel would admit spent the
allowance; the tests of that failed before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from begasist_core import (
    GUEST_CLOSE_FORBIDDEN,
    GUEST_CLOSE_RATE_LIMITED,
    Direction,
    GuestIdentity,
    Message,
)
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.store.store import Store
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.suite.conftest import RunningSuite, serving
from tests.suite.guest.conftest import (
    ALLOWED_ORIGIN,
    WEBCHAT_SETTINGS,
    guest,
    hello,
    next_frame,
    socket_url,
)
from tests.suite.guest.test_socket import closed_with

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

NEW_VISITORS_PER_ADDRESS = 3
TOO_MANY = (GUEST_CLOSE_RATE_LIMITED, "too many new visitors")


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(
        update={"guest_address_new_visitors": NEW_VISITORS_PER_ADDRESS}
    )


@asynccontextmanager
async def guest_from(
    suite: RunningSuite, address: str, origin: str = ALLOWED_ORIGIN
) -> AsyncIterator[ClientConnection]:
    """A guest's socket from client *address* (the proxy's ``X-Forwarded-For``)."""
    async with connect(
        socket_url(suite),
        origin=Origin(origin),
        additional_headers={"x-forwarded-for": address},
        open_timeout=10,
    ) as socket:
        yield socket


async def first_visit(suite: RunningSuite, address: str) -> str | tuple[int, str]:
    """A new visitor from *address*: "session", or the close code and reason refusing it."""
    async with guest_from(suite, address) as socket:
        await socket.send(json.dumps({"type": "hello"}))
        try:
            session = await next_frame(socket)
        except ConnectionClosed:
            return await closed_with(socket)
        return str(session["type"])


async def test_one_address_mints_only_so_many_new_visitors(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    visitors = []
    for _ in range(NEW_VISITORS_PER_ADDRESS):
        async with guest(suite) as socket:
            visitors.append(await hello(socket))
    async with guest(suite) as socket:
        await socket.send(json.dumps({"type": "hello"}))
        assert await closed_with(socket) == TOO_MANY
    # A returning visitor is no new one, and another hotel counts its own new visitors.
    async with guest(suite) as socket:
        back = await hello(socket, visitor=visitors[0]["visitor"], token=visitors[0]["token"])
        assert back["visitor"] == visitors[0]["visitor"]
    await open_sol(admin)
    async with guest(suite, hotel="sol") as socket:
        assert (await hello(socket))["type"] == "session"


async def test_hellos_the_channel_refuses_spend_no_new_visitor_allowance(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    for _ in range(NEW_VISITORS_PER_ADDRESS + 2):
        async with guest(suite, origin="https://evil.example") as socket:
            await socket.send(json.dumps({"type": "hello"}))
            assert await closed_with(socket) == (GUEST_CLOSE_FORBIDDEN, "origin not allowed")
    for _ in range(NEW_VISITORS_PER_ADDRESS):
        async with guest(suite) as socket:
            assert (await hello(socket))["type"] == "session"


async def test_ipv6_clients_also_count_by_their_56_and_48(
    suite_settings: SuiteSettings, suite_store: Store, suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    # An address's share 1, a /56's 2, a /48's 4.
    strict = suite_settings.model_copy(
        update={"guest_address_new_visitors": 1, "guest_prefix_factor": 2}
    )
    async with serving(create_app(strict, store=suite_store), strict) as url:
        limited = replace(suite, url=url)
        for address in ("2001:db8:0:100::1", "2001:db8:0:101::1"):  # two /64s of one /56
            assert await first_visit(limited, address) == "session"
        assert await first_visit(limited, "2001:db8:0:102::1") == TOO_MANY  # that /56 again
        assert await first_visit(limited, "2001:db8:0:200::1") == "session"
        # The /48 has counted four attempts now (the refused one too).
        assert await first_visit(limited, "2001:db8:0:300::1") == TOO_MANY
        # Another party's network, and an IPv4 client, are theirs.
        assert await first_visit(limited, "2001:db8:1::1") == "session"
        assert await first_visit(limited, "192.0.2.7") == "session"


async def test_a_flood_of_new_conversations_does_not_lock_a_hotel_out(
    suite_settings: SuiteSettings, suite_store: Store, suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    """Past the hotel's budget each client still starts a few conversations: the
    attacker's network stops at its few, a guest from anywhere else gets in."""
    await open_sol(admin)
    strict = suite_settings.model_copy(
        update={
            "guest_hotel_new_visitors": 2,
            "guest_busy_address_new_visitors": 1,
            "guest_address_new_visitors": 10,
        }
    )
    attacker, guest_address = "2001:db8:0:1::1", "198.51.100.7"
    async with serving(create_app(strict, store=suite_store), strict) as url:
        limited = replace(suite, url=url)
        answers = [await first_message(limited, attacker) for _ in range(4)]
        assert [answer for answer, _ in answers] == [
            "accepted",
            "accepted",
            "accepted",  # the attacker's busy share
            TOO_MANY,
        ]
        assert (await first_message(limited, "2001:db8:0:2::1"))[0] == TOO_MANY  # the same /48
        # Someone else's first message goes in, as does the next one of a visitor whose
        # conversation the bot has stored.
        assert (await first_message(limited, guest_address))[0] == "accepted"
        await store_first_message(suite_store, answers[0][1]["visitor"])
        assert (await first_message(limited, attacker, returning=answers[0][1]))[0] == "accepted"
        # Plaza's flood counts at plaza only.
        assert (await first_message(limited, attacker, hotel="sol"))[0] == "accepted"


async def first_message(
    suite: RunningSuite,
    address: str,
    hotel: str = "plaza",
    returning: dict[str, Any] | None = None,
) -> tuple[str | tuple[int, str], dict[str, Any]]:
    """A visitor from *address* (new, or *returning* with its session) writes a message:
    "accepted" or the close code and reason, and the session."""
    async with connect(
        socket_url(suite, hotel),
        origin=Origin(ALLOWED_ORIGIN),
        additional_headers={"x-forwarded-for": address},
        open_timeout=10,
    ) as socket:
        session = await hello(socket, **(returning or {}))
        assert session["type"] == "session"
        await next_frame(socket)
        await socket.send(json.dumps({"type": "message", "id": "client-0001", "text": "Hola"}))
        try:
            answer = await next_frame(socket)
        except ConnectionClosed:
            return await closed_with(socket), session
        assert answer == {"type": "accepted", "id": "client-0001"}
        return "accepted", {"visitor": session["visitor"], "token": session["token"]}


async def store_first_message(store: Store, visitor: str) -> None:
    """What the bot makes of a visitor's first message: their conversation in the store."""
    await store.record_inbound(
        Message(
            hotel="plaza",
            channel="webchat",
            conversation_key=visitor,
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="webchat", address=visitor),
            text="Hola",
            provider_message_id=f"{visitor}/client-0001",
        )
    )


async def open_sol(admin: httpx.AsyncClient) -> None:
    """A second hotel with the web chat configured."""
    saved = await admin.put("/api/v1/hotels/sol/channels/webchat", json=WEBCHAT_SETTINGS)
    if saved.status_code == 404:  # sol does not exist yet: a platform admin creates it
        created = await admin.post("/api/v1/hotels", json={"slug": "sol", "name": "Sol"})
        assert created.status_code == 201, created.text
        saved = await admin.put("/api/v1/hotels/sol/channels/webchat", json=WEBCHAT_SETTINGS)
    assert saved.status_code == 200, saved.text
