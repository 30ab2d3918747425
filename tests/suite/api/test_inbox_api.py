"""The inbox over HTTP: conversations, replies, drafts, guests, status and dead letters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from begasist_core import DeadLetters, decode_event
from begasist_core.events.envelope import MessageSendEvent

from tests.suite.api.seed import (
    DEMO,
    SeededHotel,
    bury_outbound,
    inbound_message,
    json_of,
    seed_hotel,
)
from tests.suite.conftest import RunningSuite, outbox_drained

pytestmark = pytest.mark.anyio

PLAZA = "/api/v1/hotels/plaza"


@pytest.fixture
async def plaza(suite: RunningSuite) -> SeededHotel:
    return await seed_hotel(suite, "plaza")


@pytest.fixture
async def manager(suite: RunningSuite, plaza: SeededHotel) -> AsyncIterator[httpx.AsyncClient]:
    async with suite.client() as client:
        await suite.login(client, "manager@plaza.test")
        yield client


async def sent(suite: RunningSuite, hotel: str = "plaza") -> list[MessageSendEvent]:
    """The ``message.send`` events on *hotel*'s outbound stream, oldest first, once the
    outbox is published."""
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.outbound(hotel))
    events = [decode_event(fields[b"e"]) for _, fields in entries]
    return [e for e in events if isinstance(e, MessageSendEvent)]


async def test_conversations_filter_by_channel_status_and_assignee(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    by_mail = await suite.store.record_inbound(
        inbound_message("plaza", "mail-1", channel="email", address="ben@example.test")
    )
    other = await suite.store.record_inbound(inbound_message("plaza", "p2", address="+4470000002"))
    await manager.patch(
        f"{PLAZA}/conversations/{other.conversation.id}",
        json={"status": "resolved", "assignee": "mia"},
    )

    async def ids(**query: str) -> set[str]:
        page = json_of(await manager.get(f"{PLAZA}/conversations", params=query))
        return {c["id"] for c in page["items"]}

    assert await ids(channel="email") == {by_mail.conversation.id}
    assert await ids(channel=DEMO) == {plaza.conversation.id, other.conversation.id}
    assert await ids(status="resolved") == {other.conversation.id}
    assert await ids(status="open") == {plaza.conversation.id, by_mail.conversation.id}
    assert await ids(assignee="mia") == {other.conversation.id}
    assert await ids(assignee="nobody") == set()
    assert (await manager.get(f"{PLAZA}/conversations", params={"status": "x"})).status_code == 400


async def test_conversations_page_with_next_cursor(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    for n in range(4):
        await suite.store.record_inbound(
            inbound_message("plaza", f"page-{n}", address=f"+3460000010{n}")
        )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = json_of(await manager.get(f"{PLAZA}/conversations", params=params))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = json_of(await manager.get(f"{PLAZA}/conversations"))["items"]
    assert seen == [c["id"] for c in everything]
    assert len(seen) == 5


async def test_messages_carry_attachments_metadata(
    plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    page = json_of(await manager.get(f"{PLAZA}/conversations/{plaza.conversation.id}/messages"))
    (message,) = page["items"]
    assert message["id"] == plaza.message.id
    assert message["attachments"] == [
        {
            "kind": "image",
            "mime_type": "image/jpeg",
            "filename": "room.jpg",
            "size_bytes": 2048,
            "sha256": None,
            "provider_ref": None,
            "url": None,
            "caption": None,
        }
    ]


async def test_a_staff_reply_is_queued_and_handed_to_the_bot(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = f"{PLAZA}/conversations/{plaza.conversation.id}/messages"
    answer = await manager.post(path, json={"text": "See you at 8!", "reply_to": "plaza-p1"})
    assert answer.status_code == 202
    reply = answer.json()
    assert (reply["status"], reply["direction"], reply["text"]) == (
        "queued",
        "outbound",
        "See you at 8!",
    )
    stored = await suite.store.get_message("plaza", reply["id"])
    assert stored is not None
    assert stored.status == "queued"
    (event,) = await sent(suite)
    assert event.data.message.id == reply["id"]
    assert event.data.message.reply_to == "plaza-p1"
    listed = json_of(await manager.get(path))["items"]
    assert [m["id"] for m in listed] == [plaza.message.id, reply["id"]]


async def test_a_reply_needs_text_or_a_template_the_channel_can_send(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = f"{PLAZA}/conversations/{plaza.conversation.id}/messages"
    assert (await manager.post(path, json={"text": ""})).status_code == 400
    template = {"name": "booking_reminder", "language": "es"}
    # The demo channel declares no templates: refused before anything is queued.
    refused = await manager.post(path, json={"template": template})
    assert refused.status_code == 422
    assert "sends no templates" in refused.text
    assert await sent(suite) == []


async def test_assign_resolve_and_reopen(plaza: SeededHotel, manager: httpx.AsyncClient) -> None:
    path = f"{PLAZA}/conversations/{plaza.conversation.id}"
    assigned = json_of(await manager.patch(path, json={"assignee": "mia"}))
    assert (assigned["assignee"], assigned["status"]) == ("mia", "open")
    resolved = json_of(await manager.patch(path, json={"status": "resolved"}))
    assert (resolved["assignee"], resolved["status"]) == ("mia", "resolved")
    reopened = json_of(await manager.patch(path, json={"status": "open", "assignee": None}))
    assert (reopened["assignee"], reopened["status"]) == (None, "open")
    assert json_of(await manager.get(path))["status"] == "open"
    assert (await manager.patch(path, json={"status": "closed"})).status_code == 400


async def test_approving_a_draft_sends_it_once(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    pending = json_of(await manager.get(f"{PLAZA}/drafts"))
    assert [d["id"] for d in pending] == [plaza.draft.id]
    approve = f"{PLAZA}/drafts/{plaza.draft.id}/approve"
    first = await manager.post(approve, json={})
    assert first.status_code == 202
    assert first.json()["status"] == "sent"
    again = await manager.post(approve, json={})
    assert again.status_code == 409
    (event,) = await sent(suite)
    assert event.data.message.id == first.json()["sent_message_id"]
    assert event.data.message.text == plaza.draft.text
    assert json_of(await manager.get(f"{PLAZA}/drafts")) == []
    assert (await manager.post(f"{PLAZA}/drafts/{plaza.draft.id}/reject")).status_code == 409


async def test_edit_and_send_uses_the_edited_text(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    answer = await manager.post(
        f"{PLAZA}/drafts/{plaza.draft.id}/approve", json={"text": "Breakfast is 7-10."}
    )
    assert answer.json()["text"] == "Breakfast is 7-10."
    (event,) = await sent(suite)
    assert event.data.message.text == "Breakfast is 7-10."


async def test_rejecting_a_draft_sends_nothing(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    rejected = await manager.post(f"{PLAZA}/drafts/{plaza.draft.id}/reject")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert (
        await manager.post(f"{PLAZA}/drafts/{plaza.draft.id}/approve", json={})
    ).status_code == 409
    assert await sent(suite) == []
    listed = json_of(await manager.get(f"{PLAZA}/drafts", params={"status": "rejected"}))
    assert [d["id"] for d in listed] == [plaza.draft.id]


async def test_guests_list_get_update_and_link(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = f"{PLAZA}/guests/{plaza.guest.id}"
    assert [g["id"] for g in json_of(await manager.get(f"{PLAZA}/guests"))["items"]] == [
        plaza.guest.id
    ]
    assert json_of(await manager.get(path))["display_name"] == "Ana Lopez"
    updated = json_of(await manager.patch(path, json={"mode_override": "manual"}))
    assert updated["mode_override"] == "manual"
    linked = json_of(
        await manager.post(
            f"{path}/identities", json={"channel": "email", "address": "ana@example.test"}
        )
    )
    assert {(i["channel"], i["address"]) for i in linked["identities"]} == {
        (DEMO, "+34600000001"),
        ("email", "ana@example.test"),
    }
    # The linked address now finds the same guest.
    mail = await suite.store.record_inbound(
        inbound_message("plaza", "mail-9", channel="email", address="ana@example.test")
    )
    assert mail.conversation.guest_id == plaza.guest.id
    async with suite.client() as agent:
        await suite.login(agent, "agent@plaza.test")
        assert (await agent.patch(path, json={"mode_override": None})).status_code == 403
        assert json_of(await agent.patch(path, json={"display_name": "Ana L."}))[
            "mode_override"
        ] == ("manual")


async def test_status_shows_channel_states_and_the_pairing_qr(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    before = json_of(await manager.get(f"{PLAZA}/status"))
    assert before["bot_online"] is False
    (demo,) = before["channels"]
    assert (demo["channel"], demo["state"], demo["pairing_qr"]) == (DEMO, "running", None)
    await suite.redis.set(suite.names.hotel_key("plaza", "channel", DEMO, "qr"), "2@QR-PAYLOAD")
    after = json_of(await manager.get(f"{PLAZA}/status"))
    assert after["channels"][0]["pairing_qr"] == "2@QR-PAYLOAD"


async def test_dead_letters_are_per_hotel_and_retried_once(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    sol = await bury_outbound(suite, "sol", "a reply from sol")
    listed = json_of(await manager.get(f"{PLAZA}/dead-letters"))["items"]
    assert [d["id"] for d in listed] == [plaza.dead_id]
    assert listed[0]["error"] == "provider said no"
    assert (await manager.post(f"{PLAZA}/dead-letters/{sol}/retry")).status_code == 404
    retried = await manager.post(f"{PLAZA}/dead-letters/{plaza.dead_id}/retry")
    assert retried.status_code == 202
    (event,) = await sent(suite)
    assert event.data.message.text == "a reply from plaza"
    assert (await manager.post(f"{PLAZA}/dead-letters/{plaza.dead_id}/retry")).status_code == 404
    assert json_of(await manager.get(f"{PLAZA}/dead-letters"))["items"] == []
    remaining = await DeadLetters(suite.redis, suite.names).list(hotel="sol")
    assert [d.id for d in remaining] == [sol]
    assert await sent(suite, "sol") == []


@pytest.mark.parametrize(
    "dead_id", ["nonsense", "1-", "-1", "1-1-1", "9" * 21 + "-0", "0-0", "%2e%2e", "1-0%00"]
)
async def test_a_malformed_dead_letter_id_is_refused_cleanly(
    plaza: SeededHotel, manager: httpx.AsyncClient, dead_id: str
) -> None:
    answer = await manager.post(f"{PLAZA}/dead-letters/{dead_id}/retry")
    assert answer.status_code in (400, 404), answer.text


async def test_an_agent_does_not_see_dead_letters(suite: RunningSuite, plaza: SeededHotel) -> None:
    async with suite.client() as agent:
        await suite.login(agent, "agent@plaza.test")
        assert (await agent.get(f"{PLAZA}/dead-letters")).status_code == 403
        retry = await agent.post(f"{PLAZA}/dead-letters/{plaza.dead_id}/retry")
        assert retry.status_code == 403
    assert await sent(suite) == []
