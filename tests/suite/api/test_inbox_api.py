"""The inbox over HTTP: conversations, replies, drafts, guests, status and dead letters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from begasist_core import DeadLetters, decode_event
from begasist_core.events.envelope import MessageSendEvent
from begasist_suite.store.records import Membership, Role

from tests.suite.api.seed import (
    DEMO,
    SeededHotel,
    add_draft_for,
    bury_outbound,
    inbound_message,
    json_of,
    seed_hotel,
)
from tests.suite.conftest import RunningSuite, add_member, outbox_drained

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
    assert [d["id"] for d in pending["items"]] == [plaza.draft.id]
    approve = f"{PLAZA}/drafts/{plaza.draft.id}/approve"
    first = await manager.post(approve, json={})
    assert first.status_code == 202
    assert first.json()["status"] == "sent"
    again = await manager.post(approve, json={})
    assert again.status_code == 409
    (event,) = await sent(suite)
    assert event.data.message.id == first.json()["sent_message_id"]
    assert event.data.message.text == plaza.draft.text
    assert json_of(await manager.get(f"{PLAZA}/drafts")) == {"items": [], "next_cursor": None}
    assert (await manager.post(f"{PLAZA}/drafts/{plaza.draft.id}/reject")).status_code == 409


@pytest.mark.parametrize("body", [None, b"", b"{}"], ids=["no-body", "empty", "empty-object"])
async def test_approving_with_no_body_approves_as_is(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient, body: bytes | None
) -> None:
    approve = f"{PLAZA}/drafts/{plaza.draft.id}/approve"
    headers = {"Idempotency-Key": "approve-as-is-1"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    first = await manager.post(approve, content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert (first.json()["status"], first.json()["text"]) == ("sent", plaza.draft.text)
    replayed = await manager.post(approve, content=body, headers=headers)
    assert replayed.status_code == 202
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    (event,) = await sent(suite)
    assert event.data.message.text == plaza.draft.text


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
    assert [d["id"] for d in listed["items"]] == [plaza.draft.id]


async def test_drafts_page_with_next_cursor_newest_first(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    newest_first = [plaza.draft.id]
    for n in range(4):
        recorded = await suite.store.record_inbound(
            inbound_message("plaza", f"draft-{n}", address=plaza.conversation.key)
        )
        newest_first.insert(0, (await add_draft_for(suite, recorded)).id)
    for path in (f"{PLAZA}/drafts", f"{PLAZA}/conversations/{plaza.conversation.id}/drafts"):
        seen: list[str] = []
        params: dict[str, str] = {"limit": "2"}
        while True:
            page = json_of(await manager.get(path, params=params))
            assert len(page["items"]) <= 2
            seen.extend(d["id"] for d in page["items"])
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == newest_first, path


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


async def test_reading_a_conversation_marks_its_guest_messages_read(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    path = f"{PLAZA}/conversations/{plaza.conversation.id}"
    await suite.store.record_inbound(
        inbound_message("plaza", "unread-2", address=plaza.conversation.key)
    )
    async with suite.client() as agent:
        await suite.login(agent, "agent@plaza.test")
        assert json_of(await agent.get(path))["unread"] == 2
        messages = json_of(await agent.get(f"{path}/messages"))["items"]
        assert [m["status"] for m in messages] == ["received", "received"]
        read = await agent.post(f"{path}/read")
        assert read.status_code == 200
        assert read.json()["unread"] == 0
        messages = json_of(await agent.get(f"{path}/messages"))["items"]
        assert [m["status"] for m in messages] == ["read", "read"]
        assert json_of(await agent.post(f"{path}/read"))["unread"] == 0
        assert (await agent.post(f"{PLAZA}/conversations/missing/read")).status_code == 404
    assert await suite.store.hotel_unread("plaza") == 0


async def test_conversations_are_searched_by_guest_with_the_other_filters(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    by_mail = await suite.store.record_inbound(
        inbound_message("plaza", "mail-s", channel="email", address="Ben@Example.test")
    )

    async def ids(**query: str) -> set[str]:
        page = json_of(await manager.get(f"{PLAZA}/conversations", params=query))
        return {c["id"] for c in page["items"]}

    # Both guests are named "Ana Lopez" by inbound_message.
    assert await ids(q="ana lo") == {plaza.conversation.id, by_mail.conversation.id}
    assert await ids(q="ana", channel="email") == {by_mail.conversation.id}
    assert await ids(q="ben@example.test") == {by_mail.conversation.id}
    assert await ids(q="600 000") == {plaza.conversation.id}
    assert await ids(q="nobody") == set()
    assert (await manager.get(f"{PLAZA}/conversations", params={"q": "x" * 101})).status_code == 400


async def test_who_sent_a_reply_or_approved_a_draft_is_recorded(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = f"{PLAZA}/conversations/{plaza.conversation.id}/messages"
    reply = json_of(await manager.post(path, json={"text": "On our way."}))
    approved = json_of(await manager.post(f"{PLAZA}/drafts/{plaza.draft.id}/approve"))
    manager_id = plaza.members[Role.MANAGER].id
    assert reply["sent_by"] == manager_id
    by_id = {m["id"]: m for m in json_of(await manager.get(path))["items"]}
    assert by_id[reply["id"]]["sent_by"] == manager_id
    assert by_id[approved["sent_message_id"]]["sent_by"] == manager_id
    assert by_id[plaza.message.id]["sent_by"] is None  # the guest's


async def test_messages_newest_first_with_order_desc(
    suite: RunningSuite, plaza: SeededHotel, manager: httpx.AsyncClient
) -> None:
    path = f"{PLAZA}/conversations/{plaza.conversation.id}/messages"
    for n in range(3):
        await manager.post(path, json={"text": f"reply {n}"})
    newest = json_of(await manager.get(path, params={"order": "desc", "limit": "2"}))
    assert [m["text"] for m in newest["items"]] == ["reply 2", "reply 1"]
    older = json_of(
        await manager.get(
            path, params={"order": "desc", "limit": "2", "cursor": newest["next_cursor"]}
        )
    )
    assert [m["text"] for m in older["items"]] == ["reply 0", "Is breakfast included?"]
    assert older["next_cursor"] is None
    assert (await manager.get(path, params={"order": "newest"})).status_code == 400


async def pages_of(
    client: httpx.AsyncClient, path: str, key: str, limit: int = 2
) -> list[list[str]]:
    """Every page of the list at *path*, as lists of each item's *key*."""
    pages: list[list[str]] = []
    params = {"limit": str(limit)}
    while True:
        page = json_of(await client.get(path, params=params))
        assert set(page) == {"items", "next_cursor"}
        pages.append([item[key] for item in page["items"]])
        if page["next_cursor"] is None:
            return pages
        params["cursor"] = page["next_cursor"]


