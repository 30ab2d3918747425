"""The store's contract for conversations, messages, receipts and drafts, on every backend."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import anyio
import pytest
from begasist_core import (
    ChannelState,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    GuestIdentity,
    Message,
    MessageStatusChanged,
    ReplyMode,
)
from begasist_suite.store.documents import COLLECTIONS, DocumentDatabase
from begasist_suite.store.records import (
    ChannelConfig,
    ChannelStatus,
    ConversationRecord,
    Credential,
    CredentialKind,
    Draft,
    DraftStatus,
    Hotel,
    Membership,
    Page,
    Role,
)
from begasist_suite.store.store import (
    MAX_PAGE,
    Conflict,
    InboundRecorded,
    NotFound,
    Store,
    draft_id,
    reply_message_id,
)

pytestmark = pytest.mark.anyio

PLAZA = "plaza"
SOL = "sol"
ANA = "+34600000001"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _inbound(
    provider_id: str,
    *,
    hotel: str = PLAZA,
    channel: str = "whatsapp",
    key: str = ANA,
    text: str = "Hola",
    minute: float = 0,
) -> Message:
    return Message(
        hotel=hotel,
        channel=channel,
        conversation_key=key,
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel=channel, address=key),
        text=text,
        provider_message_id=provider_id,
        created_at=_at(minute),
        updated_at=_at(minute),
    )


def _outbound(
    conversation: ConversationRecord, *, text: str = "Con gusto", minute: float = 1
) -> Message:
    return Message(
        hotel=conversation.hotel,
        channel=conversation.channel,
        conversation_key=conversation.key,
        direction=Direction.OUTBOUND,
        guest=conversation.guest,
        text=text,
        created_at=_at(minute),
        updated_at=_at(minute),
    )


def _receipt(
    status: DeliveryStatus,
    *,
    minute: float,
    message_id: str | None = None,
    provider_id: str = "wamid.out",
    failed: bool = False,
    error: str | None = None,
) -> MessageStatusChanged:
    return MessageStatusChanged(
        channel="whatsapp",
        provider_message_id=provider_id,
        message_id=message_id,
        status=status,
        failed=failed,
        error=error,
        at=_at(minute),
    )


@pytest.fixture
async def recorded(store: Store) -> InboundRecorded:
    return await store.record_inbound(_inbound("wamid.in"))


@pytest.fixture
def conversation(recorded: InboundRecorded) -> ConversationRecord:
    return recorded.conversation


@pytest.fixture
async def sent(store: Store, conversation: ConversationRecord) -> Message:
    """An outbound message the channel has sent as ``wamid.out``."""
    message = _outbound(conversation)
    await store.add_outbound(conversation, message)
    moved = await store.apply_status(
        PLAZA, _receipt(DeliveryStatus.SENT, minute=2, message_id=message.id)
    )
    assert moved is not None
    return moved


# -- inbound ------------------------------------------------------------------


async def test_record_inbound_creates_the_conversation_and_the_message(store: Store) -> None:
    message = _inbound("wamid.1", text="¿Tienen parking?")
    recorded = await store.record_inbound(message)
    assert recorded.created is True
    assert recorded.responded is False
    message = message.model_copy(update={"status": DeliveryStatus.RECEIVED})
    assert recorded.message == message
    conversation = recorded.conversation
    assert (conversation.hotel, conversation.channel, conversation.key) == (PLAZA, "whatsapp", ANA)
    assert conversation.status is ConversationStatus.OPEN
    assert conversation.last_message_at == message.created_at
    assert conversation.last_message_preview == "¿Tienen parking?"
    guest = await store.guest_for_identity(PLAZA, message.guest)
    assert conversation.guest_id == guest.id
    assert await store.get_conversation(PLAZA, conversation.id) == conversation
    assert await store.get_message(PLAZA, message.id) == message


async def test_a_replayed_inbound_message_changes_nothing(store: Store) -> None:
    first = await store.record_inbound(_inbound("wamid.1", text="Hola"))
    replay = await store.record_inbound(_inbound("wamid.1", text="Hola otra vez", minute=5))
    assert replay.created is False
    assert replay.message == first.message
    assert replay.conversation == first.conversation
    assert await store.get_conversation(PLAZA, first.conversation.id) == first.conversation
    page = await store.list_messages(PLAZA, first.conversation.id)
    assert page.items == [first.message]


async def test_the_next_message_of_a_thread_moves_the_conversation_on(store: Store) -> None:
    first = await store.record_inbound(_inbound("wamid.1", text="Hola"))
    second = await store.record_inbound(_inbound("wamid.2", text="¿Hay desayuno?", minute=5))
    assert second.created is True
    assert second.conversation.id == first.conversation.id
    assert second.conversation.last_message_at == _at(5)
    assert second.conversation.last_message_preview == "¿Hay desayuno?"
    page = await store.list_messages(PLAZA, first.conversation.id)
    assert [m.id for m in page.items] == [first.message.id, second.message.id]


async def test_a_new_message_reopens_a_resolved_conversation(
    store: Store, conversation: ConversationRecord
) -> None:
    await store.update_conversation(PLAZA, conversation.id, status=ConversationStatus.RESOLVED)
    recorded = await store.record_inbound(_inbound("wamid.2", minute=10))
    assert recorded.conversation.id == conversation.id
    assert recorded.conversation.status is ConversationStatus.OPEN


async def test_the_same_provider_id_in_two_hotels_is_two_messages(store: Store) -> None:
    plaza = await store.record_inbound(_inbound("wamid.1", hotel=PLAZA, text="Plaza"))
    sol = await store.record_inbound(_inbound("wamid.1", hotel=SOL, text="Sol"))
    assert plaza.created is sol.created is True
    assert plaza.conversation.id != sol.conversation.id
    assert await store.get_message(PLAZA, plaza.message.id) == plaza.message
    assert await store.get_message(SOL, sol.message.id) == sol.message
    assert await store.get_message(SOL, plaza.message.id) is None


async def test_a_replay_reports_whether_the_responder_ran(store: Store) -> None:
    recorded = await store.record_inbound(_inbound("wamid.1"))
    assert (await store.record_inbound(_inbound("wamid.1"))).responded is False
    await store.mark_responded(PLAZA, recorded.message.id)
    assert (await store.record_inbound(_inbound("wamid.1"))).responded is True


# -- outbound and receipts ----------------------------------------------------


async def test_add_outbound_stores_a_queued_message_once(
    store: Store, conversation: ConversationRecord
) -> None:
    message = _outbound(conversation, text="Sí, en el sótano", minute=3)
    assert await store.add_outbound(conversation, message) is True
    stored = await store.get_message(PLAZA, message.id)
    assert stored == message
    assert stored.status is DeliveryStatus.QUEUED
    assert await store.add_outbound(conversation, message.model_copy(update={"text": "x"})) is False
    assert await store.get_message(PLAZA, message.id) == message
    after = await store.get_conversation(PLAZA, conversation.id)
    assert after is not None
    assert (after.last_message_at, after.last_message_preview) == (_at(3), "Sí, en el sótano")


async def test_a_receipt_by_message_id_records_the_provider_id(
    store: Store, conversation: ConversationRecord
) -> None:
    message = _outbound(conversation)
    await store.add_outbound(conversation, message)
    moved = await store.apply_status(
        PLAZA, _receipt(DeliveryStatus.SENT, minute=2, message_id=message.id)
    )
    assert moved is not None
    assert (moved.id, moved.status, moved.provider_message_id) == (
        message.id,
        DeliveryStatus.SENT,
        "wamid.out",
    )
    delivered = await store.apply_status(PLAZA, _receipt(DeliveryStatus.DELIVERED, minute=3))
    assert delivered is not None
    assert (delivered.id, delivered.status, delivered.updated_at) == (
        message.id,
        DeliveryStatus.DELIVERED,
        _at(3),
    )
    assert await store.get_message(PLAZA, message.id) == delivered


async def test_status_only_moves_forward(store: Store, sent: Message) -> None:
    read = await store.apply_status(PLAZA, _receipt(DeliveryStatus.READ, minute=4))
    assert read is not None
    assert read.status is DeliveryStatus.READ
    late = await store.apply_status(PLAZA, _receipt(DeliveryStatus.DELIVERED, minute=9))
    assert late == read
    assert await store.get_message(PLAZA, sent.id) == read
    assert read.updated_at == _at(4)


async def test_a_failure_sticks_with_its_reason(store: Store, sent: Message) -> None:
    failed = await store.apply_status(
        PLAZA, _receipt(DeliveryStatus.SENT, minute=3, failed=True, error="131047: re-engage")
    )
    assert failed is not None
    assert (failed.failed, failed.failure_reason) == (True, "131047: re-engage")
    later = await store.apply_status(PLAZA, _receipt(DeliveryStatus.DELIVERED, minute=4))
    assert later is not None
    assert (later.status, later.failed, later.failure_reason) == (
        DeliveryStatus.DELIVERED,
        True,
        "131047: re-engage",
    )


async def test_a_receipt_for_an_unknown_provider_id_matches_nothing(
    store: Store, sent: Message
) -> None:
    receipt = _receipt(DeliveryStatus.READ, minute=4, provider_id="wamid.unknown")
    assert await store.apply_status(PLAZA, receipt) is None
    assert await store.get_message(PLAZA, sent.id) == sent


async def test_a_receipt_never_touches_another_hotels_message(store: Store, sent: Message) -> None:
    assert await store.apply_status(SOL, _receipt(DeliveryStatus.READ, minute=4)) is None
    by_id = _receipt(DeliveryStatus.READ, minute=4, message_id=sent.id)
    assert await store.apply_status(SOL, by_id) is None
    assert await store.get_message(PLAZA, sent.id) == sent


async def test_concurrent_receipts_end_in_the_furthest_status(store: Store, sent: Message) -> None:
    statuses = [DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ] * 3
    statuses.append(DeliveryStatus.DELIVERED)

    async with anyio.create_task_group() as tasks:
        for minute, status in enumerate(statuses, start=3):
            tasks.start_soon(store.apply_status, PLAZA, _receipt(status, minute=minute))
    final = await store.get_message(PLAZA, sent.id)
    assert final is not None
    assert final.status is DeliveryStatus.READ


# -- conversations ------------------------------------------------------------


def _ids(page: Page[ConversationRecord]) -> list[str]:
    return [conversation.id for conversation in page.items]


async def test_conversations_are_listed_newest_activity_first_with_filters(
    store: Store,
) -> None:
    ana = (await store.record_inbound(_inbound("w1", key="+341", minute=1))).conversation
    bea = await store.record_inbound(_inbound("e1", channel="email", key="<root@bea>", minute=2))
    carla = (await store.record_inbound(_inbound("w2", key="+343", minute=3))).conversation
    await store.record_inbound(_inbound("w3", hotel=SOL, key="+341", minute=4))
    await store.update_conversation(PLAZA, carla.id, status=ConversationStatus.RESOLVED)
    await store.update_conversation(PLAZA, ana.id, assignee="u1")

    listed = store.list_conversations
    bea_id = bea.conversation.id
    assert _ids(await listed(PLAZA)) == [carla.id, bea_id, ana.id]
    assert _ids(await listed(PLAZA, channel="whatsapp")) == [carla.id, ana.id]
    assert _ids(await listed(PLAZA, status=ConversationStatus.OPEN)) == [bea_id, ana.id]
    assert _ids(await listed(PLAZA, status=ConversationStatus.RESOLVED)) == [carla.id]
    assert _ids(await listed(PLAZA, assignee="u1")) == [ana.id]
    assert _ids(await listed(PLAZA, unassigned=True)) == [carla.id, bea_id]
    await store.update_conversation(PLAZA, ana.id, assignee=None)
    assert _ids(await listed(PLAZA, unassigned=True)) == [carla.id, bea_id, ana.id]
    await store.update_conversation(PLAZA, ana.id, assignee="u1")
    await store.record_inbound(_inbound("w4", key="+341", minute=5))
    assert _ids(await listed(PLAZA)) == [ana.id, carla.id, bea_id]


async def test_conversations_page_with_a_cursor(store: Store) -> None:
    newest_first = [
        (await store.record_inbound(_inbound(f"w{n}", key=f"+34{n}", minute=n))).conversation.id
        for n in range(5)
    ][::-1]
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await store.list_conversations(PLAZA, limit=2, cursor=cursor)
        pages.append(_ids(page))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]


async def test_update_conversation_sets_assignee_status_and_mode(
    store: Store, conversation: ConversationRecord
) -> None:
    updated = await store.update_conversation(
        PLAZA,
        conversation.id,
        assignee="u1",
        status=ConversationStatus.RESOLVED,
        mode_override=ReplyMode.MANUAL,
    )
    assert (updated.assignee, updated.status, updated.mode_override) == (
        "u1",
        ConversationStatus.RESOLVED,
        ReplyMode.MANUAL,
    )
    assert updated.last_message_at == conversation.last_message_at
    assert await store.get_conversation(PLAZA, conversation.id) == updated
    # A plain string, as an API body gives it, is validated into the enum.
    plain = await store.update_conversation(PLAZA, conversation.id, status="open", assignee=None)
    assert (plain.status, plain.assignee) == (ConversationStatus.OPEN, None)
    with pytest.raises(ValueError, match="can change"):
        await store.update_conversation(PLAZA, conversation.id, guest_id="someone")
    with pytest.raises(NotFound):
        await store.update_conversation(PLAZA, "missing", assignee="u1")


async def test_a_long_threads_newest_messages_come_first_then_older_pages(store: Store) -> None:
    ids = [(await store.record_inbound(_inbound(f"t{n}", minute=n))).message.id for n in range(5)]
    conversation = (await store.list_conversations(PLAZA)).items[0].id
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await store.list_messages(
            PLAZA, conversation, limit=2, cursor=cursor, newest_first=True
        )
        pages.append([m.id for m in page.items])
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]


# -- search --------------------------------------------------------------------


async def _guest_writes(
    store: Store, provider_id: str, address: str, name: str | None, *, channel: str = "whatsapp"
) -> str:
    message = _inbound(provider_id, channel=channel, key=address).model_copy(
        update={"guest": GuestIdentity(channel=channel, address=address, display_name=name)}
    )
    return (await store.record_inbound(message)).conversation.id


async def test_search_by_name_phone_or_address_with_filters_and_pages(store: Store) -> None:
    maria = await _guest_writes(store, "s1", "+34 600 123 456", "María López")
    mario = await _guest_writes(store, "s2", "+44 7700 900123", "Mario Lopez-Ruiz")
    ben = await _guest_writes(store, "s3", "Ben.Smith@Example.com", None, channel="email")
    await _guest_writes(store, "s4", "+34 611 000 000", "Ana")
    await _guest_writes(store, "s5", "+34 600 123 999", "María", channel="sms")

    async def found(query: str, **filters: Any) -> set[str]:
        page = await store.list_conversations(PLAZA, search=query, **filters)
        return {c.id for c in page.items}

    assert await found("maría lópez") == {maria}
    assert await found("MAR LOP") == {maria, mario}  # word prefixes, any case or accent
    assert await found("ruiz") == {mario}
    assert await found("lopez ana") == set()  # every word must match
    assert await found("600 123 456") == {maria}
    assert await found("123456") == {maria}  # digits in a row, however written
    assert await found("900123") == {mario}
    assert await found("ben.smith@example.com") == {ben}
    assert await found("BEN.SMITH@") == {ben}  # the local part
    assert await found("ben") == {ben}  # a word of the local part
    assert await found("ben@other.test") == set()
    assert await found("?!") == set()
    assert len(await found("  ")) == 5  # a blank search is no search
    assert await found("maria", channel="whatsapp") == {maria}
    await store.update_conversation(PLAZA, mario, status=ConversationStatus.RESOLVED)
    assert await found("mar", status=ConversationStatus.OPEN, channel="whatsapp") == {maria}
    assert (await store.list_conversations(SOL, search="maria")).items == []
    first = await store.list_conversations(PLAZA, search="mar", limit=1)
    assert first.next_cursor is not None
    rest = await store.list_conversations(PLAZA, search="mar", limit=5, cursor=first.next_cursor)
    assert len(first.items) + len(rest.items) == 3
    assert rest.next_cursor is None


async def test_a_guests_new_name_is_found_from_their_next_message(store: Store) -> None:
    conversation = await _guest_writes(store, "n1", "+34600000009", None)
    assert (await store.list_conversations(PLAZA, search="carla")).items == []
    await _guest_writes(store, "n2", "+34600000009", "Carla Gómez")
    assert [c.id for c in (await store.list_conversations(PLAZA, search="gomez")).items] == [
        conversation
    ]


# -- read by staff -----------------------------------------------------------


async def test_guest_messages_are_received_until_staff_read_them(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    first = await store.record_inbound(_inbound("r1", minute=1))
    assert first.message.status is DeliveryStatus.RECEIVED
    second = await store.record_inbound(_inbound("r2", minute=2))
    other = await store.record_inbound(_inbound("r3", key="+342", minute=3))
    await store.record_inbound(_inbound("r1", minute=1))  # a replay counts nothing
    conversation = first.conversation.id
    assert second.conversation.unread == 2
    assert (await store.get_conversation(PLAZA, other.conversation.id)).unread == 1  # type: ignore[union-attr]
    assert await store.hotel_unread(PLAZA) == 3

    assert await store.mark_read(PLAZA, conversation) == 2
    assert await store.mark_read(PLAZA, conversation) == 0
    assert (await store.get_conversation(PLAZA, conversation)).unread == 0  # type: ignore[union-attr]
    assert await store.hotel_unread(PLAZA) == 1
    statuses = [m.status for m in (await store.list_messages(PLAZA, conversation)).items]
    assert statuses == [DeliveryStatus.READ, DeliveryStatus.READ]

    await store.record_inbound(_inbound("r4", minute=4))  # a guest writes again
    assert (await store.get_conversation(PLAZA, conversation)).unread == 1  # type: ignore[union-attr]
    assert await store.hotel_unread(PLAZA) == 2
    assert await store.mark_read(SOL, conversation) == 0  # another hotel reads nothing
    assert await store.hotel_unread(PLAZA) == 2


async def test_staff_reading_at_once_count_each_message_once(store: Store) -> None:
    await store.create_hotel(Hotel(slug=PLAZA, name="Plaza"))
    for n in range(5):
        recorded = await store.record_inbound(_inbound(f"c{n}", minute=n))
    moved: list[int] = []

    async def read() -> None:
        moved.append(await store.mark_read(PLAZA, recorded.conversation.id))

    async with anyio.create_task_group() as readers:
        for _ in range(3):
            readers.start_soon(read)
    assert sum(moved) == 5
    assert (await store.get_conversation(PLAZA, recorded.conversation.id)).unread == 0  # type: ignore[union-attr]
    assert await store.hotel_unread(PLAZA) == 0


# -- drafts -------------------------------------------------------------------


def _draft(recorded_message: Message, conversation: ConversationRecord, text: str) -> Draft:
    return Draft(
        id=draft_id(recorded_message.id),
        hotel=conversation.hotel,
        conversation_id=conversation.id,
        message_id=recorded_message.id,
        text=text,
        responder="faq",
        confidence=0.8,
        created_at=recorded_message.created_at,
    )


async def test_add_draft_is_idempotent_by_id(store: Store, recorded: InboundRecorded) -> None:
    draft = _draft(recorded.message, recorded.conversation, "El parking cuesta 20 EUR.")
    assert await store.add_draft(draft) == draft
    assert await store.add_draft(draft.model_copy(update={"text": "Otro texto"})) == draft
    assert (await store.list_drafts(PLAZA)).items == [draft]


async def test_a_draft_is_decided_once(store: Store, recorded: InboundRecorded) -> None:
    draft = await store.add_draft(_draft(recorded.message, recorded.conversation, "Sí."))
    reply_id = reply_message_id(recorded.message.id)
    sent = await store.decide_draft(
        PLAZA,
        draft.id,
        DraftStatus.SENT,
        decided_by="u1",
        text="Sí, claro.",
        sent_message_id=reply_id,
    )
    assert (sent.status, sent.decided_by, sent.text, sent.sent_message_id) == (
        DraftStatus.SENT,
        "u1",
        "Sí, claro.",
        reply_id,
    )
    assert sent.decided_at is not None
    assert await store.get_draft(PLAZA, draft.id) == sent
    with pytest.raises(Conflict):
        await store.decide_draft(PLAZA, draft.id, DraftStatus.REJECTED, decided_by="u2")
    assert await store.get_draft(PLAZA, draft.id) == sent
    with pytest.raises(NotFound):
        await store.decide_draft(PLAZA, "missing", DraftStatus.REJECTED, decided_by="u1")
    with pytest.raises(ValueError):
        await store.decide_draft(PLAZA, draft.id, DraftStatus.PENDING, decided_by="u1")


async def test_drafts_are_listed_by_conversation_and_status(store: Store) -> None:
    first = await store.record_inbound(_inbound("w1", key="+341", minute=1))
    second = await store.record_inbound(_inbound("w2", key="+341", minute=2))
    other = await store.record_inbound(_inbound("w3", key="+342", minute=3))
    a = await store.add_draft(_draft(first.message, first.conversation, "A"))
    b = await store.add_draft(_draft(second.message, second.conversation, "B"))
    c = await store.add_draft(_draft(other.message, other.conversation, "C"))
    rejected = await store.decide_draft(PLAZA, a.id, DraftStatus.REJECTED, decided_by="u1")

    async def listed(**filters: Any) -> list[Draft]:
        return (await store.list_drafts(PLAZA, **filters)).items

    assert await listed() == [c, b, rejected]
    assert await listed(conversation_id=first.conversation.id) == [b, rejected]
    assert await listed(status=DraftStatus.PENDING) == [c, b]
    assert await listed(conversation_id=first.conversation.id, status=DraftStatus.PENDING) == [b]
    assert await listed(conversation_ids=[other.conversation.id], status=DraftStatus.PENDING) == [c]
    assert await listed(conversation_ids=[]) == []
    assert (await store.list_drafts(SOL)).items == []


async def test_drafts_page_with_a_cursor_past_the_largest_page(store: Store) -> None:
    # More drafts than the largest page: the newest come first and none goes missing.
    count = MAX_PAGE + 3
    for n in range(count):
        recorded = await store.record_inbound(_inbound(f"d{n}", key="+341", minute=n))
        await store.add_draft(_draft(recorded.message, recorded.conversation, f"D{n}"))
    texts: list[str] = []
    cursor: str | None = None
    while True:
        page = await store.list_drafts(
            PLAZA, status=DraftStatus.PENDING, limit=MAX_PAGE, cursor=cursor
        )
        texts.extend(d.text for d in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert texts == [f"D{n}" for n in reversed(range(count))]


# -- tenant isolation ---------------------------------------------------------


class _World(NamedTuple):
    conversation: ConversationRecord
    inbound: Message
    outbound: Message
    draft: Draft


@pytest.fixture
async def plaza(store: Store, recorded: InboundRecorded, sent: Message) -> _World:
    """One hotel's conversation with an inbound message, a sent reply and a draft."""
    draft = await store.add_draft(_draft(recorded.message, recorded.conversation, "Hola"))
    conversation = await store.get_conversation(PLAZA, recorded.conversation.id)
    assert conversation is not None
    return _World(conversation, recorded.message, sent, draft)


