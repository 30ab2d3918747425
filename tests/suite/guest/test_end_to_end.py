"""Web chat through the whole system: a guest's socket into the inbox, staff replies back live.

Real pieces: the suite under uvicorn, Redis, a ``channelbot`` process fetching
the web chat settings from the suite's API. The guest is a WebSocket client
(the ``websockets`` library), as the widget's page will be.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, channels_running, guest, hello, next_frame
from tests.suite.test_whatsapp_end_to_end import channelbot, until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

API = f"/api/v1/hotels/{HOTEL}"


@pytest.fixture
async def bot_token(admin: httpx.AsyncClient) -> str:
    minted = await admin.post(f"{API}/bot-tokens", json={"name": "e2e"})
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


async def write(socket: ClientConnection, client_id: str, text: str) -> None:
    await socket.send(json.dumps({"type": "message", "id": client_id, "text": text}))
    assert await next_frame(socket) == {"type": "accepted", "id": client_id}


async def test_a_guest_chats_with_staff_live_and_finds_the_history_again(
    suite: RunningSuite,
    admin: httpx.AsyncClient,
    bot_token: str,
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    with channelbot(suite, bot_token, begasist_redis_url, log):
        await channels_running(admin, log)

        async with guest(suite) as socket:
            session = await hello(socket, name="Ana")
            assert await next_frame(socket) == {"type": "history", "messages": []}
            await write(socket, "ana-000001", "¿Hay parking?")

        async def conversation() -> dict[str, Any] | None:
            items = (await admin.get(f"{API}/conversations")).json()["items"]
            return items[0] if items else None

        found = await until(conversation, "the conversation", log)
        assert found["channel"] == "webchat"
        messages_path = f"{API}/conversations/{found['id']}/messages"

        async def messages(count: int) -> list[dict[str, Any]] | None:
            items: list[dict[str, Any]] = (await admin.get(messages_path)).json()["items"]
            return items if len(items) >= count else None

        # A reconnect resends the first message (its ack was lost, say) and writes another:
        # the bot handles ingress in order, so once the second is stored the resend was seen.
        async with guest(suite) as socket:
            again = await hello(socket, visitor=session["visitor"], token=session["token"])
            # The same visitor; its token is renewed (its expiry moves on by the second).
            assert {**again, "token": None} == {**session, "token": None}
            history = await next_frame(socket)
            assert [m["text"] for m in history["messages"]] == ["¿Hay parking?"]
            await write(socket, "ana-000001", "¿Hay parking?")
            await write(socket, "ana-000002", "Llegamos a las 22h")
            stored = await until(lambda: messages(2), "both messages", log)
            assert [m["text"] for m in stored] == ["¿Hay parking?", "Llegamos a las 22h"]
            assert {m["guest"]["address"] for m in stored} == {session["visitor"]}
            assert stored[0]["guest"]["display_name"] == "Ana"

            # Staff reply through the JSON API; the bot pushes it to the guest's socket.
            reply = await admin.post(messages_path, json={"text": "Sí, en el sótano."})
            assert reply.status_code == 202, reply.text
            pushed = await next_frame(socket)
            assert pushed["type"] == "message"
            assert pushed["message"]["id"] == reply.json()["id"]
            assert pushed["message"]["text"] == "Sí, en el sótano."
            assert pushed["message"]["direction"] == "outbound"
            # The widget shows it: the read receipt reaches the inbox.
            await socket.send(
                json.dumps({"type": "receipt", "id": pushed["message"]["id"], "status": "read"})
            )

            async def read() -> bool:
                items = (await admin.get(messages_path)).json()["items"]
                return any(m["id"] == reply.json()["id"] and m["status"] == "read" for m in items)

            await until(read, "the reply to show as read", log)

        # A second visitor sees none of it, in history or live.
        async with guest(suite) as other, guest(suite) as socket:
            stranger = await hello(other)
            assert stranger["visitor"] != session["visitor"]
            assert await next_frame(other) == {"type": "history", "messages": []}
            await hello(socket, visitor=session["visitor"], token=session["token"])
            history = await next_frame(socket)
            assert [(m["direction"], m["text"], m["status"]) for m in history["messages"]] == [
                ("inbound", "¿Hay parking?", "received"),
                ("inbound", "Llegamos a las 22h", "received"),
                ("outbound", "Sí, en el sótano.", "read"),
            ]
            second = await admin.post(messages_path, json={"text": "Le esperamos."})
            assert second.status_code == 202, second.text
            assert (await next_frame(socket))["message"]["text"] == "Le esperamos."
            # The hub pushed that entry to every socket it was for before the next read;
            # had it gone to the stranger, it would come before this acknowledgement.
            await write(other, "stranger-01", "Hola")

    items = (await admin.get(messages_path)).json()["items"]
    assert [m["text"] for m in items].count("¿Hay parking?") == 1
