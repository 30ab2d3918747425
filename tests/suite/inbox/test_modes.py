"""Reply modes end to end: automatic sends the FAQ answer once, supervised waits, manual not."""

from __future__ import annotations

from typing import Any

import pytest
from begasist_core import GuestIdentity, ReplyMode
from begasist_suite.store.records import Draft, DraftStatus
from begasist_suite.store.store import draft_id, reply_message_id

from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import (
    BREAKFAST,
    CHANNEL,
    FALLBACK,
    GUEST_ADDRESS,
    HOTEL,
    MANAGER,
    consumed,
    eventually,
    guest_message,
    outbound_entries,
    publish_event,
    publish_received,
    set_channel_mode,
)

pytestmark = pytest.mark.anyio


def sent_ids(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["data"]["message"]["id"] for entry in entries]


async def the_draft(suite: RunningSuite, inbound_id: str) -> Draft:
    async def stored() -> Draft | None:
        return await suite.store.get_draft(HOTEL, draft_id(inbound_id))

    return await eventually(stored)


@pytest.mark.parametrize(
    ("text", "language"),
    [("¿A qué hora es el desayuno?", "es"), ("What time is breakfast?", "en")],
)
async def test_automatic_sends_the_faq_answer_in_the_guest_language(
    plaza: RunningSuite, text: str, language: str
) -> None:
    await set_channel_mode(plaza, "automatic")
    inbound = guest_message(text, provider_message_id="wamid-1")
    await publish_received(plaza, inbound)

    [sent] = await eventually(lambda: outbound_entries(plaza))
    assert sent["type"] == "message.send"
    message = sent["data"]["message"]
    assert message["id"] == reply_message_id(inbound.id)
    assert message["text"] == BREAKFAST.answers[language]
    assert (message["direction"], message["conversation_key"]) == ("outbound", GUEST_ADDRESS)
    draft = await the_draft(plaza, inbound.id)
    assert (draft.status, draft.sent_message_id, draft.decided_by) == (
        DraftStatus.SENT,
        message["id"],
        "assistant",
    )


async def test_a_redelivered_inbound_event_sends_nothing_new(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "automatic")
    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-1")
    event = await publish_received(plaza, inbound)
    await eventually(lambda: outbound_entries(plaza))
    await consumed(plaza)

    await publish_event(plaza, event)
    await consumed(plaza)
    assert sent_ids(await outbound_entries(plaza)) == [reply_message_id(inbound.id)]


async def test_a_reply_repeated_after_a_crash_keeps_one_message_id(plaza: RunningSuite) -> None:
    """The responder ran, but the consumer died before recording it: the reply is published
    again under the same id (the bot's sent ledger drops it) and stored once."""
    await set_channel_mode(plaza, "automatic")
    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-1")
    event = await publish_received(plaza, inbound)
    await eventually(lambda: outbound_entries(plaza))
    await consumed(plaza)
    messages = plaza.store.database.collection("messages")
    await messages.update_one({"hotel": HOTEL, "id": inbound.id}, {"$set": {"responded": False}})

    await publish_event(plaza, event)
    await consumed(plaza)
    assert set(sent_ids(await outbound_entries(plaza))) == {reply_message_id(inbound.id)}
    [conversation] = (await plaza.store.list_conversations(HOTEL)).items
    stored = (await plaza.store.list_messages(HOTEL, conversation.id)).items
    assert [m.id for m in stored] == [inbound.id, reply_message_id(inbound.id)]


async def test_supervised_keeps_a_draft_until_a_manager_approves_it(
    plaza: RunningSuite,
) -> None:
    await set_channel_mode(plaza, "supervised")
    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-1")
    await publish_received(plaza, inbound)
    draft = await the_draft(plaza, inbound.id)
    await consumed(plaza)
    assert (draft.status, draft.text) == (DraftStatus.PENDING, BREAKFAST.answers["en"])
    assert await outbound_entries(plaza) == []

    async with plaza.client() as client:
        await plaza.login(client, MANAGER)
        approve = f"/api/v1/hotels/{HOTEL}/drafts/{draft.id}/approve"
        approved = await client.post(approve, json={})
        again = await client.post(approve, json={})
    assert approved.status_code == 202, approved.text
    assert approved.json()["status"] == "sent"
    assert again.status_code == 409
    [sent] = await outbound_entries(plaza)
    assert sent["data"]["message"]["id"] == approved.json()["sent_message_id"]
    assert sent["data"]["message"]["text"] == BREAKFAST.answers["en"]


