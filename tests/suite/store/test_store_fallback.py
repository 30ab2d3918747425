"""The store's email fallback contract, on every backend: due replies claimed once, a read
reply never; unproven contacts on guests; the conversation the hotel opens for the emails."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
import pytest
from begasist_core import (
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageStatusChanged,
    utc_now,
)
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.fallback import FallbackEntry
from begasist_suite.store.records import ConversationRecord, Hotel
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio

PLAZA = "plaza"
HOLD = timedelta(seconds=60)
DELAY = timedelta(minutes=10)
VISITOR = GuestIdentity(channel="webchat", address="visitor-0123456789abcdef")
ANA_MAIL = GuestIdentity(channel="email", address="ana@example.com")


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


async def chat(store: Store) -> ConversationRecord:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    recorded = await store.record_inbound(
        Message(
            hotel=PLAZA,
            channel="webchat",
            conversation_key=VISITOR.address,
            direction=Direction.INBOUND,
            guest=VISITOR,
            text="Hola",
            provider_message_id=f"{VISITOR.address}/m1",
        )
    )
    return recorded.conversation


async def reply(
    store: Store, conversation: ConversationRecord, at: datetime | None, text: str = "Hi"
) -> Message:
    message = Message(
        hotel=PLAZA,
        channel=conversation.channel,
        conversation_key=conversation.key,
        direction=Direction.OUTBOUND,
        guest=conversation.guest,
        text=text,
    )
    assert await store.add_outbound(conversation, message, email_fallback_at=at)
    return message


def receipt(
    message: Message, status: DeliveryStatus, *, failed: bool = False
) -> MessageStatusChanged:
    return MessageStatusChanged(
        channel="webchat",
        message_id=message.id,
        provider_message_id=f"{VISITOR.address}/{message.id}",
        status=status,
        failed=failed,
    )


async def test_a_reply_is_claimed_once_it_is_due_and_once_only(store: Store) -> None:
    conversation = await chat(store)
    now = utc_now()
    message = await reply(store, conversation, now + DELAY)
    await reply(store, conversation, None, "no fallback for this one")

    assert await store.claim_fallbacks(now=now, hold=HOLD, limit=10) == []
    (entry,) = await store.claim_fallbacks(now=now + DELAY, hold=HOLD, limit=10)

    assert (entry.hotel, entry.message_id, entry.conversation_id) == (
        PLAZA,
        message.id,
        conversation.id,
    )
    assert await store.claim_fallbacks(now=now + DELAY, hold=HOLD, limit=10) == []
    # The message reads as it was stored: the fallback's field is not part of it.
    assert await store.get_message(PLAZA, message.id) == message
    assert await store.fallback_done(entry)
    assert await store.claim_fallbacks(now=now + DELAY + HOLD * 2, hold=HOLD, limit=10) == []


async def test_a_claim_whose_holder_died_is_taken_again_once_it_expires(store: Store) -> None:
    conversation = await chat(store)
    now = utc_now()
    await reply(store, conversation, now)

    (first,) = await store.claim_fallbacks(now=now, hold=HOLD, limit=10)
    assert await store.claim_fallbacks(now=now + HOLD / 2, hold=HOLD, limit=10) == []
    (second,) = await store.claim_fallbacks(now=now + HOLD * 2, hold=HOLD, limit=10)

    assert second.message_id == first.message_id
    assert not await store.fallback_done(first)  # a late holder changes nothing
    assert await store.fallback_done(second)


async def test_a_reply_read_before_it_is_due_is_never_claimed(store: Store) -> None:
    conversation = await chat(store)
    now = utc_now()
    read = await reply(store, conversation, now + DELAY, "read in time")
    await store.apply_status(PLAZA, receipt(read, DeliveryStatus.READ))
    # Delivered, or failed to reach the widget: still unseen.
    delivered = await reply(store, conversation, now + DELAY, "delivered only")
    await store.apply_status(PLAZA, receipt(delivered, DeliveryStatus.DELIVERED))
    failed = await reply(store, conversation, now + DELAY, "failed")
    await store.apply_status(PLAZA, receipt(failed, DeliveryStatus.SENT, failed=True))

    claimed = await store.claim_fallbacks(now=now + DELAY, hold=HOLD, limit=10)

    assert sorted(entry.message_id for entry in claimed) == sorted([delivered.id, failed.id])
    stored = await store.get_message(PLAZA, read.id)
    assert stored is not None
    assert stored.status is DeliveryStatus.READ


async def test_a_read_receipt_repeated_after_the_status_moved_still_clears_the_fallback(
    store: Store,
) -> None:
    conversation = await chat(store)
    now = utc_now()
    message = await reply(store, conversation, now + DELAY)
    await store.apply_status(PLAZA, receipt(message, DeliveryStatus.READ))
    await store.apply_status(PLAZA, receipt(message, DeliveryStatus.READ))

    assert await store.claim_fallbacks(now=now + DELAY, hold=HOLD, limit=10) == []


async def test_concurrent_claims_share_the_due_replies_out(store: Store) -> None:
    conversation = await chat(store)
    now = utc_now()
    for n in range(12):
        await reply(store, conversation, now, f"reply {n}")
    claims: list[list[FallbackEntry]] = []

    async def claim() -> None:
        claims.append(await store.claim_fallbacks(now=now, hold=HOLD, limit=12))

    async with anyio.create_task_group() as claimants:
        for _ in range(3):
            claimants.start_soon(claim)

    taken = [entry.message_id for batch in claims for entry in batch]
    assert len(taken) == len(set(taken)) == 12


async def test_due_replies_come_in_the_order_they_are_due(store: Store) -> None:
    conversation = await chat(store)
    now = utc_now()
    later = await reply(store, conversation, now + timedelta(seconds=2), "later")
    sooner = await reply(store, conversation, now + timedelta(seconds=1), "sooner")

    claimed = await store.claim_fallbacks(now=now + DELAY, hold=HOLD, limit=1)

    assert [entry.message_id for entry in claimed] == [sooner.id]
    (rest,) = await store.claim_fallbacks(now=now + DELAY, hold=HOLD, limit=10)
    assert rest.message_id == later.id


async def test_a_contact_is_shown_on_the_guest_and_links_no_one(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    # Ana, known by her booking email.
    ana = await store.guest_for_identity(PLAZA, ANA_MAIL)

    # A visitor types Ana's address into the pre-chat form: unproven.
    visitor = await store.add_guest_contact(PLAZA, VISITOR, ANA_MAIL)
    again = await store.add_guest_contact(
        PLAZA, VISITOR, GuestIdentity(channel="email", address="ANA@example.com")
    )

    assert visitor.id != ana.id
    assert again.id == visitor.id
    assert visitor.identities == (VISITOR,)
    assert [(c.channel, c.address) for c in again.contacts] == [("email", "ana@example.com")]
    # Ana keeps her address, and the address still finds Ana alone.
    assert (await store.guest_for_identity(PLAZA, ANA_MAIL)).id == ana.id
    kept = await store.get_guest(PLAZA, ana.id)
    assert kept is not None
    assert kept.identities == (ANA_MAIL,)
    assert kept.contacts == ()
    listed = {guest.id: guest for guest in (await store.list_guests(PLAZA)).items}
    assert listed[visitor.id].contacts == again.contacts
    assert listed[ana.id].contacts == ()


async def test_the_conversation_the_hotel_opens_is_made_once_and_links_no_identity(
    store: Store,
) -> None:
    conversation = await chat(store)
    ana = await store.guest_for_identity(PLAZA, ANA_MAIL)
    assert conversation.guest_id is not None

    opened = await store.open_conversation(
        PLAZA, "email", "ana@example.com|" + "0" * 32, ANA_MAIL, guest_id=conversation.guest_id
    )
    again = await store.open_conversation(
        PLAZA, "email", "ana@example.com|" + "0" * 32, ANA_MAIL, guest_id="someone-else"
    )

    assert again == opened
    assert (opened.channel, opened.guest_id, opened.guest) == (
        "email",
        conversation.guest_id,
        ANA_MAIL,
    )
    assert (await store.guest_for_identity(PLAZA, ANA_MAIL)).id == ana.id
    listed = await store.list_conversations(PLAZA, channel="email")
    assert [c.id for c in listed.items] == [opened.id]