async def test_hotels_members_and_bot_tokens_are_listed_a_page_at_a_time(
    suite: RunningSuite, plaza: SeededHotel
) -> None:
    await add_member(suite.store, "plaza", "root@platform.test", None, platform_admin=True)
    for slug in ("alba", "sol"):
        await add_member(suite.store, slug, f"owner@{slug}.test", Role.OWNER)
    owner = plaza.members[Role.OWNER]
    await suite.store.set_membership(Membership(hotel="alba", user_id=owner.id, role=Role.AGENT))
    async with suite.client() as root, suite.client() as client:
        await suite.login(root, "root@platform.test")
        await suite.login(client, "owner@plaza.test")
        for n in range(2):
            made = await client.post(f"{PLAZA}/bot-tokens", json={"name": f"bot-{n}"})
            assert made.status_code == 201
        assert await pages_of(root, "/api/v1/hotels", "slug") == [["alba", "plaza"], ["sol"]]
        assert await pages_of(client, "/api/v1/hotels", "role", limit=1) == [["agent"], ["owner"]]
        members = await pages_of(client, f"{PLAZA}/members", "user_id")
        assert sorted(u for page in members for u in page) == sorted(
            m.id for m in plaza.members.values()
        )
        assert [len(page) for page in members] == [2, 1]
        tokens = await pages_of(client, f"{PLAZA}/bot-tokens", "name")
        assert tokens == [["bot", "bot-0"], ["bot-1"]]