async def test_manual_drafts_nothing_and_sends_nothing(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "manual")
    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-1")
    await publish_received(plaza, inbound)
    await consumed(plaza)

    assert await plaza.store.get_message(HOTEL, inbound.id) is not None
    assert (await plaza.store.list_drafts(HOTEL, status=None)).items == []
    assert await outbound_entries(plaza) == []


async def test_an_automated_message_is_never_answered_even_in_automatic_mode(
    plaza: RunningSuite,
) -> None:
    await set_channel_mode(plaza, "automatic")
    out_of_office = guest_message(
        "What time is breakfast? (out of office until Monday)", provider_message_id="auto-1"
    ).model_copy(update={"automated": "Auto-Submitted: auto-replied"})
    await publish_received(plaza, out_of_office)
    await consumed(plaza)

    stored = await plaza.store.get_message(HOTEL, out_of_office.id)
    assert stored is not None
    assert stored.automated == "Auto-Submitted: auto-replied"
    assert (await plaza.store.list_drafts(HOTEL, status=None)).items == []
    assert await outbound_entries(plaza) == []


async def test_the_guest_override_wins_over_the_channel_mode(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "automatic")
    guest = await plaza.store.guest_for_identity(
        HOTEL, GuestIdentity(channel=CHANNEL, address=GUEST_ADDRESS)
    )
    async with plaza.client() as client:
        await plaza.login(client, MANAGER)
        changed = await client.patch(
            f"/api/v1/hotels/{HOTEL}/guests/{guest.id}", json={"mode_override": "manual"}
        )
    assert changed.status_code == 200, changed.text

    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-1")
    await publish_received(plaza, inbound)
    await consumed(plaza)
    assert await plaza.store.get_message(HOTEL, inbound.id) is not None
    assert (await plaza.store.list_drafts(HOTEL, status=None)).items == []
    assert await outbound_entries(plaza) == []


async def test_the_conversation_override_wins_over_the_channel_mode(
    plaza: RunningSuite,
) -> None:
    await set_channel_mode(plaza, "manual")
    await publish_received(plaza, guest_message("Hello", provider_message_id="wamid-1"))
    await consumed(plaza)
    [conversation] = (await plaza.store.list_conversations(HOTEL)).items
    async with plaza.client() as client:
        await plaza.login(client, MANAGER)
        changed = await client.patch(
            f"/api/v1/hotels/{HOTEL}/conversations/{conversation.id}",
            json={"mode_override": "supervised"},
        )
    assert changed.status_code == 200, changed.text
    await set_channel_mode(plaza, "automatic")

    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-2")
    await publish_received(plaza, inbound)
    draft = await the_draft(plaza, inbound.id)
    await consumed(plaza)
    assert draft.status is DraftStatus.PENDING
    assert await outbound_entries(plaza) == []


async def test_the_conversation_override_wins_over_the_guest_override(
    plaza: RunningSuite,
) -> None:
    await set_channel_mode(plaza, "manual")
    await publish_received(plaza, guest_message("Hello", provider_message_id="wamid-1"))
    await consumed(plaza)
    [conversation] = (await plaza.store.list_conversations(HOTEL)).items
    assert conversation.guest_id is not None
    await set_channel_mode(plaza, "automatic")
    await plaza.store.update_guest(HOTEL, conversation.guest_id, mode_override=ReplyMode.MANUAL)
    await plaza.store.update_conversation(
        HOTEL, conversation.id, mode_override=ReplyMode.SUPERVISED
    )

    inbound = guest_message("What time is breakfast?", provider_message_id="wamid-2")
    await publish_received(plaza, inbound)
    draft = await the_draft(plaza, inbound.id)
    await consumed(plaza)
    assert draft.status is DraftStatus.PENDING
    assert await outbound_entries(plaza) == []


@pytest.mark.parametrize(
    ("text", "language"), [("Do you have a gym?", "en"), ("¿Tienen gimnasio?", "es")]
)
async def test_without_a_faq_match_the_fallback_is_sent(
    plaza: RunningSuite, text: str, language: str
) -> None:
    await set_channel_mode(plaza, "automatic")
    await publish_received(plaza, guest_message(text, provider_message_id="wamid-1"))

    [sent] = await eventually(lambda: outbound_entries(plaza))
    assert sent["data"]["message"]["text"] == FALLBACK[language]