_FROM_SOL: dict[str, Callable[[Store, _World], Awaitable[object]]] = {
    "get_conversation": lambda s, w: s.get_conversation(SOL, w.conversation.id),
    "get_message": lambda s, w: s.get_message(SOL, w.inbound.id),
    "get_outbound_message": lambda s, w: s.get_message(SOL, w.outbound.id),
    "get_draft": lambda s, w: s.get_draft(SOL, w.draft.id),
    "get_guest": lambda s, w: s.get_guest(SOL, str(w.conversation.guest_id)),
    "apply_status_by_message_id": lambda s, w: s.apply_status(
        SOL, _receipt(DeliveryStatus.READ, minute=5, message_id=w.outbound.id)
    ),
    "apply_status_by_provider_id": lambda s, w: s.apply_status(
        SOL, _receipt(DeliveryStatus.READ, minute=5)
    ),
}
_FROM_SOL_NOT_FOUND: dict[str, Callable[[Store, _World], Awaitable[object]]] = {
    "update_conversation": lambda s, w: s.update_conversation(
        SOL, w.conversation.id, assignee="intruder"
    ),
    "decide_draft": lambda s, w: s.decide_draft(
        SOL, w.draft.id, DraftStatus.REJECTED, decided_by="intruder"
    ),
    "update_guest": lambda s, w: s.update_guest(
        SOL, str(w.conversation.guest_id), display_name="intruder"
    ),
}


