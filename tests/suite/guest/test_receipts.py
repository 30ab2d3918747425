"""A guest's receipts reach the bot only for replies their socket showed or pushed
(attacker review, issue 12, L3: receipts for any id were enqueued before)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest
from begasist_channels_webchat.frames import outbound_frame
from begasist_core import GuestOutbox, decode_event, utc_now
from begasist_core.bus.publisher import ENTRY_FIELD
from websockets.asyncio.client import ClientConnection

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, guest, hello, next_frame
from tests.suite.guest.test_history_paging import store_conversation

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

API = f"/api/v1/hotels/{HOTEL}"


async def enqueued(suite: RunningSuite) -> list[dict[str, Any]]:
    """The ingress bodies of the hotel's stream: (kind, id) of each."""
    entries = await suite.redis.xrange(suite.names.ingress(HOTEL))
    bodies = [json.loads(decode_event(fields[ENTRY_FIELD]).data.body) for _, fields in entries]  # type: ignore[union-attr]
    return [{"kind": body["kind"], "id": body["id"]} for body in bodies]


async def receipts_then_a_message(socket: ClientConnection, *ids: str) -> None:
    """Send a read receipt for each of *ids*, then a message: once it is accepted, every
    receipt before it has been taken or dropped (frames are handled in order)."""
    for reply_id in ids:
        await socket.send(json.dumps({"type": "receipt", "id": reply_id, "status": "read"}))
    await socket.send(json.dumps({"type": "message", "id": "client-0001", "text": "Gracias"}))
    assert await next_frame(socket) == {"type": "accepted", "id": "client-0001"}


async def test_receipts_for_replies_never_shown_are_dropped(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        await hello(socket)
        await next_frame(socket)
        await receipts_then_a_message(socket, "no-such-1", "no-such-2", "01JSOMEONEELSES")
    assert await enqueued(suite) == [{"kind": "message", "id": "client-0001"}]


async def test_receipts_for_replies_in_the_history_and_pushed_are_enqueued(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        session = await hello(socket)
    visitor = session["visitor"]
    await store_conversation(suite, visitor, 1)
    conversation = (await suite.store.list_conversations(HOTEL)).items[0]
    sent = await admin.post(
        f"{API}/conversations/{conversation.id}/messages", json={"text": "Claro"}
    )
    assert sent.status_code == 202, sent.text
    in_history = sent.json()["id"]
    outbox = GuestOutbox(suite.redis, suite.names, HOTEL, "webchat")
    async with guest(suite) as socket:
        await hello(socket, visitor=visitor, token=session["token"])
        history = await next_frame(socket)
        assert history["messages"][-1]["id"] == in_history
        frame = outbound_frame("01JPUSHEDREPLY", "Hasta luego", utc_now(), f"{visitor}/x")
        await outbox.deliver(visitor, frame, message_id="01JPUSHEDREPLY")
        # Another visitor's reply pushed to them: not this socket's to acknowledge.
        await outbox.deliver("someone-else", frame, message_id="01JOTHERREPLY")
        with anyio.fail_after(20):
            pushed = await next_frame(socket)
        assert pushed["message"]["id"] == "01JPUSHEDREPLY"
        await receipts_then_a_message(socket, in_history, "01JPUSHEDREPLY", "01JOTHERREPLY")
    assert await enqueued(suite) == [
        {"kind": "receipt", "id": in_history},
        {"kind": "receipt", "id": "01JPUSHEDREPLY"},
        {"kind": "message", "id": "client-0001"},
    ]
