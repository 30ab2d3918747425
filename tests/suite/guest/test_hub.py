"""The guest hub on a real Redis: frames reach every replica's sockets of the address, only them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from begasist_core import GuestOutbox, StreamNames
from begasist_suite.guest.hub import GuestHub, GuestPush
from redis.asyncio import Redis

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]


@pytest.fixture
async def replicas(
    begasist_redis: Redis, begasist_names: StreamNames
) -> AsyncIterator[list[GuestHub]]:
    """Two hubs, as two suite replicas would run them, each reading on its own."""
    hubs = [GuestHub(begasist_redis, begasist_names), GuestHub(begasist_redis, begasist_names)]
    async with anyio.create_task_group() as tasks:
        for hub in hubs:
            await tasks.start(hub.run)
        yield hubs
        for hub in hubs:
            hub.stop()


async def test_a_frame_reaches_the_address_on_every_replica_and_no_one_else(
    replicas: list[GuestHub], begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    outbox = GuestOutbox(begasist_redis, begasist_names, "plaza", "webchat")
    # Sent before anyone subscribed: history's business, not the hub's.
    await outbox.deliver("ana", b"before")
    first, second = replicas
    async with (
        first.subscribe("plaza", "webchat", "ana") as ana_here,
        second.subscribe("plaza", "webchat", "ana") as ana_there,
        second.subscribe("plaza", "webchat", "ben") as ben,
        first.subscribe("sol", "webchat", "ana") as ana_at_sol,
    ):
        assert first.sockets() == 2
        await outbox.deliver("ana", b"reply-1")
        await outbox.deliver("ben", b"for-ben")
        await outbox.deliver("ana", b"reply-2", message_id="msg-2")
        with anyio.fail_after(10):
            here = [await ana_here.receive(), await ana_here.receive()]
            there = [await ana_there.receive(), await ana_there.receive()]
            assert here == there == [GuestPush(b"reply-1"), GuestPush(b"reply-2", "msg-2")]
            assert (await ben.receive()).frame == b"for-ben"
        # Ben's frame came after ana's first: had any of it reached another socket, it
        # would be queued there by now. Sol's "ana" is another hotel's visitor.
        for sink in (ana_here, ana_there, ben, ana_at_sol):
            with pytest.raises(anyio.WouldBlock):
                sink.receive_nowait()
    assert first.sockets() == second.sockets() == 0
