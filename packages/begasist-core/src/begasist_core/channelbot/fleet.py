"""A sharded bot: serves the hotels whose first choice is its shard, stands by for the rest.

Every pass (about once a second) the shard beats its liveness key
``{prefix}:shard:{N}:{K}`` (a TTL of one lease) and reads its peers' keys;
every ``BEGASIST_RELIST_SECONDS`` it lists the hotels again. A hotel is
served here when this shard is its first choice (:mod:`.shards`), or when
every shard the hotel prefers to this one is dead (no liveness key): the
second choice takes over a dead shard's hotels, the third a hotel whose
first two are both dead, and so on. When a preferred shard is alive again
the hotel is handed back (drained: its lease is released at once).

Liveness only decides who *tries*: each hotel still has its own lease
(:class:`~begasist_core.channelbot.lease.HotelLease`), so a wrong guess (a
paused shard thought dead, two shard counts during a rollout) costs a
standby that waits on a held lease, never two bots serving one hotel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from anyio.abc import TaskGroup, TaskStatus
from redis.asyncio import Redis

from begasist_core.bus.connection import REDIS_UNAVAILABLE, RedisOutage, redis_label
from begasist_core.channelbot.config import BotConfig
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.settings_source import HotelLister, SettingsSource
from begasist_core.channelbot.shards import Shard, shard_ranking
from begasist_core.events.streams import StreamNames
from begasist_core.models.names import InvalidName, validate_hotel_slug
from begasist_core.plugins.channel import Channel

__all__ = ["ShardedFleet"]

log = logging.getLogger("begasist.channelbot")

START_CONCURRENCY: Final = 32
"""Hotels starting at once. Starting all of a shard's hotels together (a lease, a
settings fetch, three consumer groups and their connections each) stalls the
event loop and the Redis pool for longer than a lease: hotels would lose their
lease before they were ever ready."""
START_SLOT_SECONDS: Final = 2.0
"""How long a starting hotel holds its slot before the next may start anyway: a
hotel waiting as standby (its lease held elsewhere) never becomes ready."""

MAX_PASS_SECONDS: Final = 1.0
"""Longest time between two liveness passes: a dead shard is noticed about this long
after its key expires, which is when its hotels' leases expire too."""

# Delete the shard's key only if this instance wrote it (not a successor pod's).
_CLEAR_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass
class _Served:
    bot: HotelBot
    preferred: tuple[int, ...]
    """The shards the hotel prefers to this one: empty when this is its first choice."""
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    finished: anyio.Event = field(default_factory=anyio.Event)


BotFactory = Callable[[str], HotelBot]


