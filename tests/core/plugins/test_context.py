"""ChannelKeys on a real server: private names, TTLs, and the greatest-wins write."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest
from begasist_core import ChannelKeys, StreamNames
from redis.asyncio import Redis

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


async def test_concurrent_writers_leave_the_greatest(keys: ChannelKeys) -> None:
    async with anyio.create_task_group() as writers:
        for value in [3, 17, 5, 11, 2, 13, 7]:
            writers.start_soon(keys.set_if_greater, "last", float(value))
    assert await keys.get("last") == b"17.0"
