"""The store's outbox contract, on every backend: queue, claim, finish, release, count."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from begasist_core import (
    ChannelCommand,
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageStatusChanged,
    decode_event,
    make_event,
    utc_now,
)
from begasist_core.events.envelope import ChannelCommandEvent, MessageSendEvent
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.outbox import OutboxEntry
from begasist_suite.store.records import ConversationRecord, Hotel
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio

PLAZA = "plaza"
SOL = "sol"
HOLD = timedelta(seconds=30)


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


async def conversation_of(store: Store, hotel: str = PLAZA) -> ConversationRecord:
    if await store.get_hotel(hotel) is None:
        await store.create_hotel(Hotel(slug=hotel, name=hotel.title()))
    recorded = await store.record_inbound(
        Message(
            hotel=hotel,
            channel="whatsapp",
            conversation_key="+34600000001",
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="whatsapp", address="+34600000001"),
            text="Hola",
            provider_message_id=f"{hotel}-in-1",
        )
    )
    return recorded.conversation


async def reply(store: Store, conversation: ConversationRecord, text: str = "Hi") -> Message:
    message = Message(
        hotel=conversation.hotel,
        channel=conversation.channel,
        conversation_key=conversation.key,
        direction=Direction.OUTBOUND,
        guest=conversation.guest,
        text=text,
    )
    assert await store.add_outbound(conversation, message)
    return message


def command(hotel: str = PLAZA) -> ChannelCommandEvent:
    event = make_event(hotel, ChannelCommand(channel="whatsapp", command="restart"))
    assert isinstance(event, ChannelCommandEvent)
    return event


async def test_an_outbound_message_is_stored_with_its_send_event_in_one_write(
    store: Store,
) -> None:
    conversation = await conversation_of(store)
    message = await reply(store, conversation)
    assert (await store.outbox_backlog()).pending == 1
    (entry,) = await store.claim_outbox(hold=HOLD, limit=10)
    assert (entry.kind, entry.hotel) == ("message", PLAZA)
    event = decode_event(entry.event or "")
    assert isinstance(event, MessageSendEvent)
    assert (event.key, event.data.message) == (f"send:{message.id}", message)
    # The message reads as before: the outbox fields are not part of it.
    assert await store.get_message(PLAZA, message.id) == message
    listed = await store.list_messages(PLAZA, conversation.id)
    assert [m.id for m in listed.items][-1] == message.id
    assert await store.outbox_done([entry]) == 1
    assert (await store.outbox_backlog()).pending == 0
    assert await store.get_message(PLAZA, message.id) == message
    # Stored before: nothing new is queued.
    assert not await store.add_outbound(conversation, message)
    assert await store.claim_outbox(hold=HOLD, limit=10) == []


async def test_a_claim_is_one_callers_until_it_expires(store: Store) -> None:
    await reply(store, await conversation_of(store))
    now = utc_now()
    (first,) = await store.claim_outbox(now=now, hold=HOLD, limit=10)
    assert await store.claim_outbox(now=now, hold=HOLD, limit=10) == []
    assert await store.claim_outbox(now=now + HOLD / 2, hold=HOLD, limit=10) == []
    # The first claimant died: once its claim expires, another takes the entry over.
    (second,) = await store.claim_outbox(now=now + HOLD * 2, hold=HOLD, limit=10)
    assert (second.document_id, second.event) == (first.document_id, first.event)
    assert await store.outbox_done([first]) == 0  # a late claimant changes nothing
    assert (await store.outbox_backlog()).pending == 1
    assert await store.outbox_done([second]) == 1
    assert (await store.outbox_backlog()).pending == 0


async def test_concurrent_claims_share_the_entries_out(store: Store) -> None:
    conversation = await conversation_of(store)
    for n in range(30):
        await reply(store, conversation, f"reply {n}")
    claims: list[list[OutboxEntry]] = []

    async def claim() -> None:
        claims.append(await store.claim_outbox(hold=HOLD, limit=30))

    async with anyio.create_task_group() as claimants:
        for _ in range(3):
            claimants.start_soon(claim)
    taken = [entry.document_id for batch in claims for entry in batch]
    assert len(taken) == len(set(taken)) == 30


async def test_a_released_claim_is_due_again_at_once(store: Store) -> None:
    await reply(store, await conversation_of(store))
    now = utc_now()
    claimed = await store.claim_outbox(now=now, hold=HOLD, limit=10)
    await store.release_outbox(claimed)
    (again,) = await store.claim_outbox(now=now, hold=HOLD, limit=10)
    assert again.document_id == claimed[0].document_id


async def test_entries_are_claimed_in_the_order_they_were_queued(store: Store) -> None:
    conversation = await conversation_of(store)
    texts = [f"reply {n}" for n in range(5)]
    for text in texts:
        await reply(store, conversation, text)
    claimed = await store.claim_outbox(hold=HOLD, limit=3)
    claimed += await store.claim_outbox(hold=HOLD, limit=3)
    sent = [decode_event(entry.event or "") for entry in claimed]
    assert [e.data.message.text for e in sent if isinstance(e, MessageSendEvent)] == texts


async def test_a_command_is_queued_once_per_event_id_and_deleted_when_done(store: Store) -> None:
    conversation = await conversation_of(store)
    event = command()
    assert await store.queue_command(event)
    assert not await store.queue_command(event)
    (entry,) = await store.claim_outbox(hold=HOLD, limit=10)
    assert entry.kind == "command"
    assert decode_event(entry.event or "") == event
    # It lives beside the messages, and no read of messages ever sees it.
    assert (await store.list_messages(PLAZA, conversation.id)).items[0].text == "Hola"
    receipt = MessageStatusChanged(
        channel="whatsapp", provider_message_id="x", status=DeliveryStatus.SENT
    )
    assert await store.apply_status(PLAZA, receipt) is None
    assert await store.outbox_done([entry]) == 1
    assert (await store.outbox_backlog()).pending == 0
    assert await store.queue_command(event)  # deleted: the id is free again


async def test_config_changes_coalesce_and_one_during_a_publish_is_not_lost(
    store: Store,
) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    await store.queue_config_changed(PLAZA)
    await store.queue_config_changed(PLAZA)
    (entry,) = await store.claim_outbox(hold=HOLD, limit=10)
    assert (entry.kind, entry.event) == ("config", None)
    # Another change while the relay publishes: its mark does not swallow it.
    await store.queue_config_changed(PLAZA)
    assert await store.outbox_done([entry]) == 0
    (again,) = await store.claim_outbox(hold=HOLD, limit=10)
    assert await store.outbox_done([again]) == 1
    assert (await store.outbox_backlog()).pending == 0


async def test_an_intended_config_change_is_due_only_after_its_grace(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    now = utc_now()
    await store.intend_config_change(PLAZA, within=timedelta(seconds=10))
    assert await store.claim_outbox(now=now, hold=HOLD, limit=10) == []
    (entry,) = await store.claim_outbox(now=now + timedelta(seconds=11), hold=HOLD, limit=10)
    assert entry.kind == "config"
    await store.outbox_done([entry])
    # The change completed: queued now, however an intent is written after it.
    await store.intend_config_change(PLAZA, within=timedelta(seconds=10))
    await store.queue_config_changed(PLAZA)
    await store.intend_config_change(PLAZA, within=timedelta(seconds=10))
    assert len(await store.claim_outbox(hold=HOLD, limit=10)) == 1


async def test_the_backlog_counts_per_hotel_with_the_oldest_age(store: Store) -> None:
    empty = await store.outbox_backlog()
    assert (empty.pending, empty.oldest_age_seconds) == (0, None)
    await reply(store, await conversation_of(store, PLAZA))
    await reply(store, await conversation_of(store, SOL))
    assert await store.queue_command(command(SOL))
    later = utc_now() + timedelta(minutes=5)
    plaza = await store.outbox_backlog(PLAZA, now=later)
    assert (plaza.pending, plaza.pending_capped) == (1, False)
    assert plaza.oldest_age_seconds is not None
    assert 300 <= plaza.oldest_age_seconds < 400
    assert (await store.outbox_backlog(SOL)).pending == 2
    assert (await store.outbox_backlog()).pending == 3


async def test_deleting_a_hotel_deletes_its_entries(store: Store) -> None:
    await reply(store, await conversation_of(store, PLAZA))
    await store.queue_config_changed(PLAZA)
    assert await store.queue_command(command(PLAZA))
    await reply(store, await conversation_of(store, SOL))
    await store.delete_hotel(PLAZA)
    (left,) = await store.claim_outbox(hold=HOLD, limit=10)
    assert left.hotel == SOL
