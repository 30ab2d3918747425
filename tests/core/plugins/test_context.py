"""ChannelKeys and the sent ledger on a real server: private names, TTLs, the
greatest-wins write, and records that ride out an outage."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from begasist_core import (
    REDIS_UNAVAILABLE,
    ChannelKeys,
    SendReceipt,
    SentLedger,
    StreamNames,
    redis_from_url,
)
from redis.asyncio import Redis

from tests.core.redis_server import free_port, private_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def keys(begasist_redis: Redis, begasist_names: StreamNames) -> ChannelKeys:
    return ChannelKeys(begasist_redis, begasist_names, "plaza", "whatsapp")


async def test_keys_are_private_to_the_hotel_and_channel(
    begasist_redis: Redis, begasist_names: StreamNames, keys: ChannelKeys
) -> None:
    other = ChannelKeys(begasist_redis, begasist_names, "sol", "whatsapp")
    await keys.set("qr", "2@code")
    assert await keys.get("qr") == b"2@code"
    assert await other.get("qr") is None
    assert keys.full_name("qr").startswith(begasist_names.prefix)


async def test_set_if_greater_keeps_the_greatest_number(keys: ChannelKeys) -> None:
    assert await keys.set_if_greater("cursor", 10)
    assert not await keys.set_if_greater("cursor", 9.5)
    assert not await keys.set_if_greater("cursor", 10)
    assert await keys.get("cursor") == b"10.0"
    assert await keys.set_if_greater("cursor", 1e9 + 0.25)
    assert float(await keys.get("cursor") or b"") == 1e9 + 0.25


async def test_set_if_greater_replaces_what_is_not_a_number(keys: ChannelKeys) -> None:
    await keys.set("cursor", "garbage")
    assert await keys.set_if_greater("cursor", 3)
    assert await keys.get("cursor") == b"3.0"


async def test_set_if_greater_sets_the_ttl_with_the_value(
    begasist_redis: Redis, keys: ChannelKeys
) -> None:
    await keys.set_if_greater("seen", 5, ttl=timedelta(seconds=30))
    ttl_ms = await begasist_redis.pttl(keys.full_name("seen"))
    assert 0 < ttl_ms <= 30_000
    # A refused write leaves the TTL alone.
    await keys.set_if_greater("seen", 4, ttl=timedelta(hours=1))
    assert await begasist_redis.pttl(keys.full_name("seen")) <= 30_000


async def test_set_if_absent_keeps_the_first_value_and_its_ttl(
    begasist_redis: Redis, keys: ChannelKeys
) -> None:
    assert await keys.set_if_absent("part", "wamid.A", ttl=timedelta(seconds=30))
    assert not await keys.set_if_absent("part", "wamid.B", ttl=timedelta(hours=1))
    assert await keys.get("part") == b"wamid.A"
    assert 0 < await begasist_redis.pttl(keys.full_name("part")) <= 30_000


async def test_concurrent_writers_leave_the_greatest(keys: ChannelKeys) -> None:
    async with anyio.create_task_group() as writers:
        for value in [3, 17, 5, 11, 2, 13, 7]:
            writers.start_soon(keys.set_if_greater, "last", float(value))
    assert await keys.get("last") == b"17.0"


async def test_a_send_record_rides_out_a_redis_outage_and_a_cancellation(
    begasist_names: StreamNames,
) -> None:
    """A provider accepted a message while Redis was down: the ledger still learns it.

    Without this, the entry is delivered again after the outage, the ledger says
    nothing was sent, and the guest gets the message twice. The record is also
    shielded: the bot's drain (or a lost lease) cancelling the send must not cut it.
    """
    port = free_port()
    redis = redis_from_url(f"redis://127.0.0.1:{port}/0")
    ledger = SentLedger(ChannelKeys(redis, begasist_names, "plaza", "whatsapp"))
    receipt = SendReceipt(message_id="m-1", provider_message_ids=("wamid.A",))
    recorded = anyio.Event()

    async def record_then_flag() -> None:
        await ledger.record(receipt)
        recorded.set()

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(record_then_flag)  # Redis is not there yet
            await anyio.sleep(1.5)
            tasks.cancel_scope.cancel()  # the drain gives up on the send
            with anyio.CancelScope(shield=True):
                async with private_server(port):
                    with anyio.fail_after(10):
                        await recorded.wait()
                    assert await ledger.get("m-1") == receipt
    finally:
        await redis.aclose()


async def test_a_send_record_gives_up_after_its_patience(begasist_names: StreamNames) -> None:
    redis = redis_from_url(f"redis://127.0.0.1:{free_port()}/0")
    keys = ChannelKeys(redis, begasist_names, "plaza", "whatsapp")
    try:
        with pytest.raises(REDIS_UNAVAILABLE):
            await keys.set("part:m-1:0", "wamid.A", patience=timedelta(seconds=0.5))
    finally:
        await redis.aclose()
