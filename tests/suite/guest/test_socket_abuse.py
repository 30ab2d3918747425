"""What the guest socket does against abuse: frames bounded before they are read, open
sockets capped per client, idle sockets closed, settings changed under an open socket, and
a browser signed in as another person never reaching the previous person's conversation.

Found by an attacker's review of the first guest-socket step; each test failed before.
"""

from __future__ import annotations

import contextlib
import json

import anyio
import httpx
import pytest
from begasist_channels_webchat import identified_address, identity_hash
from begasist_core import GUEST_CLOSE_NOT_FOUND, GUEST_CLOSE_RATE_LIMITED, decode_event
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_suite.config import SuiteSettings
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, IDENTITY_SECRET, guest, hello, next_frame

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


@pytest.fixture
def suite_settings(suite_settings: SuiteSettings) -> SuiteSettings:
    return suite_settings.model_copy(
        update={"guest_address_open_sockets": 2, "guest_idle_seconds": 2.0}
    )


async def closed_with(socket: ClientConnection) -> tuple[int, str]:
    # A guard against a regression hanging the run, not a timing assertion.
    with anyio.fail_after(20), pytest.raises(ConnectionClosed) as closed:  # noqa: PT012
        while True:
            await socket.recv()
    received = closed.value.rcvd
    assert received is not None, "the suite closed without a close frame"
    return received.code, received.reason


@pytest.fixture
def greeted(admin: httpx.AsyncClient) -> None:
    """The hotel's web chat configured (the ``admin`` fixture does it)."""


async def test_a_frame_over_the_limit_is_refused_before_the_app_reads_it(
    suite: RunningSuite, greeted: None
) -> None:
    """The protocol layer closes with 1009 as the frame arrives (the app's own refusal,
    after reading the whole frame, says "frame too large")."""
    async with guest(suite) as socket:
        await hello(socket)
        await next_frame(socket)
        await socket.send("x" * (suite.settings.guest_max_frame_bytes + 1))
        code, reason = await closed_with(socket)
    assert code == 1009
    assert reason != "frame too large"


async def test_one_client_holds_only_so_many_sockets_open(
    suite: RunningSuite, greeted: None
) -> None:
    async with guest(suite) as first, guest(suite) as second:
        for socket in (first, second):
            await hello(socket)
            await next_frame(socket)
        async with guest(suite) as third:
            # Closed as soon as it opens: the hello may already find it closed.
            with contextlib.suppress(ConnectionClosed):
                await third.send(json.dumps({"type": "hello"}))
            assert await closed_with(third) == (
                GUEST_CLOSE_RATE_LIMITED,
                "too many open connections",
            )
    # The server counts a socket out when its handler ends, just after the client's close.
    with anyio.fail_after(20):
        while True:
            async with guest(suite) as again:
                try:
                    if (await hello(again))["type"] == "session":
                        break
                except ConnectionClosed:
                    await anyio.sleep(0.1)


async def test_an_idle_socket_is_closed(suite: RunningSuite, greeted: None) -> None:
    async with guest(suite) as socket:
        await hello(socket)
        await next_frame(socket)
        assert await closed_with(socket) == (1000, "idle")


async def test_a_socket_open_when_the_channel_is_disabled_takes_no_more_frames(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        await hello(socket)
        await next_frame(socket)
        patched = await admin.patch(
            f"/api/v1/hotels/{HOTEL}/channels/webchat", json={"enabled": False}
        )
        assert patched.status_code == 200, patched.text
        before = int(await suite.redis.xlen(suite.names.ingress(HOTEL)))
        with anyio.fail_after(20), pytest.raises(ConnectionClosed) as closed:  # noqa: PT012
            while True:  # pings until the settings cache sees the change
                await socket.send(json.dumps({"type": "ping"}))
                await anyio.sleep(0.2)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == GUEST_CLOSE_NOT_FOUND
    assert int(await suite.redis.xlen(suite.names.ingress(HOTEL))) == before


async def test_another_person_signed_in_on_the_same_browser_gets_a_conversation_of_their_own(
    suite: RunningSuite, greeted: None
) -> None:
    """Alice signs in on the hotel's site and writes; Bob then signs in on the same
    browser (same visitor id and token): his messages go to his own address, and Alice's
    web chat identity stays hers."""
    alice, bob = "alice@example.com", "bob@example.com"
    async with guest(suite) as socket:
        session = await hello(
            socket, identifier=alice, identifier_hash=identity_hash(IDENTITY_SECRET, alice)
        )
        await next_frame(socket)
        await socket.send(
            json.dumps({"type": "message", "id": "client-alice1", "text": "Room 204"})
        )
        await next_frame(socket)
    visitor, token = session["visitor"], session["token"]
    async with guest(suite) as socket:
        again = await hello(
            socket,
            visitor=visitor,
            token=token,
            identifier=bob,
            identifier_hash=identity_hash(IDENTITY_SECRET, bob),
        )
        assert again["visitor"] == visitor
        await next_frame(socket)
        await socket.send(json.dumps({"type": "message", "id": "client-bob001", "text": "Hi"}))
        await next_frame(socket)
    bodies = [
        json.loads(decode_event(fields[ENTRY_FIELD]).data.body)  # type: ignore[union-attr]
        for _, fields in await suite.redis.xrange(suite.names.ingress(HOTEL))
    ]
    assert [(b["id"], b["address"]) for b in bodies] == [
        ("client-alice1", identified_address(visitor, alice)),
        ("client-bob001", identified_address(visitor, bob)),
    ]
    guests = (await suite.store.list_guests(HOTEL)).items
    owners = {(i.channel, i.address): g.id for g in guests for i in g.identities}
    assert owners[("webchat", identified_address(visitor, alice))] == owners[("email", alice)]
    assert owners[("webchat", identified_address(visitor, bob))] == owners[("email", bob)]
    assert owners[("email", alice)] != owners[("email", bob)]
