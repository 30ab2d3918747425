"""``/guest/{hotel}/{channel}/socket``: admission, refusals with their codes, frames to ingress.

The suite under uvicorn and Redis are real; no bot runs here, so what a frame
becomes is read from the hotel's ingress stream (the end-to-end test runs the
bot). Every refusal is checked to leave the ingress stream and the store empty.
"""

from __future__ import annotations

import json
from dataclasses import replace

import anyio
import httpx
import pytest
from begasist_channels_webchat import identified_address, identity_hash
from begasist_core import (
    GUEST_CLOSE_BAD_FRAME,
    GUEST_CLOSE_FORBIDDEN,
    GUEST_CLOSE_RATE_LIMITED,
    GUEST_CLOSE_TOO_LARGE,
    GUEST_CLOSE_UNAUTHENTICATED,
    WebhookReceived,
    decode_event,
)
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.store.store import Store
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from tests.suite.conftest import RunningSuite, serving
from tests.suite.guest.conftest import (
    ALLOWED_ORIGIN,
    HOTEL,
    IDENTITY_SECRET,
    WEBCHAT_SETTINGS,
    guest,
    hello,
    ingress_entries,
    next_frame,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def closed_with(socket: ClientConnection) -> tuple[int, str]:
    """The close code and reason the suite closed *socket* with."""
    # A guard against a regression hanging the run, not a timing assertion.
    with anyio.fail_after(20), pytest.raises(ConnectionClosed) as closed:  # noqa: PT012
        while True:
            await socket.recv()
    received = closed.value.rcvd
    assert received is not None, "the suite closed without a close frame"
    return received.code, received.reason


async def nothing_stored(suite: RunningSuite) -> None:
    assert await ingress_entries(suite) == 0
    assert (await suite.store.list_conversations(HOTEL)).items == []


async def test_a_first_visit_gets_a_session_and_empty_history(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket)
        assert session["type"] == "session"
        assert len(session["visitor"]) >= 16
        assert session["token"]
        assert await next_frame(socket) == {"type": "history", "messages": []}


async def test_a_message_frame_is_enqueued_for_the_bot_as_the_visitor_and_acknowledged(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket, name="Ana")
        await next_frame(socket)  # history
        # The frame names no address: the visitor is whom the suite admitted.
        await socket.send(json.dumps({"type": "message", "id": "client-0001", "text": "Hola"}))
        assert await next_frame(socket) == {"type": "accepted", "id": "client-0001"}
    [(_, fields)] = await suite.redis.xrange(suite.names.ingress(HOTEL))
    event = decode_event(fields[ENTRY_FIELD])
    assert isinstance(event.data, WebhookReceived)
    assert event.data.channel == "webchat"
    body = json.loads(event.data.body)
    assert (body["kind"], body["address"], body["id"], body["text"]) == (
        "message",
        session["visitor"],
        "client-0001",
        "Hola",
    )
    assert body["display_name"] == "Ana"


async def test_a_page_of_another_origin_is_refused_with_4403(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    for origin in ("https://evil.example", None):
        async with guest(suite, origin=origin) as socket:
            await socket.send(json.dumps({"type": "hello"}))
            assert await closed_with(socket) == (GUEST_CLOSE_FORBIDDEN, "origin not allowed")
    await nothing_stored(suite)


async def test_an_identity_is_admitted_only_with_its_hmac(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    email = "ana@example.com"
    for wrong in (
        identity_hash("another-secret", email),
        None,
        "",
        identity_hash(IDENTITY_SECRET, email).upper(),
    ):
        async with guest(suite) as socket:
            await socket.send(
                json.dumps({"type": "hello", "identifier": email, "identifier_hash": wrong})
            )
            assert await closed_with(socket) == (
                GUEST_CLOSE_UNAUTHENTICATED,
                "identity not verified",
            )
    await nothing_stored(suite)
    async with guest(suite) as socket:
        session = await hello(
            socket, identifier=email, identifier_hash=identity_hash(IDENTITY_SECRET, email)
        )
        assert session["type"] == "session"
    # The visitor is linked to the guest the hotel knows by that email.
    page = await suite.store.list_guests(HOTEL)
    [known] = page.items
    addresses = {(i.channel, i.address) for i in known.identities}
    # Its conversation is the signed-in person's: the visitor id and a digest of the identifier.
    assert addresses == {
        ("email", email),
        ("webchat", identified_address(session["visitor"], email)),
    }


async def test_a_visitor_cannot_use_another_visitors_token(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        first = await hello(socket)
    async with guest(suite) as socket:
        second = await hello(socket)
    forgeries = [
        {"visitor": first["visitor"], "token": second["token"]},
        {"visitor": second["visitor"], "token": first["token"]},
        {"visitor": first["visitor"]},
        {"visitor": first["visitor"], "token": first["token"][:-1]},
    ]
    for forged in forgeries:
        async with guest(suite) as socket:
            await socket.send(json.dumps({"type": "hello", **forged}))
            assert await closed_with(socket) == (
                GUEST_CLOSE_UNAUTHENTICATED,
                "visitor token invalid",
            )
    async with guest(suite) as socket:
        again = await hello(socket, visitor=first["visitor"], token=first["token"])
        assert again == first  # the rightful visitor gets back in


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", GUEST_CLOSE_BAD_FRAME),
        ('{"type": "message", "id": "client-0001"}', GUEST_CLOSE_BAD_FRAME),
        ('{"type": "message", "id": "x", "text": "Hola"}', GUEST_CLOSE_BAD_FRAME),
        (
            '{"type": "message", "id": "client-0001", "text": "\\u0000\\u001b[2J"}',
            GUEST_CLOSE_BAD_FRAME,
        ),
        (
            '{"type": "message", "id": "client-0001", "text": "Hola", "address": "x"}',
            GUEST_CLOSE_BAD_FRAME,
        ),
        ('{"type": "hello"}', GUEST_CLOSE_BAD_FRAME),
        (b"\x00binary", GUEST_CLOSE_BAD_FRAME),
        # Over the channel's limit (16 KiB), under the suite's (64 KiB): the channel refuses.
        (
            json.dumps({"type": "message", "id": "client-0001", "text": "a" * 20_000}),
            GUEST_CLOSE_TOO_LARGE,
        ),
        # Over the suite's limit: refused before the channel sees it.
        ("a" * 70_000, GUEST_CLOSE_TOO_LARGE),
    ],
    ids=[
        "not-json",
        "no-text",
        "bad-id",
        "control-characters",
        "claims-an-address",
        "hello-again",
        "binary",
        "over-channel-limit",
        "over-suite-limit",
    ],
)
async def test_a_bad_frame_closes_the_socket_and_nothing_is_enqueued(
    suite: RunningSuite, admin: httpx.AsyncClient, frame: str | bytes, code: int
) -> None:
    async with guest(suite) as socket:
        await hello(socket)
        await next_frame(socket)
        await socket.send(frame)
        assert (await closed_with(socket))[0] == code
    await nothing_stored(suite)


async def test_a_malformed_hello_is_refused(suite: RunningSuite, admin: httpx.AsyncClient) -> None:
    for first in (
        '{"type": "message", "id": "client-0001", "text": "Hola"}',
        "hello",
        '{"type": "hello", "visitor": 5}',
    ):
        async with guest(suite) as socket:
            await socket.send(first)
            assert await closed_with(socket) == (GUEST_CLOSE_BAD_FRAME, "expected hello")
    await nothing_stored(suite)


async def test_hotels_and_channels_without_guest_sockets_are_refused_at_the_handshake(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    base = suite.url.replace("http://", "ws://")
    paths = (
        "/guest/nowhere/webchat/socket",  # no such hotel
        "/guest/plaza/whatsapp/socket",  # a channel that takes no guest sockets
        "/guest/plaza/nochannel/socket",  # no such channel
        "/guest/Plaza!/webchat/socket",  # not a hotel slug
    )
    for path in paths:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(base + path, origin=Origin(ALLOWED_ORIGIN), open_timeout=10):
                pass
        assert refused.value.response.status_code == 403, path


async def test_a_visitor_writing_too_fast_is_closed_with_4429(
    suite_settings: SuiteSettings, suite_store: Store, suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    strict = suite_settings.model_copy(update={"guest_visitor_frames": 3})
    app = create_app(strict, store=suite_store)
    async with serving(app, strict) as url:
        limited = replace(suite, url=url)
        async with guest(limited) as socket:
            await hello(socket)
            await next_frame(socket)
            for number in range(3):
                await socket.send(
                    json.dumps({"type": "message", "id": f"client-000{number}", "text": "Hola"})
                )
                assert (await next_frame(socket))["type"] == "accepted"
            await socket.send(json.dumps({"type": "message", "id": "client-0009", "text": "Hola"}))
            assert await closed_with(socket) == (GUEST_CLOSE_RATE_LIMITED, "too many messages")
    assert await ingress_entries(suite) == 3


async def test_a_visitor_token_opens_only_the_hotel_it_was_issued_by(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    saved = await admin.put("/api/v1/hotels/sol/channels/webchat", json=WEBCHAT_SETTINGS)
    if saved.status_code == 404:  # sol does not exist yet: a platform admin creates it
        created = await admin.post("/api/v1/hotels", json={"slug": "sol", "name": "Sol"})
        assert created.status_code == 201, created.text
        saved = await admin.put("/api/v1/hotels/sol/channels/webchat", json=WEBCHAT_SETTINGS)
    assert saved.status_code == 200, saved.text
    async with guest(suite) as socket:
        plaza = await hello(socket)
    async with guest(suite, hotel="sol") as socket:
        await socket.send(
            json.dumps({"type": "hello", "visitor": plaza["visitor"], "token": plaza["token"]})
        )
        assert await closed_with(socket) == (GUEST_CLOSE_UNAUTHENTICATED, "visitor token invalid")
