"""Changes to a sent message (edits, deletion, reactions): forward-only, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest
from begasist_core import (
    Direction,
    GuestIdentity,
    Message,
    MessageChanged,
    MessageDeletion,
    MessageEchoed,
    MessageEdit,
    MessageReaction,
    TextVersion,
    decode_event,
    encode_event,
    make_event,
)
from begasist_core.plugins.context import inbound_event_key
from pydantic import ValidationError

SENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GUEST = GuestIdentity(channel="whatsapp", address="34600000001")


def message(direction: Direction = Direction.INBOUND) -> Message:
    return Message(
        id="01JHMMRQE00000000000000101",
        hotel="plaza",
        channel="whatsapp",
        conversation_key="34600000001",
        direction=direction,
        guest=GUEST,
        text="Room for 2 please",
        provider_message_id="wamid.A",
        created_at=SENT,
        updated_at=SENT,
    )


def minutes(n: int) -> datetime:
    return SENT + timedelta(minutes=n)


def test_an_edit_replaces_the_text_and_keeps_the_previous_one() -> None:
    edited = message().with_change(MessageEdit(text="Room for 3 please"), at=minutes(2))
    assert edited.text == "Room for 3 please"
    assert edited.changes is not None
    assert edited.changes.edited_at == minutes(2)
    assert edited.changes.previous == (TextVersion(text="Room for 2 please", at=SENT),)
    assert edited.updated_at == minutes(2)


def test_edits_in_any_order_and_repeated_end_the_same() -> None:
    edits = [
        (MessageEdit(text="Room for 3"), minutes(1)),
        (MessageEdit(text="Room for 4"), minutes(2)),
        (MessageEdit(text="Room for 5"), minutes(3)),
    ]
    results = set()
    for order in permutations(edits):
        current = message()
        for change, at in (*order, *order):  # each delivered twice
            current = current.with_change(change, at=at)
        results.add(current)
    assert len(results) == 1
    (final,) = results
    assert final.text == "Room for 5"
    assert final.changes is not None
    assert [version.text for version in final.changes.previous] == [
        "Room for 2 please",
        "Room for 3",
        "Room for 4",
    ]


def test_a_replayed_change_gives_back_the_same_message() -> None:
    edited = message().with_change(MessageEdit(text="x"), at=minutes(1))
    assert edited.with_change(MessageEdit(text="x"), at=minutes(1)) is edited
    deleted = edited.with_change(MessageDeletion(), at=minutes(2))
    assert deleted.with_change(MessageDeletion(), at=minutes(3)) is deleted
    assert deleted.changes is not None
    assert deleted.changes.deleted_at == minutes(2)
    assert deleted.text == "x", "a deleted message keeps its text for audit"


def test_the_latest_reaction_of_each_person_wins_and_can_be_taken_back() -> None:
    other = "34600000002"
    current = message(Direction.OUTBOUND)
    current = current.with_change(MessageReaction(emoji="👍"), at=minutes(1), by=GUEST.address)
    current = current.with_change(MessageReaction(emoji="❤️"), at=minutes(1), by=other)
    current = current.with_change(MessageReaction(emoji=None), at=minutes(3), by=GUEST.address)
    late = current.with_change(MessageReaction(emoji="😮"), at=minutes(2), by=GUEST.address)
    assert late is current
    assert current.changes is not None
    assert [(r.by, r.emoji) for r in current.changes.shown_reactions] == [(other, "❤️")]
    with pytest.raises(ValueError, match="who reacted"):
        current.with_change(MessageReaction(emoji="👍"), at=minutes(4))


def test_message_changed_round_trips_and_has_a_key_per_change() -> None:
    edit = MessageChanged(
        channel="whatsapp",
        provider_message_id="wamid.A",
        change=MessageEdit(text="new"),
        by=GUEST,
        change_id="wamid.E1",
        at=minutes(1),
    )
    event = make_event("plaza", edit)
    assert decode_event(encode_event(event)) == event
    reaction = MessageChanged(
        channel="whatsapp",
        provider_message_id="wamid.A",
        change=MessageReaction(emoji="👍"),
        by=GUEST,
        at=minutes(1),
    )
    assert inbound_event_key("plaza", edit) != inbound_event_key("plaza", reaction)
    with pytest.raises(ValidationError, match="who reacted"):
        MessageChanged(
            channel="whatsapp",
            provider_message_id="wamid.A",
            change=MessageReaction(emoji="👍"),
            at=minutes(1),
        )


def test_message_echoed_carries_an_outbound_message_with_its_provider_id() -> None:
    echo = MessageEchoed(message=message(Direction.OUTBOUND))
    event = make_event("plaza", echo)
    assert decode_event(encode_event(event)) == event
    assert inbound_event_key("plaza", echo) == "message.echoed:plaza:whatsapp:wamid.A"
    with pytest.raises(ValidationError, match="outbound"):
        MessageEchoed(message=message(Direction.INBOUND))
    with pytest.raises(ValidationError, match="provider_message_id"):
        MessageEchoed(
            message=message(Direction.OUTBOUND).model_copy(update={"provider_message_id": None})
        )


def test_a_message_written_before_changes_existed_reads_as_none() -> None:
    document = message().model_dump(mode="json")
    del document["changes"]
    assert Message.model_validate(document).changes is None
