"""The consumer applies message.changed and message.echoed, and counts reports about
messages it does not have."""

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
    MessageStatusChanged,
)
from begasist_suite.inbox.consumer import UNKNOWN_KEY

from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import (
    CHANNEL,
    GUEST_ADDRESS,
    HOTEL,
    consumed,
    dead_letters,
    guest_message,
    outbound_entries,
    publish,
    publish_received,
    set_channel_mode,
)

pytestmark = pytest.mark.anyio

SENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GUEST = GuestIdentity(channel=CHANNEL, address=GUEST_ADDRESS)


def edit(provider_id: str, text: str, minutes: int) -> MessageChanged:
    return MessageChanged(
        channel=CHANNEL,
        provider_message_id=provider_id,
        change=MessageEdit(text=text),
        by=GUEST,
        at=SENT + timedelta(minutes=minutes),
    )


async def unknown_counts(suite: RunningSuite) -> dict[bytes, bytes]:
    counts: dict[bytes, bytes] = await suite.redis.hgetall(
        suite.names.hotel_key(HOTEL, UNKNOWN_KEY)
    )
    return counts


async def test_edits_and_a_deletion_reach_the_stored_message_once(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "manual")
    message = guest_message("Room for 2", provider_message_id="wamid-1", created_at=SENT)
    await publish_received(plaza, message)
    for _ in range(2):  # a replayed webhook
        await publish(plaza, edit("wamid-1", "Room for 3", 2))
        await publish(plaza, edit("wamid-1", "Room for 4", 4))
    await publish(
        plaza,
        MessageChanged(
            channel=CHANNEL,
            provider_message_id="wamid-1",
            change=MessageDeletion(),
            by=GUEST,
            at=SENT + timedelta(minutes=6),
        ),
    )
    await consumed(plaza)
    stored = await plaza.store.get_message(HOTEL, message.id)
    assert stored is not None
    assert stored.text == "Room for 4"
    assert stored.changes is not None
    assert [v.text for v in stored.changes.previous] == ["Room for 2", "Room for 3"]
    assert stored.changes.deleted_at == SENT + timedelta(minutes=6)
    assert await dead_letters(plaza) == []


async def test_an_echo_is_stored_as_sent_and_never_sent_again(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "manual")
    await publish_received(plaza, guest_message("Hi", provider_message_id="wamid-2"))
    echoed = Message(
        hotel=HOTEL,
        channel=CHANNEL,
        conversation_key=GUEST_ADDRESS,
        direction=Direction.OUTBOUND,
        guest=GUEST,
        text="Answered from the phone",
        provider_message_id="wamid-echo",
    )
    for _ in range(2):
        await publish(plaza, MessageEchoed(message=echoed))
    await consumed(plaza)
    (conversation,) = (await plaza.store.list_conversations(HOTEL)).items
    page = await plaza.store.list_messages(HOTEL, conversation.id)
    assert [(m.direction, m.text, m.status) for m in page.items] == [
        (Direction.INBOUND, "Hi", DeliveryStatus.RECEIVED),
        (Direction.OUTBOUND, "Answered from the phone", DeliveryStatus.SENT),
    ]
    assert await outbound_entries(plaza) == []
    assert await dead_letters(plaza) == []


async def test_reports_about_unknown_messages_are_counted(plaza: RunningSuite) -> None:
    await publish(
        plaza,
        MessageStatusChanged(
            channel=CHANNEL, provider_message_id="wamid-unknown", status=DeliveryStatus.READ
        ),
    )
    await publish(plaza, edit("wamid-unknown", "x", 1))
    await publish(plaza, edit("wamid-unknown", "y", 2))
    await consumed(plaza)
    assert await unknown_counts(plaza) == {
        f"{CHANNEL}:status".encode(): b"1",
        f"{CHANNEL}:change".encode(): b"2",
    }
    assert await dead_letters(plaza) == []