async def _unchanged(store: Store, world: _World) -> None:
    assert await store.get_conversation(PLAZA, world.conversation.id) == world.conversation
    assert await store.get_message(PLAZA, world.inbound.id) == world.inbound
    assert await store.get_message(PLAZA, world.outbound.id) == world.outbound
    assert await store.get_draft(PLAZA, world.draft.id) == world.draft


@pytest.mark.parametrize("call", _FROM_SOL.values(), ids=_FROM_SOL.keys())
async def test_another_hotel_reads_none_by_id(
    store: Store, plaza: _World, call: Callable[[Store, _World], Awaitable[object]]
) -> None:
    assert await call(store, plaza) is None
    await _unchanged(store, plaza)


@pytest.mark.parametrize("call", _FROM_SOL_NOT_FOUND.values(), ids=_FROM_SOL_NOT_FOUND.keys())
async def test_another_hotel_cannot_change_by_id(
    store: Store, plaza: _World, call: Callable[[Store, _World], Awaitable[object]]
) -> None:
    with pytest.raises(NotFound):
        await call(store, plaza)
    await _unchanged(store, plaza)


async def test_another_hotel_lists_and_marks_nothing(store: Store, plaza: _World) -> None:
    assert (await store.list_messages(SOL, plaza.conversation.id)).items == []
    assert (await store.list_conversations(SOL)).items == []
    assert (await store.list_drafts(SOL, conversation_id=plaza.conversation.id)).items == []
    await store.mark_responded(SOL, plaza.inbound.id)
    assert (await store.record_inbound(plaza.inbound)).responded is False
    await _unchanged(store, plaza)


