"""Edits, deletions, reactions and echoes in the store, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from begasist_core import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageChanged,
    MessageDeletion,
    MessageEchoed,
    MessageEdit,
    MessageReaction,
    MessageStatusChanged,
    TextVersion,
)
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio

SENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADDRESS = "34600000001"
GUEST = GuestIdentity(channel="whatsapp", address=ADDRESS, display_name="Ana")


def at(minutes: int) -> datetime:
    return SENT + timedelta(minutes=minutes)


def inbound(provider_id: str, text: str = "Room for 2 please") -> Message:
    return Message(
        hotel="plaza",
        channel="whatsapp",
        conversation_key=ADDRESS,
        direction=Direction.INBOUND,
        guest=GUEST,
        text=text,
        provider_message_id=provider_id,
        created_at=SENT,
        updated_at=SENT,
    )


def change(
    provider_id: str, what: MessageEdit | MessageDeletion | MessageReaction, minutes: int
) -> MessageChanged:
    return MessageChanged(
        channel="whatsapp", provider_message_id=provider_id, change=what, by=GUEST, at=at(minutes)
    )


async def test_edits_keep_the_previous_text_forward_only_and_once(
    database: DocumentDatabase,
) -> None:
    store = Store(database)
    message = inbound("wamid.A")
    await store.record_inbound(message)
    newer = change("wamid.A", MessageEdit(text="Room for 4 please"), 5)
    older = change("wamid.A", MessageEdit(text="Room for 3 please"), 2)
    for event in (newer, older, newer, older):
        assert await store.apply_change("plaza", event) is not None
    stored = await store.get_message("plaza", message.id)
    assert stored is not None
    assert stored.text == "Room for 4 please"
    assert stored.changes is not None
    assert stored.changes.edited_at == at(5)
    assert stored.changes.previous == (
        TextVersion(text="Room for 2 please", at=SENT),
        TextVersion(text="Room for 3 please", at=at(2)),
    )


async def test_a_deletion_keeps_the_text_for_audit(database: DocumentDatabase) -> None:
    store = Store(database)
    message = inbound("wamid.B", "my card is 4111 1111 1111 1111")
    recorded = await store.record_inbound(message)
    await store.apply_change("plaza", change("wamid.B", MessageDeletion(), 1))
    await store.apply_change("plaza", change("wamid.B", MessageDeletion(), 3))
    (stored,) = (await store.list_messages("plaza", recorded.conversation.id)).items
    assert stored.changes is not None
    assert stored.changes.deleted_at == at(1)
    assert stored.text == message.text


async def test_a_guest_reacts_to_the_hotels_reply(database: DocumentDatabase) -> None:
    store = Store(database)
    recorded = await store.record_inbound(inbound("wamid.C"))
    reply = Message(
        hotel="plaza",
        channel="whatsapp",
        conversation_key=ADDRESS,
        direction=Direction.OUTBOUND,
        guest=GUEST,
        text="Yes, we have a room for you",
    )
    assert await store.add_outbound(recorded.conversation, reply)
    receipt = MessageStatusChanged(
        channel="whatsapp",
        provider_message_id="wamid.OUT",
        message_id=reply.id,
        status=DeliveryStatus.DELIVERED,
    )
    await store.apply_status("plaza", receipt)
    reacted = await store.apply_change("plaza", change("wamid.OUT", MessageReaction(emoji="🙏"), 9))
    assert reacted is not None
    assert reacted.id == reply.id
    assert reacted.changes is not None
    assert [(r.by, r.emoji) for r in reacted.changes.shown_reactions] == [(ADDRESS, "🙏")]


async def test_a_change_to_an_unknown_message_is_none(database: DocumentDatabase) -> None:
    store = Store(database)
    assert await store.apply_change("plaza", change("wamid.nope", MessageDeletion(), 1)) is None


def echo(provider_id: str, text: str, address: str = ADDRESS) -> MessageEchoed:
    return MessageEchoed(
        message=Message(
            hotel="plaza",
            channel="whatsapp",
            conversation_key=address,
            direction=Direction.OUTBOUND,
            guest=GuestIdentity(channel="whatsapp", address=address),
            text=text,
            provider_message_id=provider_id,
            status=DeliveryStatus.SENT,
            created_at=at(20),
            updated_at=at(20),
        )
    )


async def test_an_echo_is_stored_once_as_sent_in_the_guests_conversation(
    database: DocumentDatabase,
) -> None:
    store = Store(database)
    recorded = await store.record_inbound(inbound("wamid.D"))
    first = await store.record_echo(echo("wamid.ECHO", "Sent from the phone"))
    again = await store.record_echo(echo("wamid.ECHO", "Sent from the phone"))
    assert (first.created, again.created) == (True, False)
    assert first.conversation.id == recorded.conversation.id
    page = await store.list_messages("plaza", recorded.conversation.id)
    assert [(m.direction, m.text, m.status) for m in page.items] == [
        (Direction.INBOUND, "Room for 2 please", DeliveryStatus.RECEIVED),
        (Direction.OUTBOUND, "Sent from the phone", DeliveryStatus.SENT),
    ]
    # Never queued for sending: nothing for the relay.
    assert (await store.outbox_backlog("plaza")).pending == 0
    # Its receipts apply to it like to any message Begasist sent.
    moved = await store.apply_status(
        "plaza",
        MessageStatusChanged(
            channel="whatsapp", provider_message_id="wamid.ECHO", status=DeliveryStatus.READ
        ),
    )
    assert moved is not None
    assert moved.status is DeliveryStatus.READ


async def test_an_echo_to_a_new_guest_opens_their_conversation(
    database: DocumentDatabase,
) -> None:
    store = Store(database)
    recorded = await store.record_echo(echo("wamid.E", "Hello from the hotel", "34600000009"))
    assert recorded.created
    conversations = (await store.list_conversations("plaza")).items
    assert [(c.key, c.unread, c.last_message_preview) for c in conversations] == [
        ("34600000009", 0, "Hello from the hotel")
    ]
    assert await store.hotel_unread("plaza") == 0


async def test_every_part_of_a_split_message_counts(database: DocumentDatabase) -> None:
    store = Store(database)
    recorded = await store.record_inbound(inbound("wamid.F"))
    reply = Message(
        hotel="plaza",
        channel="whatsapp",
        conversation_key=ADDRESS,
        direction=Direction.OUTBOUND,
        guest=GUEST,
        text="A long answer, sent in two parts",
    )
    assert await store.add_outbound(recorded.conversation, reply)
    for part in ("wamid.P1", "wamid.P2", "wamid.P2"):  # as the bot reports a send, and again
        await store.apply_status(
            "plaza",
            MessageStatusChanged(
                channel="whatsapp",
                provider_message_id=part,
                message_id=reply.id,
                status=DeliveryStatus.SENT,
            ),
        )
    # Meta's receipt for the second part names only its wamid.
    moved = await store.apply_status(
        "plaza",
        MessageStatusChanged(
            channel="whatsapp", provider_message_id="wamid.P2", status=DeliveryStatus.READ
        ),
    )
    assert moved is not None
    assert (moved.id, moved.status, moved.provider_message_id) == (
        reply.id,
        DeliveryStatus.READ,
        "wamid.P1",
    )
    reacted = await store.apply_change("plaza", change("wamid.P2", MessageReaction(emoji="👍"), 3))
    assert reacted is not None
    assert reacted.id == reply.id
    quoted = await store.messages_by_provider_id("plaza", "whatsapp", {"wamid.P1", "wamid.P2"})
    assert {key: message.id for key, message in quoted.items()} == {
        "wamid.P1": reply.id,
        "wamid.P2": reply.id,
    }
    page = await store.list_messages("plaza", recorded.conversation.id)
    assert [m.id for m in page.items] == [recorded.message.id, reply.id]
