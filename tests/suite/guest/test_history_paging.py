"""A guest's history: the newest messages on (re)connect, older ones page by page, and only
ever the guest's own (the ``earlier`` frame of the guest socket)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from begasist_core import Direction, GuestIdentity, Message, utc_now
from begasist_suite.guest.history import HISTORY_LIMIT

from tests.suite.conftest import RunningSuite
from tests.suite.guest.conftest import HOTEL, guest, hello, next_frame

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]


async def store_conversation(suite: RunningSuite, visitor: str, count: int) -> list[str]:
    """*count* messages of *visitor*'s web chat, oldest first: their texts."""
    start = utc_now() - timedelta(days=1)
    texts = []
    for number in range(count):
        text = f"message {number:03d}"
        texts.append(text)
        message = Message(
            hotel=HOTEL,
            channel="webchat",
            conversation_key=visitor,
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="webchat", address=visitor),
            text=text,
            provider_message_id=f"{visitor}/client-{number:04d}",
            created_at=start + timedelta(seconds=number),
        )
        await suite.store.record_inbound(message)
    return texts


async def test_the_history_is_the_newest_messages_and_pages_back_to_the_first(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        first = await hello(socket)
        assert first["earlier"] is False
        await next_frame(socket)
    texts = await store_conversation(suite, first["visitor"], HISTORY_LIMIT + 50)
    async with guest(suite) as socket:
        session = await hello(socket, visitor=first["visitor"], token=first["token"])
        history = await next_frame(socket)
        shown = [m["text"] for m in history["messages"]]
        assert shown == texts[-HISTORY_LIMIT:]  # the newest, oldest first
        assert session["earlier"] is True
        await socket.send(json.dumps({"type": "earlier", "before": history["messages"][0]["id"]}))
        page = await next_frame(socket)
        assert page["type"] == "earlier"
        assert [m["text"] for m in page["messages"]] == texts[:50]
        assert page["earlier"] is False


async def test_a_visitor_pages_back_only_through_their_own_conversation(
    suite: RunningSuite, admin: httpx.AsyncClient
) -> None:
    async with guest(suite) as socket:
        ana = await hello(socket)
    async with guest(suite) as socket:
        other = await hello(socket)
    await store_conversation(suite, ana["visitor"], 3)
    ana_messages = await suite.store.list_conversations(HOTEL)
    conversation = ana_messages.items[0]
    newest = (await suite.store.list_messages(HOTEL, conversation.id, newest_first=True)).items[0]
    async with guest(suite) as socket:
        await hello(socket, visitor=other["visitor"], token=other["token"])
        await next_frame(socket)
        await socket.send(json.dumps({"type": "earlier", "before": newest.id}))
        page = await next_frame(socket)
    assert page == {"type": "earlier", "before": newest.id, "messages": [], "earlier": False}