class ShardedFleet:
    """The hotels of one shard of N, re-listed periodically, each with its own lease."""

    def __init__(
        self,
        *,
        shard: Shard,
        lister: HotelLister,
        redis: Redis,
        names: StreamNames,
        source: SettingsSource,
        channel_classes: Mapping[str, type[Channel[Any]]],
        instance: str,
        config: BotConfig,
        hotels: Sequence[str] | None = None,
    ) -> None:
        self.shard = shard
        self.instance = instance
        self.served: dict[str, _Served] = {}
        self._lister = lister
        self._redis = redis
        self._names = names
        self._config = config
        self._hotels: dict[str, tuple[int, ...]] = {}
        if hotels is not None:
            self._take_listing(hotels)
        self._listed = hotels is not None
        self._make_bot: BotFactory = lambda hotel: HotelBot(
            hotel=hotel,
            redis=redis,
            names=names,
            source=source,
            channel_classes=channel_classes,
            instance=instance,
            config=config,
        )
        self._key = names.key("shard", str(shard.count), str(shard.index))
        self._peer_keys = {
            index: names.key("shard", str(shard.count), str(index))
            for index in range(shard.count)
            if index != shard.index
        }
        self._ttl_ms = int(config.lease_ttl_seconds * 1000)
        self._pass_seconds = min(MAX_PASS_SECONDS, config.lease_ttl_seconds / 3)
        self._clear_if_ours = redis.register_script(_CLEAR_IF_OURS)
        self._starting = anyio.CapacityLimiter(START_CONCURRENCY)
        self._group: TaskGroup | None = None
        self._loop_scope: anyio.CancelScope | None = None
        # Made here, not in its task: drain() may cancel it before the task runs.
        self._relist_scope = anyio.CancelScope()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled or drained; ``started`` after the first pass."""
        async with anyio.create_task_group() as group:
            self._group = group
            with anyio.CancelScope() as self._loop_scope:
                await self._loop(task_status)
            # Drained: the hotels are stopping (drain() stops them); the group waits.

    async def drain(self) -> None:
        """Stop re-listing, drain every hotel (leases released), clear the liveness key."""
        self._relist_scope.cancel()
        if self._loop_scope is not None:
            self._loop_scope.cancel()
        async with anyio.create_task_group() as group:
            while self.served:
                group.start_soon(self._stop, self.served.popitem()[1])
        try:
            await self._clear_if_ours(keys=[self._key], args=[self.instance])
        except REDIS_UNAVAILABLE as error:
            log.warning("shard %s: could not clear its liveness key: %s", self.shard, error)

    async def _loop(self, task_status: TaskStatus[None]) -> None:
        assert self._group is not None
        # Listing runs beside the beat: a slow suite (a big fleet's pages) must
        # not delay the liveness key, or peers would stand in for a live shard.
        if not self._listed:
            await self._relist()
        self._group.start_soon(self._relist_forever)
        outage = RedisOutage(redis_label(self._redis), logger=log)
        # Peers that start with this one have not beaten yet: their hotels are
        # theirs to take first, so standing in waits one lease TTL.
        grace_until = anyio.current_time() + self._config.lease_ttl_seconds
        announced = False
        while True:
            try:
                alive = await self._beat()
            except REDIS_UNAVAILABLE as error:
                # Who serves what does not change while Redis is away: the
                # hotels' own loops ride the outage out.
                await outage.failed(error)
                continue
            except Exception as error:  # a refusal (OOM, READONLY...): the hotels go on
                log.warning("shard %s: liveness beat failed: %s", self.shard, error)
                await anyio.sleep(self._pass_seconds)
                continue
            outage.succeeded()
            self._reconcile(alive, standing_in=anyio.current_time() >= grace_until)
            if not announced:
                announced = True
                log.info(
                    "shard %s: %d hotels listed, %d first-choice here",
                    self.shard,
                    len(self._hotels),
                    sum(1 for preferred in self._hotels.values() if not preferred),
                )
                task_status.started()
            await anyio.sleep(self._pass_seconds)

    async def _relist_forever(self) -> None:
        with self._relist_scope:
            while True:
                await anyio.sleep(self._config.relist_seconds)
                await self._relist()

    async def _relist(self) -> None:
        try:
            listing = await self._lister.list_hotels()
        except Exception as error:  # the suite away, a bad file: keep serving the last list
            log.warning(
                "shard %s: could not list the hotels (%s); keeping the last list", self.shard, error
            )
            return
        self._take_listing(listing)
        self._listed = True

    def _take_listing(self, listing: Sequence[str]) -> None:
        hotels: dict[str, tuple[int, ...]] = {}
        for hotel in listing:
            try:
                validate_hotel_slug(hotel)
            except InvalidName as invalid:
                log.warning("shard %s: skipping a hotel: %s", self.shard, invalid)
                continue
            # Rankings are cached: hashing every hotel every pass would cost a
            # big fleet a core.
            known = self._hotels.get(hotel)
            if known is None:
                ranking = shard_ranking(hotel, self.shard.count)
                known = tuple(ranking[: ranking.index(self.shard.index)])
            hotels[hotel] = known
        self._hotels = hotels

    async def _beat(self) -> set[int]:
        """Write this shard's liveness key; the peers whose keys are there."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key, self.instance, px=self._ttl_ms)
            if self._peer_keys:
                pipe.mget(list(self._peer_keys.values()))
            replies = await pipe.execute()
        found = replies[1] if self._peer_keys else []
        return {index for index, value in zip(self._peer_keys, found, strict=True) if value}

    def _reconcile(self, alive: set[int], *, standing_in: bool) -> None:
        if not self._listed:
            return
        wanted = {
            hotel: preferred
            for hotel, preferred in self._hotels.items()
            if not preferred or (standing_in and alive.isdisjoint(preferred))
        }
        for hotel in [hotel for hotel in self.served if hotel not in wanted]:
            reason = "no longer listed" if hotel not in self._hotels else "its shard is back"
            log.info("shard %s: hotel %s: stopping (%s)", self.shard, hotel, reason)
            assert self._group is not None
            self._group.start_soon(self._stop, self.served.pop(hotel))
        for hotel, preferred in wanted.items():
            if hotel in self.served:
                continue
            if preferred:
                log.info(
                    "shard %s: hotel %s: standing in for shard(s) %s",
                    self.shard,
                    hotel,
                    ", ".join(map(str, preferred)),
                )
            self._start(hotel, preferred)

    def _start(self, hotel: str, preferred: tuple[int, ...]) -> None:
        assert self._group is not None
        served = _Served(self._make_bot(hotel), preferred)
        self.served[hotel] = served
        self._group.start_soon(self._serve, served)

    async def _serve(self, served: _Served) -> None:
        try:
            with served.scope:
                async with anyio.create_task_group() as group, self._starting:
                    group.start_soon(served.bot.run)
                    with anyio.move_on_after(START_SLOT_SECONDS):
                        await served.bot.ready.wait()
        finally:
            served.finished.set()

    @staticmethod
    async def _stop(served: _Served) -> None:
        """Drain the hotel (its lease is released, so the next bot takes it at once)."""
        await served.bot.drain()
        served.scope.cancel()
        await served.finished.wait()
