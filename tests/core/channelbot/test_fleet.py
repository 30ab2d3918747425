"""Sharded bots: each hotel served by its first-choice shard, a killed shard's hotels taken
over by their second choice within the lease TTL and handed back, hotels re-listed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from begasist_core.channelbot.fleet import ShardedFleet
from begasist_core.channelbot.settings_source import StaticSettingsSource
from begasist_core.channelbot.shards import Shard, shard_ranking
from begasist_core.events.streams import StreamNames
from redis.asyncio import Redis

from .conftest import PROBE_CLASSES, eventually, fast_config

pytestmark = pytest.mark.anyio

HOTELS = [f"hotel-{number}" for number in range(12)]
TTL = 2.0


def fleet_source(hotels: list[str]) -> StaticSettingsSource:
    return StaticSettingsSource({hotel: {} for hotel in hotels})


async def holders(redis: Redis, names: StreamNames, hotels: list[str]) -> dict[str, str | None]:
    """Each hotel's lease holder (the instance), None when nobody holds it."""
    values = await redis.mget([names.hotel_key(hotel, "lease") for hotel in hotels])
    return {
        hotel: None if value is None else value.decode().split(":", 1)[1]
        for hotel, value in zip(hotels, values, strict=True)
    }


@pytest.fixture
def make_fleet(begasist_redis: Redis, begasist_names: StreamNames) -> Callable[..., ShardedFleet]:
    def make(shard: Shard, source: StaticSettingsSource, **config: Any) -> ShardedFleet:
        return ShardedFleet(
            shard=shard,
            lister=source,
            redis=begasist_redis,
            names=begasist_names,
            source=source,
            channel_classes=PROBE_CLASSES,
            instance=f"shard-{shard.index}",
            config=fast_config(lease_ttl_seconds=TTL, relist_seconds=0.2, **config),
        )

    return make


@asynccontextmanager
async def running(fleet: ShardedFleet) -> AsyncIterator[anyio.CancelScope]:
    """*fleet* running; cancelling the yielded scope kills it like SIGKILL (nothing released)."""
    async with anyio.create_task_group() as group:
        await group.start(fleet.run)
        yield group.cancel_scope
        if not group.cancel_scope.cancel_called:
            await fleet.drain()


def first_choice(count: int) -> dict[str, str]:
    return {hotel: f"shard-{shard_ranking(hotel, count)[0]}" for hotel in HOTELS}


async def test_each_hotel_is_served_by_its_first_choice_shard_only(
    begasist_redis: Redis, begasist_names: StreamNames, make_fleet: Callable[..., ShardedFleet]
) -> None:
    source = fleet_source(HOTELS)
    fleets = [make_fleet(Shard(index, 3), source) for index in range(3)]
    async with running(fleets[0]), running(fleets[1]), running(fleets[2]):

        async def all_served() -> bool:
            return await holders(begasist_redis, begasist_names, HOTELS) == first_choice(3)

        await eventually(all_served, within=10)
        # Past the start-up grace nobody stands in: every shard is alive.
        await anyio.sleep(TTL + 0.5)
        assert await holders(begasist_redis, begasist_names, HOTELS) == first_choice(3)
        for fleet in fleets:
            assert set(fleet.served) == {h for h in HOTELS if fleet.shard.serves(h)}, fleet.shard
    # Drained: every lease released at once, the liveness keys gone.
    assert set((await holders(begasist_redis, begasist_names, HOTELS)).values()) == {None}
    assert await begasist_redis.keys(begasist_names.key("shard", "*")) == []


async def test_a_killed_shards_hotels_are_taken_over_by_their_second_choice_and_handed_back(
    begasist_redis: Redis, begasist_names: StreamNames, make_fleet: Callable[..., ShardedFleet]
) -> None:
    source = fleet_source(HOTELS)
    victims = [h for h in HOTELS if Shard(1, 3).serves(h)]
    assert victims, "the hotel list must give shard 1 some hotels"
    expected_after = {
        hotel: f"shard-{shard_ranking(hotel, 3)[1]}" if hotel in victims else owner
        for hotel, owner in first_choice(3).items()
    }
    async with running(make_fleet(Shard(0, 3), source)), running(make_fleet(Shard(2, 3), source)):
        async with running(make_fleet(Shard(1, 3), source)) as kill:

            async def all_served() -> bool:
                return await holders(begasist_redis, begasist_names, HOTELS) == first_choice(3)

            await eventually(all_served, within=10)
            kill.cancel()  # no drain: its leases and liveness key stay until they expire

        async def taken_over() -> bool:
            return await holders(begasist_redis, begasist_names, HOTELS) == expected_after

        # Within the lease TTL (plus a pass and the takeover itself): not after a restart.
        await eventually(taken_over, within=TTL + 3)

        async with running(make_fleet(Shard(1, 3), source)):
            await eventually(all_served, within=TTL + 5)


async def test_hotels_added_or_deleted_are_picked_up_without_a_restart(
    begasist_redis: Redis, begasist_names: StreamNames, make_fleet: Callable[..., ShardedFleet]
) -> None:
    source = fleet_source(["plaza"])
    fleet = make_fleet(Shard(0, 1), source)
    async with running(fleet):

        async def served(expected: dict[str, str | None]) -> bool:
            return await holders(begasist_redis, begasist_names, ["plaza", "sol"]) == expected

        await eventually(lambda: served({"plaza": "shard-0", "sol": None}))
        source.update("sol", {})
        await eventually(lambda: served({"plaza": "shard-0", "sol": "shard-0"}))
        source.remove("plaza")
        # Stopped and its lease released at once (a drain), not left to expire.
        await eventually(lambda: served({"plaza": None, "sol": "shard-0"}), within=TTL)
        assert set(fleet.served) == {"sol"}


async def test_a_failed_listing_keeps_the_hotels_served(
    begasist_redis: Redis, begasist_names: StreamNames, make_fleet: Callable[..., ShardedFleet]
) -> None:
    class FlakySource(StaticSettingsSource):
        failing = False

        async def list_hotels(self) -> list[str]:
            if self.failing:
                raise RuntimeError("suite away")
            return await super().list_hotels()

    source = FlakySource({"plaza": {}})
    fleet = make_fleet(Shard(0, 1), source)
    async with running(fleet):
        await eventually(lambda: _held_by(begasist_redis, begasist_names, "plaza", "shard-0"))
        source.failing = True
        await anyio.sleep(1.0)  # several failed re-listings
        assert await _held_by(begasist_redis, begasist_names, "plaza", "shard-0")
        assert set(fleet.served) == {"plaza"}


async def _held_by(redis: Redis, names: StreamNames, hotel: str, instance: str) -> bool:
    return (await holders(redis, names, [hotel]))[hotel] == instance