async def test_delete_hotel_removes_all_of_it_and_nothing_else(
    store: Store, database: DocumentDatabase
) -> None:
    for slug in (PLAZA, SOL):
        await store.create_hotel(Hotel(slug=slug, name=slug.title()))
        await store.set_membership(Membership(hotel=slug, user_id="u1", role=Role.OWNER))
        await store.add_credential(
            Credential(digest=_digest(slug), kind=CredentialKind.BOT_TOKEN, hotel=slug)
        )
        await store.put_channel_config(ChannelConfig(hotel=slug, channel="whatsapp"))
        await store.record_channel_state(
            ChannelStatus(hotel=slug, channel="whatsapp", state=ChannelState.RUNNING)
        )
        recorded = await store.record_inbound(_inbound("wamid.1", hotel=slug))
        await store.add_outbound(recorded.conversation, _outbound(recorded.conversation))
        await store.add_draft(_draft(recorded.message, recorded.conversation, "Hola"))
    session = await store.add_credential(
        Credential(digest=_digest("session"), kind=CredentialKind.SESSION, user_id="u1")
    )
    scoped = [name for name, fields in COLLECTIONS.items() if "hotel" in fields]
    before = {name: await database.collection(name).count({"hotel": SOL}) for name in scoped}
    assert all(before.values())

    await store.delete_hotel(PLAZA)

    assert await store.get_hotel(PLAZA) is None
    for name in scoped:
        assert await database.collection(name).count({"hotel": PLAZA}) == 0, name
    assert {
        name: await database.collection(name).count({"hotel": SOL}) for name in scoped
    } == before
    assert await store.get_hotel(SOL) is not None
    assert await store.get_credential(session.digest) == session
