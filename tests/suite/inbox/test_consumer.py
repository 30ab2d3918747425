"""The event consumer through the real stream: inbound once, status forward-only, dead letters."""

from __future__ import annotations

import pytest
from begasist_core import (
    ChannelState,
    ChannelStateChanged,
    DeliveryStatus,
    Direction,
    Message,
    MessageReceived,
    MessageStatusChanged,
    make_event,
)
from begasist_suite.store.store import InboundRecorded

from tests.suite.conftest import RunningSuite
from tests.suite.inbox.conftest import (
    CHANNEL,
    GUEST_ADDRESS,
    HOTEL,
    MANAGER,
    consumed,
    dead_letters,
    eventually,
    guest_message,
    publish,
    publish_event,
    publish_raw,
    publish_received,
    set_channel_mode,
)

pytestmark = pytest.mark.anyio


async def stored_messages(suite: RunningSuite) -> list[Message]:
    conversations = await suite.store.list_conversations(HOTEL)
    messages: list[Message] = []
    for conversation in conversations.items:
        messages += (await suite.store.list_messages(HOTEL, conversation.id)).items
    return messages


async def test_an_event_published_three_times_is_stored_once(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "manual")
    message = guest_message("Hello", provider_message_id="wamid-1")
    event = make_event(HOTEL, MessageReceived(message=message))
    for _ in range(3):
        await publish_event(plaza, event)
    await consumed(plaza)

    assert [m.id for m in await stored_messages(plaza)] == [message.id]
    conversations = (await plaza.store.list_conversations(HOTEL)).items
    assert [(c.channel, c.key) for c in conversations] == [(CHANNEL, GUEST_ADDRESS)]
    guests = (await plaza.store.list_guests(HOTEL)).items
    assert [[i.address for i in g.identities] for g in guests] == [[GUEST_ADDRESS]]
    assert conversations[0].guest_id == guests[0].id
    assert await dead_letters(plaza) == []


async def test_a_new_message_id_with_a_known_provider_id_is_a_replay(plaza: RunningSuite) -> None:
    await set_channel_mode(plaza, "manual")
    first = guest_message("Hello", provider_message_id="wamid-1")
    second = guest_message("Hello again", provider_message_id="wamid-1")
    assert first.id != second.id
    await publish_received(plaza, first)
    await publish_received(plaza, second)
    await consumed(plaza)

    assert [(m.id, m.text) for m in await stored_messages(plaza)] == [(first.id, "Hello")]


def reply_to(recorded: InboundRecorded) -> Message:
    """Staff's reply in the conversation of *recorded*, not stored."""
    return Message(
        hotel=HOTEL,
        channel=CHANNEL,
        conversation_key=GUEST_ADDRESS,
        direction=Direction.OUTBOUND,
        guest=recorded.message.guest,
        text="Welcome",
    )


async def outbound_in_store(suite: RunningSuite) -> Message:
    """A reply queued in a guest's conversation, as staff would send it."""
    recorded = await suite.store.record_inbound(guest_message("Hi", provider_message_id="in-1"))
    reply = reply_to(recorded)
    assert await suite.store.add_outbound(recorded.conversation, reply)
    return reply


def status(
    reply: Message, value: DeliveryStatus, *, failed: bool = False, error: str | None = None
) -> MessageStatusChanged:
    return MessageStatusChanged(
        channel=CHANNEL,
        provider_message_id="out-1",
        message_id=reply.id,
        status=value,
        failed=failed,
        error=error,
    )


async def test_status_only_moves_forward_and_a_failure_sticks(plaza: RunningSuite) -> None:
    reply = await outbound_in_store(plaza)
    await publish(plaza, status(reply, DeliveryStatus.READ))
    await publish(plaza, status(reply, DeliveryStatus.DELIVERED))
    await consumed(plaza)
    read = await plaza.store.get_message(HOTEL, reply.id)
    assert read is not None
    assert (read.status, read.failed, read.provider_message_id) == (
        DeliveryStatus.READ,
        False,
        "out-1",
    )

    await publish(plaza, status(reply, DeliveryStatus.SENT, failed=True, error="blocked"))
    await publish(plaza, status(reply, DeliveryStatus.DELIVERED))
    await consumed(plaza)
    failed = await plaza.store.get_message(HOTEL, reply.id)
    assert failed is not None
    assert (failed.status, failed.failed, failed.failure_reason) == (
        DeliveryStatus.READ,
        True,
        "blocked",
    )


