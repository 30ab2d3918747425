"""Helpers for the inbox tests: guest messages, publishing events, waiting for the consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
from begasist_core import (
    Direction,
    Event,
    FaqEntry,
    GuestIdentity,
    Message,
    MessageReceived,
    Publisher,
    make_event,
)
from begasist_core.bus.publisher import ENTRY_FIELD
from begasist_core.events.codec import decode_event
from begasist_suite.store.records import ChannelConfig, Role
from pydantic import BaseModel

from tests.suite.conftest import RunningSuite, add_member, outbox_drained

T = TypeVar("T")

HOTEL = "plaza"
CHANNEL = "demo"
GUEST_ADDRESS = "+34600000001"
MANAGER = "manager@plaza.test"
DEADLINE_SECONDS = 10.0

BREAKFAST = FaqEntry(
    intent="breakfast",
    keywords={"en": ("breakfast",), "es": ("desayuno",)},
    answers={"en": "Breakfast is 7:00-10:30.", "es": "El desayuno es de 7:00 a 10:30."},
)
FALLBACK = {"en": "A person will answer shortly.", "es": "Una persona te responderá en breve."}


def guest_message(
    text: str,
    *,
    provider_message_id: str,
    address: str = GUEST_ADDRESS,
    hotel: str = HOTEL,
    **fields: Any,
) -> Message:
    """An inbound message of the demo channel, its conversation keyed by the guest's address."""
    return Message(
        hotel=hotel,
        channel=CHANNEL,
        conversation_key=address,
        direction=Direction.INBOUND,
        guest=GuestIdentity(channel=CHANNEL, address=address),
        text=text,
        provider_message_id=provider_message_id,
        **fields,
    )


async def publish(suite: RunningSuite, payload: BaseModel, *, hotel: str = HOTEL) -> Event:
    event = make_event(hotel, payload)
    await publish_event(suite, event)
    return event


async def publish_event(suite: RunningSuite, event: Event) -> None:
    await Publisher(suite.redis).publish(suite.names.events, event)


async def publish_received(suite: RunningSuite, message: Message) -> Event:
    return await publish(suite, MessageReceived(message=message), hotel=message.hotel)


async def publish_raw(suite: RunningSuite, raw: bytes) -> None:
    """An entry that is not an event, under the field every event is stored in."""
    await suite.redis.xadd(suite.names.events, {ENTRY_FIELD: raw})


async def eventually(check: Callable[[], Awaitable[T | None]]) -> T:
    """Poll *check* until it returns something truthy; fail after the deadline."""
    with anyio.fail_after(DEADLINE_SECONDS):
        while True:
            found = await check()
            if found:
                return found
            await anyio.sleep(0.02)


async def consumed(suite: RunningSuite) -> None:
    """Wait until the suite's consumer has read and acked every entry published so far."""

    async def caught_up() -> bool:
        stream = await suite.redis.xinfo_stream(suite.names.events)
        groups = await suite.redis.xinfo_groups(suite.names.events)
        return any(
            group["last-delivered-id"] == stream["last-generated-id"] and group["pending"] == 0
            for group in groups
        )

    await eventually(caught_up)


async def dead_letters(
    suite: RunningSuite, hotel: str = HOTEL
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The dead letters of no hotel and of *hotel*."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await suite.redis.xrange(suite.names.dead)
    entries += await suite.redis.xrange(suite.names.hotel_dead(hotel))
    return entries


async def outbound_entries(suite: RunningSuite, hotel: str = HOTEL) -> list[dict[str, Any]]:
    """The decoded ``message.send`` events on the hotel's outbound stream, oldest first,
    once the outbox is published."""
    await outbox_drained(suite)
    entries = await suite.redis.xrange(suite.names.outbound(hotel))
    return [decode_event(fields[ENTRY_FIELD]).model_dump(mode="json") for _, fields in entries]


async def set_channel_mode(suite: RunningSuite, mode: str, hotel: str = HOTEL) -> None:
    await suite.store.put_channel_config(
        ChannelConfig(hotel=hotel, channel=CHANNEL, settings={"mode": mode, "enabled": True})
    )


@pytest.fixture
async def plaza(suite: RunningSuite) -> RunningSuite:
    """The suite with the plaza hotel, its FAQ and fallback, and a manager."""
    await add_member(suite.store, HOTEL, MANAGER, Role.MANAGER)
    await suite.store.update_hotel(
        HOTEL, faq=[BREAKFAST.model_dump(mode="json")], fallback=FALLBACK
    )
    return suite
