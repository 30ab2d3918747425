"""The inbox's reply-mode filter (``store/reply_modes.py``), on every backend.

The mode that applies is the conversation's override, else its guest's, else
its channel's (supervised when the channel names none): the filter must agree
with ``inbox/modes.py`` for every combination, page for page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from begasist_core import Direction, GuestIdentity, Message, ReplyMode
from begasist_suite.store.documents import DocumentDatabase
from begasist_suite.store.records import ChannelConfig, ConversationRecord
from begasist_suite.store.store import Store

pytestmark = pytest.mark.anyio

PLAZA = "plaza"
SOL = "sol"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CHANNEL_MODES = {"whatsapp": ReplyMode.AUTOMATIC, "email": ReplyMode.MANUAL}
"""sms has no settings, webchat names no mode: both supervised."""


@pytest.fixture
def store(database: DocumentDatabase) -> Store:
    return Store(database)


async def _guest_writes(
    store: Store, number: int, channel: str, *, hotel: str = PLAZA
) -> ConversationRecord:
    address = f"guest-{number}@{channel}"
    message = Message(
        hotel=hotel,
        channel=channel,
        conversation_key=address,
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel=channel, address=address),
        text="Hola",
        provider_message_id=f"p{number}",
        created_at=T0 + timedelta(minutes=number),
    )
    return (await store.record_inbound(message)).conversation


def _applies(conversation: ReplyMode | None, guest: ReplyMode | None, channel: str) -> ReplyMode:
    return conversation or guest or CHANNEL_MODES.get(channel, ReplyMode.SUPERVISED)


async def test_the_filter_finds_the_mode_that_applies_at_every_level(store: Store) -> None:
    await store.put_channel_config(
        ChannelConfig(hotel=PLAZA, channel="whatsapp", settings={"mode": "automatic"})
    )
    await store.put_channel_config(
        ChannelConfig(hotel=PLAZA, channel="email", settings={"mode": "manual"})
    )
    await store.put_channel_config(ChannelConfig(hotel=PLAZA, channel="webchat"))
    # A hotel whose whatsapp is manual: never mixed into the plaza's answer.
    await store.put_channel_config(
        ChannelConfig(hotel=SOL, channel="whatsapp", settings={"mode": "manual"})
    )
    await _guest_writes(store, 900, "whatsapp", hotel=SOL)

    levels = [None, *ReplyMode]
    expected: dict[ReplyMode, list[str]] = {mode: [] for mode in ReplyMode}
    number = 0
    for channel, own, guests in product(("whatsapp", "email", "sms", "webchat"), levels, levels):
        number += 1
        conversation = await _guest_writes(store, number, channel)
        if guests is not None:
            assert conversation.guest_id is not None
            await store.update_guest(PLAZA, conversation.guest_id, mode_override=guests)
        if own is not None:
            await store.update_conversation(PLAZA, conversation.id, mode_override=own)
        expected[_applies(own, guests, channel)].append(conversation.id)

    for mode in ReplyMode:
        newest_first = list(reversed(expected[mode]))
        whole = await store.list_conversations(PLAZA, mode=mode, limit=200)
        assert [c.id for c in whole.items] == newest_first, mode
        assert whole.next_cursor is None
        # Page by page, the same conversations in the same order, none twice.
        paged: list[str] = []
        cursor = None
        while True:
            page = await store.list_conversations(PLAZA, mode=mode, limit=3, cursor=cursor)
            paged += [c.id for c in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert paged == newest_first, mode
        for channel in ("whatsapp", "email", "sms", "webchat", "nowhere"):
            narrowed = await store.list_conversations(PLAZA, mode=mode, channel=channel)
            wanted = [
                c.id
                for c in whole.items
                if c.channel == channel  # the same filter, narrowed to the channel
            ]
            assert [c.id for c in narrowed.items] == wanted, (mode, channel)
    assert sum(len(ids) for ids in expected.values()) == number
    sol = await store.list_conversations(SOL, mode=ReplyMode.MANUAL)
    assert [c.channel for c in sol.items] == ["whatsapp"]


async def test_a_guests_mode_reaches_the_filter_of_all_their_conversations(store: Store) -> None:
    first = await _guest_writes(store, 1, "whatsapp")
    assert first.guest_id is not None
    # A second conversation of the same guest (another thread on the same channel).
    message = Message(
        hotel=PLAZA,
        channel="whatsapp",
        conversation_key="another-thread",
        direction=Direction.INBOUND,
        guest=first.guest,
        text="Otra",
        provider_message_id="p2",
        created_at=T0 + timedelta(minutes=2),
    )
    second = (await store.record_inbound(message)).conversation
    assert second.guest_id == first.guest_id

    async def manual() -> set[str]:
        page = await store.list_conversations(PLAZA, mode=ReplyMode.MANUAL)
        return {c.id for c in page.items}

    assert await manual() == set()
    await store.update_guest(PLAZA, first.guest_id, mode_override=ReplyMode.MANUAL)
    assert await manual() == {first.id, second.id}
    # A conversation the guest starts after the change has the guest's mode at once.
    message = message.model_copy(
        update={"conversation_key": "third", "provider_message_id": "p3", "id": "m3"}
    )
    third = (await store.record_inbound(message)).conversation
    assert await manual() == {first.id, second.id, third.id}
    # The conversation's own mode wins over the guest's.
    await store.update_conversation(PLAZA, second.id, mode_override=ReplyMode.AUTOMATIC)
    assert await manual() == {first.id, third.id}
    await store.update_guest(PLAZA, first.guest_id, mode_override=None)
    assert await manual() == set()
    supervised = await store.list_conversations(PLAZA, mode=ReplyMode.SUPERVISED)
    assert {c.id for c in supervised.items} == {first.id, third.id}


async def test_the_filter_follows_a_channels_mode_when_it_changes(store: Store) -> None:
    conversation = await _guest_writes(store, 1, "email")
    automatic = await store.list_conversations(PLAZA, mode=ReplyMode.AUTOMATIC)
    assert automatic.items == []
    await store.put_channel_config(
        ChannelConfig(hotel=PLAZA, channel="email", settings={"mode": "automatic"})
    )
    automatic = await store.list_conversations(PLAZA, mode=ReplyMode.AUTOMATIC)
    assert [c.id for c in automatic.items] == [conversation.id]
    assert (await store.list_conversations(PLAZA, mode=ReplyMode.SUPERVISED)).items == []
