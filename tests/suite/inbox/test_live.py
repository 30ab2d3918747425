"""The live inbox WebSocket: notices of consumed events, for members of the hotel only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest
from begasist_suite.auth.principal import SESSION_COOKIE
from begasist_suite.store.records import Role
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from tests.suite.conftest import RunningSuite, add_member
from tests.suite.inbox.conftest import (
    DEADLINE_SECONDS,
    HOTEL,
    MANAGER,
    guest_message,
    publish_received,
    set_channel_mode,
)

pytestmark = pytest.mark.anyio


async def session_cookie(suite: RunningSuite, email: str) -> str:
    async with suite.client() as client:
        await suite.login(client, email)
        cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


@asynccontextmanager
async def live(suite: RunningSuite, email: str) -> AsyncIterator[ClientConnection]:
    """A connection to plaza's live inbox as *email*, subscribed once it answered a ping."""
    url = suite.url.replace("http://", "ws://") + f"/api/v1/hotels/{HOTEL}/live"
    cookie = await session_cookie(suite, email)
    async with connect(url, additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as socket:
        await socket.send("ping")
        with anyio.fail_after(DEADLINE_SECONDS):
            assert json.loads(await socket.recv()) == {"kind": "pong"}
        yield socket


async def test_a_member_sees_a_consumed_message_arrive(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "manual")
    async with live(plaza, MANAGER) as socket:
        inbound = guest_message("Hello", provider_message_id="wamid-1")
        await publish_received(plaza, inbound)
        with anyio.fail_after(DEADLINE_SECONDS):
            notice = json.loads(await socket.recv())
    assert notice["kind"] == "message.created"
    assert (notice["hotel"], notice["message_id"]) == (HOTEL, inbound.id)
    stored = await plaza.store.get_conversation(HOTEL, notice["conversation_id"])
    assert stored is not None


async def test_a_user_of_another_hotel_is_refused(plaza: RunningSuite) -> None:
    """The handler closes before accepting, which uvicorn answers with a 403 handshake."""
    await add_member(plaza.store, "ritz", "eve@ritz.test", Role.OWNER)
    with pytest.raises(InvalidStatus) as refused:
        async with live(plaza, "eve@ritz.test"):
            pass
    assert refused.value.response.status_code == 403
