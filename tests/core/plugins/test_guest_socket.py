"""The guest-socket extension in core: the guests stream, ``context.guests`` and the defaults."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from begasist_core import (
    GUEST_CLOSE_NOT_FOUND,
    Capabilities,
    Channel,
    ChannelContext,
    ChannelSettings,
    DeliveryStatus,
    Direction,
    GuestAdmission,
    GuestFrameRejected,
    GuestHello,
    GuestHistoryItem,
    GuestOutbox,
    GuestRefused,
    InvalidName,
    Message,
    Publisher,
    SendReceipt,
    StreamNames,
)
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio


class Plain(Channel[ChannelSettings]):
    name = "plain"

    async def send(self, message: Message) -> SendReceipt:
        raise NotImplementedError


def test_the_guests_stream_is_per_hotel_and_channel_and_validates_both() -> None:
    names = StreamNames("p")
    assert names.guests("plaza", "webchat") == "p:hotel:plaza:guests:webchat"
    with pytest.raises(InvalidName):
        names.guests("plaza", "web:chat")
    with pytest.raises(InvalidName):
        names.guests("Plaza", "webchat")


async def test_deliver_appends_the_frame_for_the_address_to_the_capped_stream(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    outbox = GuestOutbox(begasist_redis, begasist_names, "plaza", "webchat", maxlen=5)
    other = GuestOutbox(begasist_redis, begasist_names, "sol", "webchat")
    ids = [await outbox.deliver("visitor-1", f'{{"n": {n}}}'.encode()) for n in range(200)]
    entries = await begasist_redis.xrange(begasist_names.guests("plaza", "webchat"))
    assert entries[-1][0] == ids[-1]
    assert entries[-1][1] == {b"address": b"visitor-1", b"frame": b'{"n": 199}'}
    assert len(entries) < 200  # trimmed (approximately) to its cap
    assert await begasist_redis.xlen(other.stream) == 0


async def test_a_channel_context_delivers_to_its_own_hotel_and_channel(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    context: ChannelContext[ChannelSettings] = ChannelContext(
        hotel="plaza",
        channel="webchat",
        settings=ChannelSettings(),
        redis=begasist_redis,
        publisher=Publisher(begasist_redis),
        names=begasist_names,
    )
    await context.guests.deliver("visitor-1", b"{}")
    assert context.guests.stream == begasist_names.guests("plaza", "webchat")
    assert await begasist_redis.xlen(context.guests.stream) == 1


def test_a_channel_without_guest_sockets_refuses_guests_by_default() -> None:
    assert Capabilities().guest_socket is False
    hello = GuestHello(origin="https://hotel.example", visitor_id="visitor-1")
    with pytest.raises(GuestRefused) as refused:
        Plain.admit_guest(hello, ChannelSettings())
    assert refused.value.code == GUEST_CLOSE_NOT_FOUND
    with pytest.raises(GuestRefused):
        Plain.guest_frame(GuestAdmission(address="visitor-1"), b"{}", ChannelSettings())


def test_a_rejected_frame_is_a_refusal_with_its_code_and_reason() -> None:
    rejected = GuestFrameRejected(1009, "frame too large")
    assert isinstance(rejected, GuestRefused)
    assert (rejected.code, rejected.reason) == (1009, "frame too large")


def test_the_default_history_frame_holds_the_guest_visible_fields() -> None:
    at = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    item = GuestHistoryItem(
        id="m1",
        direction=Direction.OUTBOUND,
        text="Hola",
        created_at=at,
        status=DeliveryStatus.READ,
    )
    frame = json.loads(Plain.guest_history(GuestAdmission(address="v"), [item], ChannelSettings()))
    assert frame == {
        "type": "history",
        "messages": [
            {
                "id": "m1",
                "direction": "outbound",
                "text": "Hola",
                "created_at": "2026-12-07T18:00:00Z",
                "status": "read",
                "provider_message_id": None,
                "attachments": [],
            }
        ],
    }
