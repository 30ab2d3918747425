"""The per-hotel lease: one holder, fencing, standby takeover, safe release."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import anyio
import pytest
from anyio.abc import ByteStream, SocketAttribute, SocketStream
from begasist_core.channelbot.lease import HotelLease, LeaseLost
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

pytestmark = pytest.mark.anyio


def lease(redis: Redis, names: StreamNames, instance: str, ttl: float = 1.0) -> HotelLease:
    return HotelLease(redis, names, "plaza", instance, ttl=timedelta(seconds=ttl))


async def test_only_one_instance_holds_the_lease(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    first, second = (
        lease(begasist_redis, begasist_names, "a"),
        lease(begasist_redis, begasist_names, "b"),
    )
    assert await first.try_acquire()
    assert not await second.try_acquire()
    first.ensure_held()
    await first.release()
    assert await second.try_acquire()
    assert second.fence is not None
    assert second.fence > 1  # every tenure gets a larger fencing token


async def test_a_standby_takes_over_within_the_ttl_when_the_holder_stops_renewing(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    holder = lease(begasist_redis, begasist_names, "a", ttl=0.6)
    standby = lease(begasist_redis, begasist_names, "b", ttl=0.6)
    assert await holder.try_acquire()
    with anyio.fail_after(0.6 + 2 * standby.renew_interval + 0.5):
        await standby.acquire()
    with pytest.raises(LeaseLost):
        holder.ensure_held()
    with pytest.raises(LeaseLost):
        await holder.renew()


async def test_a_late_release_does_not_drop_the_successors_lease(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    old = lease(begasist_redis, begasist_names, "a", ttl=0.3)
    new = lease(begasist_redis, begasist_names, "b", ttl=5)
    assert await old.try_acquire()
    await anyio.sleep(0.4)
    assert await new.try_acquire()
    await old.release()
    assert await begasist_redis.get(new.key) == new.token.encode()


async def test_keep_renews_until_cancelled(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    holder = lease(begasist_redis, begasist_names, "a", ttl=0.3)
    assert await holder.try_acquire()
    with anyio.move_on_after(1.0):
        await holder.keep()
    holder.ensure_held()
    assert await begasist_redis.get(holder.key) == holder.token.encode()


async def test_a_renewal_that_hangs_cannot_outlive_the_lease(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    """A partition (packets dropped, no error) must end the tenure within the TTL."""
    target = urlsplit(begasist_redis_url)
    frozen = anyio.Event()

    async def forward(source: ByteStream, sink: ByteStream) -> None:
        async for chunk in source:
            if frozen.is_set():
                await anyio.sleep_forever()  # swallow traffic like a dead link
            await sink.send(chunk)

    async def relay(client: SocketStream) -> None:
        async with (
            client,
            await anyio.connect_tcp(target.hostname or "", target.port or 6379) as server,
            anyio.create_task_group() as pipes,
        ):
            pipes.start_soon(forward, client, server)
            pipes.start_soon(forward, server, client)

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    # No socket timeout: only the lease's own deadline can end a hung renewal.
    via_proxy = Redis(host="127.0.0.1", port=port)
    holder = lease(via_proxy, begasist_names, "a", ttl=1.0)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, relay)
            assert await holder.try_acquire()
            frozen.set()
            with anyio.fail_after(3), pytest.raises(LeaseLost):
                await holder.keep()
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await listener.aclose()
            await via_proxy.aclose(close_connection_pool=True)


async def test_a_holder_that_stalled_past_its_lease_learns_it_lost_it(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    # A start-up storm (hundreds of hotels taking leases at once) can stall the
    # loop past the TTL before keep() first runs: it must stop, not crash.
    holder = lease(begasist_redis, begasist_names, "a", ttl=0.05)
    assert await holder.try_acquire()
    await anyio.to_thread.run_sync(time.sleep, 0.1)  # the stall: the lease runs out meanwhile
    with pytest.raises(LeaseLost):
        await holder.keep()