async def test_status_of_an_unknown_message_is_acked_and_ignored(plaza: RunningSuite) -> None:
    await publish(
        plaza,
        MessageStatusChanged(
            channel=CHANNEL, provider_message_id="nobody-knows", status=DeliveryStatus.READ
        ),
    )
    await consumed(plaza)  # acked: nothing pending

    assert await dead_letters(plaza) == []
    assert await stored_messages(plaza) == []


async def test_a_receipt_for_our_message_id_not_yet_stored_is_retried_not_dropped(
    plaza: RunningSuite,
) -> None:
    recorded = await plaza.store.record_inbound(guest_message("Hi", provider_message_id="in-1"))
    reply = reply_to(recorded)
    await publish(plaza, status(reply, DeliveryStatus.DELIVERED))  # before the reply is stored

    async def pending() -> int | None:
        count = int((await plaza.redis.xpending(plaza.names.events, "suite"))["pending"])
        return count or None

    assert await eventually(pending) == 1  # handled, failed, left to be retried
    assert await plaza.store.add_outbound(recorded.conversation, reply)

    async def delivered() -> Message | None:
        stored = await plaza.store.get_message(HOTEL, reply.id)
        return stored if stored and stored.status is DeliveryStatus.DELIVERED else None

    assert (await eventually(delivered)).provider_message_id == "out-1"
    assert await dead_letters(plaza) == []


async def test_channel_state_is_recorded_and_shown_in_the_status(plaza: RunningSuite) -> None:
    await publish(
        plaza,
        ChannelStateChanged(
            channel=CHANNEL, state=ChannelState.BACKOFF, detail="provider down", restarts=2
        ),
    )

    async with plaza.client() as client:
        await plaza.login(client, MANAGER)

        async def demo_status() -> dict[str, object] | None:
            answer = (await client.get(f"/api/v1/hotels/{HOTEL}/status")).json()
            found = [c for c in answer["channels"] if c["channel"] == CHANNEL]
            return found[0] if found and found[0]["state"] is not None else None

        shown = await eventually(demo_status)
    assert (shown["state"], shown["detail"], shown["restarts"]) == ("backoff", "provider down", 2)


async def test_an_unknown_hotel_is_dead_lettered_at_once_and_the_loop_goes_on(
    plaza: RunningSuite,
) -> None:
    await set_channel_mode(plaza, "manual")
    stray = await publish_received(
        plaza, guest_message("Hello", provider_message_id="x-1", hotel="nowhere")
    )
    good = guest_message("Hello", provider_message_id="wamid-2")
    await publish_received(plaza, good)
    await consumed(plaza)

    [(_, dead)] = await dead_letters(plaza, "nowhere")
    assert dead[b"reason"] == b"rejected"
    assert dead[b"deliveries"] == b"1"
    assert stray.id.encode() in dead[b"payload"]
    assert [m.id for m in await stored_messages(plaza)] == [good.id]


async def test_a_poisoned_entry_is_dead_lettered_and_the_loop_goes_on(
    plaza: RunningSuite,
) -> None:
    await set_channel_mode(plaza, "manual")
    await publish_raw(plaza, b"\xff\xfe not json {")
    good = guest_message("Hello", provider_message_id="wamid-3")
    await publish_received(plaza, good)
    await consumed(plaza)

    [(_, dead)] = await dead_letters(plaza)
    assert dead[b"payload"] == b"\xff\xfe not json {"
    assert dead[b"deliveries"] == b"1"
    assert [m.id for m in await stored_messages(plaza)] == [good.id]
