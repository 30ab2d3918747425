"""The inbox benchmark's data: a hotel's conversations and messages, stored through the store's API.

Everything goes through :class:`~begasist_suite.store.store.Store`'s public
methods, so the documents, indexes and sort keys are exactly what the suite
writes: ``record_inbound`` for guests' messages, ``add_outbound`` for staff
replies (then ``claim_outbox`` / ``outbox_done``, as the relay does once it
has published them, so nothing is left pending), ``add_draft`` for pending
drafts, ``update_conversation`` to resolve and assign. Writes are grouped in
units of work of 500, as the event consumer groups a batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from begasist_core import ConversationStatus, Direction, GuestIdentity, Message
from begasist_suite.auth.credentials import hash_password
from begasist_suite.store.records import (
    ChannelConfig,
    ConversationRecord,
    Draft,
    Hotel,
    Membership,
    Role,
    User,
)
from begasist_suite.store.store import Store, draft_id

__all__ = ["CHANNELS", "PASSWORD", "SeededHotel", "add_members", "seed_hotel"]

PASSWORD = "bench password, not a secret"
CHANNELS = ("whatsapp", "whatsapp", "whatsapp", "email", "email", "demo")
"""A conversation's channel is picked from these: WhatsApp half, email a third."""
_UNIT = 500
_START = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass
class SeededHotel:
    """What the benchmark needs to know about a seeded hotel."""

    slug: str
    staff: User
    """The member the benchmark signs in as (an agent)."""
    members: list[User] = field(default_factory=list)
    conversation_ids: list[str] = field(default_factory=list)
    long_thread: str = ""
    short_thread: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    pending_drafts: set[str] = field(default_factory=set)
    """The conversations with a pending draft."""


async def add_members(store: Store, hotel: str, how_many: int, *, start: int = 0) -> list[User]:
    """*how_many* more agents of *hotel* (they can be assignees)."""
    users = []
    for n in range(start, start + how_many):
        user = await store.create_user(
            User(email=f"agent{n}@{hotel}.example", display_name=f"A{n}")
        )
        await store.set_membership(Membership(hotel=hotel, user_id=user.id, role=Role.AGENT))
        users.append(user)
    return users


def _thread_sizes(
    conversations: int, messages: int, long_thread: int, rng: random.Random
) -> list[int]:
    """Messages per conversation: #0 the long thread, #1 a short one of 3, the rest
    around the mean (each at least one, the first of which is the guest's)."""
    sizes = [long_thread, 3]
    rest = conversations - 2
    left = messages - sum(sizes)
    if rest < 1 or left < rest:
        raise ValueError("too few messages for that many conversations")
    sizes += [1] * rest
    for _ in range(left - rest):
        sizes[2 + rng.randrange(rest)] += 1
    return sizes


async def seed_hotel(
    store: Store,
    slug: str,
    *,
    conversations: int,
    messages: int,
    long_thread: int,
    members: int,
    seed: int,
) -> SeededHotel:
    """Create hotel *slug* with its staff, channels, and *conversations* holding *messages*.

    Message times run from 2026-09-01 forward, a few seconds apart, in a
    random order of conversations, so every hotel's threads interleave in time
    (and with another hotel seeded the same way). About 40% of the messages
    are staff replies; 30% of the conversations end resolved, 10% assigned to
    the signed-in agent and 15% to the other members. Pending drafts wait where a
    supervised hotel has them: on 40% of the latest tenth of the conversations
    (by last message) and on 1% of the rest.
    """
    rng = random.Random(seed)
    await store.create_hotel(Hotel(slug=slug, name=slug.title()))
    for channel in sorted(set(CHANNELS)):
        settings: dict[str, object] = {"mode": "supervised"}
        await store.put_channel_config(
            ChannelConfig(hotel=slug, channel=channel, settings=settings)
        )
    staff = await store.create_user(
        User(
            email=f"staff@{slug}.example",
            display_name="Bench Agent",
            password_hash=hash_password(PASSWORD),
        )
    )
    await store.set_membership(Membership(hotel=slug, user_id=staff.id, role=Role.AGENT))
    seeded = SeededHotel(slug=slug, staff=staff, members=await add_members(store, slug, members))

    sizes = _thread_sizes(conversations, messages, long_thread, rng)
    order = [c for c, size in enumerate(sizes) for _ in range(size)]
    rng.shuffle(order)
    guests = [
        GuestIdentity(
            channel=CHANNELS[c % len(CHANNELS)],
            address=f"+34600{c:06d}"
            if CHANNELS[c % len(CHANNELS)] != "email"
            else f"g{c}@mail.example",
            display_name=f"Guest {c}",
        )
        for c in range(conversations)
    ]
    records: dict[int, ConversationRecord] = {}
    last_inbound: dict[int, Message] = {}
    for start in range(0, len(order), _UNIT):
        async with store.unit_of_work():
            for n in range(start, min(start + _UNIT, len(order))):
                c = order[n]
                at = _START + timedelta(seconds=7 * n + rng.random())
                guest = guests[c]
                inbound = c not in records or rng.random() < 0.6
                message = Message(
                    hotel=slug,
                    channel=guest.channel,
                    conversation_key=guest.address,
                    direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                    guest=guest,
                    text=f"message {n} of conversation {c}: "
                    + "lorem ipsum " * rng.randrange(1, 12),
                    provider_message_id=f"p{n}" if inbound else None,
                    created_at=at,
                    updated_at=at,
                )
                if inbound:
                    recorded = await store.record_inbound(message)
                    records[c] = recorded.conversation
                    last_inbound[c] = message
                else:
                    await store.add_outbound(records[c], message)
    while entries := await store.claim_outbox(
        now=datetime.now(UTC) + timedelta(days=1), hold=timedelta(minutes=5), limit=1000
    ):
        await store.outbox_done(entries)

    seeded.conversation_ids = [records[c].id for c in range(conversations)]
    seeded.long_thread, seeded.short_thread = seeded.conversation_ids[0], seeded.conversation_ids[1]
    last_at = {c: n for n, c in enumerate(order)}  # a conversation's last message
    by_activity = sorted(range(conversations), key=last_at.__getitem__, reverse=True)
    recent = set(by_activity[: max(1, conversations // 10)])
    counts = {"resolved": 0, "mine": 0, "assigned to others": 0, "pending drafts": 0}
    async with store.unit_of_work():
        for c in range(2, conversations):
            conversation_id = seeded.conversation_ids[c]
            roll = rng.random()
            if roll < 0.30:
                await store.update_conversation(
                    slug, conversation_id, status=ConversationStatus.RESOLVED
                )
                counts["resolved"] += 1
            roll = rng.random()
            if roll < 0.10:
                await store.update_conversation(slug, conversation_id, assignee=staff.id)
                counts["mine"] += 1
            elif roll < 0.25 and seeded.members:
                assignee = rng.choice(seeded.members).id
                await store.update_conversation(slug, conversation_id, assignee=assignee)
                counts["assigned to others"] += 1
            if rng.random() < (0.40 if c in recent else 0.01):
                answered = last_inbound[c]
                await store.add_draft(
                    Draft(
                        id=draft_id(answered.id),
                        hotel=slug,
                        conversation_id=conversation_id,
                        message_id=answered.id,
                        text="A draft reply from the FAQ.",
                        responder="faq",
                        created_at=answered.created_at,
                    )
                )
                counts["pending drafts"] += 1
                seeded.pending_drafts.add(conversation_id)
    seeded.counts = {"conversations": conversations, "messages": len(order), **counts}
    return seeded
